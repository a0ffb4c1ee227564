"""Simulator: shapes, yields, physics landmarks, reproducibility."""

import awkward as ak
import numpy as np
import pytest

from systlab.events import CANONICAL_COLUMNS
from systlab.samples.features import compute_features
from systlab.samples.simulate import LEP_PT_CUT, PROCESSES, TAU_PT_CUT, MassSlices, simulate_process


@pytest.fixture(scope="module")
def samples():
    return {p: simulate_process(p, 40_000, seed=7) for p in PROCESSES}


def _nominal(events):
    return events[ak.to_numpy((events.tau_pt > TAU_PT_CUT) & (events.lep_pt > LEP_PT_CUT))]


def _features(events):
    e = {k: ak.to_numpy(events[k]).astype(float) for k in ("tau_pt", "tau_eta", "tau_phi", "lep_pt", "lep_eta",
                                                            "lep_phi", "met_pt", "met_phi")}
    return compute_features(e["tau_pt"], e["tau_eta"], e["tau_phi"], e["lep_pt"], e["lep_eta"], e["lep_phi"],
                            e["met_pt"] * np.cos(e["met_phi"]), e["met_pt"] * np.sin(e["met_phi"]),
                            events.jet_pt[events.jet_pt > 26], events.jet_eta[events.jet_pt > 26],
                            events.jet_phi[events.jet_pt > 26])


def test_canonical_layout_and_dtypes(samples):
    events = samples["htautau"]
    assert set(events.fields) == set(CANONICAL_COLUMNS)
    assert ak.to_numpy(events.tau_pt).dtype == np.float32
    assert ak.to_numpy(events.event_id).dtype == np.uint64
    assert ak.all(ak.num(events.jet_pt) == ak.num(events.jet_eta))
    assert ak.all(events.jet_pt[:, :-1] >= events.jet_pt[:, 1:])  # pT-ordered jets


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_weights_normalised_to_expected_yield(samples, process):
    total = ak.sum(_nominal(samples[process]).weight)
    assert total == pytest.approx(PROCESSES[process].expected_yield, rel=1e-9)


def test_signal_boost_and_luminosity_scale_the_yield():
    events = simulate_process("htautau", 5000, seed=1, luminosity_fb=20.0, signal_boost=3.0)
    assert ak.sum(_nominal(events).weight) == pytest.approx(1015.0 * 2 * 3)


def test_z_visible_mass_peak_below_higgs(samples):
    m_z = np.median(_features(_nominal(samples["ztautau"]))["DER_mass_vis"])
    m_h = np.median(_features(_nominal(samples["htautau"]))["DER_mass_vis"])
    assert 55 < m_z < 75 < m_h < 90  # FAIR-Universe medians: Z ~68, H ~81 GeV


def test_met_ordering_and_jet_multiplicity(samples):
    met = {p: np.median(_nominal(samples[p]).met_pt) for p in ("htautau", "ztautau", "ttbar")}
    assert met["ztautau"] < met["htautau"] < met["ttbar"]
    n_jets = ak.to_numpy(ak.sum(_nominal(samples["ttbar"]).jet_pt > 26, axis=1))
    assert np.mean(n_jets >= 3) == pytest.approx(0.73, abs=0.03)


def test_same_seed_same_events_other_seed_other_events():
    a, b = simulate_process("ttbar", 3000, seed=3), simulate_process("ttbar", 3000, seed=3)
    c = simulate_process("ttbar", 3000, seed=4)
    assert ak.array_equal(a, b)
    assert not np.array_equal(ak.to_numpy(a.tau_pt[:100]), ak.to_numpy(c.tau_pt[:100]))


def test_unknown_process_is_refused():
    with pytest.raises(ValueError, match="unknown process 'wjets'"):
        simulate_process("wjets", 100, seed=1)


TAIL_SLICES = MassSlices((60.0, 85.0, 97.0, 130.0), (0.2, 0.3, 0.5))  # half the events in the 4.6 % above 97 GeV


def _mass_vis_histogram(events, edges):
    nominal = _nominal(events)
    mass, weight = _features(nominal)["DER_mass_vis"], ak.to_numpy(nominal.weight)
    return np.histogram(mass, edges, weights=weight)[0], np.histogram(mass, edges, weights=weight**2)[0]


def test_mass_slices_keep_the_weighted_sample_and_add_events_where_the_z_looks_like_the_higgs():
    """Z→ττ generated in slices of m(ττ) with half the events above 97 GeV: the same yield and, bin by bin, the same
    visible-mass distribution as unsliced generation within their MC errors; above m_vis 100 GeV at least 3× the
    effective events (Σw)²/Σw² from the same number generated (measured 6.8×), fewer in the peak (0.36×).
    Between 60 and 90 GeV, where the signal lies, the Z events come from the peak: slicing m(ττ) does not help there
    (0.36–0.42× here; 0.8–0.9× with 30 % above 97 GeV)."""
    edges = np.array([0.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 130.0])
    plain = simulate_process("ztautau", 200_000, seed=3)
    sliced = simulate_process("ztautau", 200_000, seed=4, mass_slices=TAIL_SLICES)
    assert ak.sum(_nominal(sliced).weight) == pytest.approx(PROCESSES["ztautau"].expected_yield, rel=1e-9)
    (a, va), (b, vb) = _mass_vis_histogram(plain, edges), _mass_vis_histogram(sliced, edges)
    pulls = (a - b) / np.sqrt(va + vb)
    assert np.abs(pulls).max() < 4.0 and np.mean(pulls**2) < 3.0, pulls
    n_eff = lambda w, w2: w**2 / w2  # noqa: E731
    high, peak = slice(7, None), slice(2, 4)
    assert n_eff(b[high].sum(), vb[high].sum()) > 3 * n_eff(a[high].sum(), va[high].sum())
    assert n_eff(b[peak].sum(), vb[peak].sum()) < n_eff(a[peak].sum(), va[peak].sum())


def test_mass_slices_unset_generate_the_same_events_and_other_processes_refuse_them():
    a = simulate_process("ztautau", 5_000, seed=9)
    b = simulate_process("ztautau", 5_000, seed=9, mass_slices=None)
    assert ak.to_list(a[:50]) == ak.to_list(b[:50]) and np.array_equal(ak.to_numpy(a.weight), ak.to_numpy(b.weight))
    with pytest.raises(ValueError, match="ttbar"):
        simulate_process("ttbar", 5_000, seed=9, mass_slices=TAIL_SLICES)
