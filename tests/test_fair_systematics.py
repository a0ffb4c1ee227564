"""systlab's TES/JES/soft-MET variations against the organisers' ``HiggsML.systematics`` (issue #22 part 2).

The same simulated events (every challenge process) go through systlab's variations and through the package at
points within ±3σ; every primary and derived feature must agree within the package's own rounding on >= 99.9 % of
the events, and each remaining difference must have a known cause (systlab.studies.fair_crosscheck). The numbers
on 105,026 events (``benchmarks/fair_systematics.py``) are in README's FAIR-Universe section. Skipped, naming the
extra, only where HiggsML is not installed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip(
    "HiggsML.systematics",
    reason="the organisers' HiggsML package (extra 'fair': pip install -e '.[dev,fair]') is missing",
)

from systlab.studies import fair_crosscheck as fc  # noqa: E402

#: systlab's ±3σ: TES σ 3 %, JES σ 1 % (config/config.yaml); the challenge's own are narrower.
POINTS = [(0.91, 1.0), (0.97, 1.0), (1.03, 1.0), (1.09, 1.0), (1.0, 0.97), (1.0, 1.03), (0.97, 1.03)]


@pytest.fixture(scope="module")
def events():
    """~2,600 events passing the simulator's loose thresholds, 2,000 generated per challenge process."""
    return fc.simulated_events(2000, seed=11)


def test_the_package_s_derived_quantities_are_its_der_data_in_float64(events):
    """``fair_crosscheck.derived`` runs the package's own steps without DER_data's final float32 cast: cast, it is
    DER_data to the bit (so the rounding bound is the package's formulas)."""
    from HiggsML.derived_quantities import DER_data

    frame = fc.challenge_frame(fc.layout_events(events), dtype=np.float64)
    primaries = frame[list(fc.ROUNDED) + [fc.N_JETS]]
    ours = fc.derived(primaries)
    assert (ours.dtypes == np.float64).all()
    theirs = DER_data(primaries.copy())[list(fc.DERIVED)]
    pd.testing.assert_frame_equal(ours.astype(np.float32), theirs)


def test_the_challenge_frame_holds_the_leading_two_jets(events):
    frame = fc.challenge_frame(events)
    n_jets = np.asarray([len(j) for j in events.jet_pt.to_list()])
    assert (frame[fc.N_JETS].to_numpy() == n_jets).all()
    no_second = n_jets < 2
    assert (frame.loc[no_second, "PRI_jet_subleading_pt"] == fc.UNDEFINED).all()
    assert frame["PRI_had_pt"].dtype == np.float32
    layout = fc.challenge_frame(fc.layout_events(events))
    assert layout[fc.N_JETS].max() == 2
    pts = [layout[f"PRI_jet_{rank}_pt"].astype(float) for rank in ("leading", "subleading")]
    total = sum(pt.where(pt != fc.UNDEFINED, 0.0) for pt in pts)
    np.testing.assert_allclose(layout["PRI_jet_all_pt"], total, rtol=1e-6)


@pytest.mark.parametrize(("tes", "jes"), POINTS)
def test_tes_and_jes_agree_with_the_package_to_its_rounding(events, tes, jes):
    """Challenge layout: every feature equal within the package's rounding on >= 99.9 % of the events both keep, no
    difference without a known cause, and the kept events the same but for objects on a cut within the rounding."""
    agreement = fc.compare(events, tes, jes)
    table, kept = agreement.table, agreement.kept
    assert set(table.index) == set(fc.COLUMNS)
    assert agreement.worst() >= 0.999, table[table["agree"] < 0.999]
    assert table["unexplained"].max() == 0, table[table["unexplained"] > 0]
    assert kept["one_side_unexplained"] == 0
    assert kept["both"] >= 0.999 * max(kept["systlab"], kept["package"])
    assert kept["both"] > 0.5 * kept["events"]


@pytest.mark.parametrize(("mine", "theirs", "feature"), [
    ((0.97, 1.0), (0.971, 1.0), "PRI_had_pt"),
    ((1.0, 1.03), (1.0, 1.031), "PRI_jet_leading_pt"),
])  # fmt: skip
def test_the_comparison_sees_a_tenth_of_a_percent(events, mine, theirs, feature):
    """The tolerance is tight: systlab at TES (JES) 1e-3 from the package's value disagrees on most events that
    have the object (1/30 of TES's σ)."""
    agreement = fc.compare(events, *mine, package_point=theirs)
    assert agreement.table.loc[feature, "agree"] < 0.5
    assert agreement.table.loc[feature, "unexplained"] > 0


def test_with_every_jet_systlab_differs_only_where_the_layout_cannot_say(events):
    """Given every jet, systlab moves MET with every jet's JES change and cuts every jet; the package sees two jets.
    Differences then sit on events with more than two jets only; with TES alone MET agrees everywhere."""
    jes = fc.compare(events, 1.0, 1.03, jets="all")
    assert jes.table["unexplained"].max() == 0
    assert jes.table.loc["PRI_met", "differ"] > 0.05 * jes.kept["both"]
    more = fc.known_causes(fc.challenge_frame(events).set_index("event_id"), 1.0, 1.03)["beyond_two_jets"]
    assert more.loc[jes.disagreeing["PRI_met"]].all()
    tes = fc.compare(events, 1.03, 1.0, jets="all")
    assert tes.table.loc["PRI_met", "agree"] == 1.0
    assert tes.table.loc["PRI_had_pt", "agree"] == 1.0
    assert tes.table["unexplained"].max() == 0


def test_soft_met_has_the_same_distribution_on_both_sides(events):
    """Soft MET is random on both sides (independent draws): each side's MET shift is N(0, width) per component,
    and the MET features' distributions agree (two-sample KS)."""
    soft = fc.compare_soft_met(events, 3.0)
    assert (soft.shifts["p"] > 1e-3).all(), soft.shifts
    np.testing.assert_allclose(soft.shifts["std"], 3.0, rtol=0.06)
    assert (soft.features["p"] > 1e-3).all(), soft.features
    text = fc.report([fc.compare(events, 1.0, 1.0)], [soft])
    assert "| PRI_had_pt | 1.000000 |" in text and "### soft MET 3 GeV" in text


def test_an_unknown_jet_mode_is_refused(events):
    with pytest.raises(ValueError, match="jets must be one of"):
        fc.compare(events, 1.0, 1.0, jets="three")
