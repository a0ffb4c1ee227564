"""Built-in event simulator for the H->tautau (lepton + hadronic tau) problem.

A fast, vectorised, seeded numpy generator shaped after the public HiggsML / FAIR-Universe data:
it produces primary objects per event (hadronic tau, lepton, MET vector, a variable number of
jets) as an awkward array in the canonical layout of ``systlab.events``, which ``rawio`` writes
as ROOT (and HDF5) so that the simulator output enters the DAG through the same ingestion as a
user's own ntuples. Systematics are NOT applied here: ``vary`` applies them to these objects.
"""

from __future__ import annotations

import zlib

import awkward as ak
import numpy as np

from systlab.config.catalogue import LINE_SHAPES, PROCESSES, MassSlices, ProcessModel  # noqa: F401  (re-exported)

#: Generator-level thresholds, looser than the analysis ones (tau 26, lepton 20, jets 26 GeV)
#: so that energy-scale variations can move objects across the analysis thresholds.
LOOSE_TAU_PT, LOOSE_LEP_PT, LOOSE_JET_PT = 20.0, 18.0, 20.0
#: Analysis thresholds on the nominal sample, used to normalise weights to the expected yields.
TAU_PT_CUT, LEP_PT_CUT, JET_PT_CUT = 26.0, 20.0, 26.0

Z_MASS, Z_WIDTH, H_MASS = 91.19, 2.5, 125.0
Z_MASS_RANGE = LINE_SHAPES["ztautau"][2]


DEFAULT_LUMINOSITY_FB = 10.0

# Detector resolutions (DESIGN.md): lepton 2 %, tau_had 10 %, MET per component.
LEP_RESOLUTION, TAU_RESOLUTION, MET_RESOLUTION = 0.02, 0.10, 6.0


def process_seed(seed: int, process: str) -> int:
    """A stable per-process seed (crc32 of the name), so processes are independent and reproducible."""
    return (seed * 1_000_003 + zlib.crc32(process.encode())) % (2**63)


def simulate_process(
    process: str,
    n_events: int,
    seed: int,
    luminosity_fb: float = DEFAULT_LUMINOSITY_FB,
    signal_boost: float = 1.0,
    mass_slices: MassSlices | None = None,
) -> ak.Array:
    """Generate ``n_events`` events of ``process`` and return those passing loose thresholds.

    Weights are normalised so that the events passing the nominal analysis thresholds sum to
    the expected yield scaled to ``luminosity_fb`` (times ``signal_boost``). ``mass_slices`` generates a
    Breit–Wigner process's mass slice by slice (:class:`MassSlices`: the weights carry each slice's share).
    """
    if process not in PROCESSES:
        raise ValueError(f"simulate: unknown process {process!r}; known: {sorted(PROCESSES)}")
    if n_events <= 0:
        raise ValueError(f"simulate: events for {process!r} must be positive, got {n_events}")
    if mass_slices is not None and process not in LINE_SHAPES:
        raise ValueError(f"simulate: mass_slices for {process!r}: only {sorted(LINE_SHAPES)} are generated from a "
                         "line shape")  # fmt: skip
    model = PROCESSES[process]
    rng = np.random.default_rng(process_seed(seed, process))
    n = n_events

    jets_pt, jets_eta, jets_phi, n_jets = _jets(rng, model, n)
    jet_px = ak.to_numpy(ak.sum(jets_pt * np.cos(jets_phi), axis=1))
    jet_py = ak.to_numpy(ak.sum(jets_pt * np.sin(jets_phi), axis=1))

    relative = np.ones(n)  # each event's weight relative to an unsliced sample's
    if model.resonant:
        tau1, tau2, relative = _resonant_taus(rng, process, n, recoil=(-jet_px, -jet_py), slices=mass_slices)
    else:
        tau1, tau2 = _independent_taus(rng, model, n)

    # tau1 decays hadronically, tau2 leptonically; visible parts collinear with their parent.
    x_had = rng.beta(2.4, 1.2, size=n)
    x_lep = _michel_fraction(rng, n)
    tau_vis = tau1 * x_had[:, None]
    lep_vis = tau2 * x_lep[:, None]
    nu_px = tau1[:, 0] * (1 - x_had) + tau2[:, 0] * (1 - x_lep)
    nu_py = tau1[:, 1] * (1 - x_had) + tau2[:, 1] * (1 - x_lep)
    if model.extra_met > 0:
        extra = rng.gamma(2.0, model.extra_met, size=n)
        phi_extra = rng.uniform(-np.pi, np.pi, size=n)
        nu_px, nu_py = nu_px + extra * np.cos(phi_extra), nu_py + extra * np.sin(phi_extra)

    tau_pt, tau_eta, tau_phi = _pt_eta_phi(tau_vis)
    lep_pt, lep_eta, lep_phi = _pt_eta_phi(lep_vis)
    tau_pt = tau_pt * rng.normal(1.0, TAU_RESOLUTION, size=n)
    lep_pt = lep_pt * rng.normal(1.0, LEP_RESOLUTION, size=n)
    met_x = nu_px + rng.normal(0.0, MET_RESOLUTION, size=n)
    met_y = nu_py + rng.normal(0.0, MET_RESOLUTION, size=n)

    loose = (tau_pt > LOOSE_TAU_PT) & (lep_pt > LOOSE_LEP_PT)
    nominal = (tau_pt > TAU_PT_CUT) & (lep_pt > LEP_PT_CUT)
    n_nominal = int(nominal.sum())
    if n_nominal == 0:
        raise ValueError(f"simulate: no {process} event passes the analysis thresholds; generate more events")
    target = model.expected_yield * luminosity_fb / DEFAULT_LUMINOSITY_FB
    if process == "htautau":
        target *= signal_boost
    weight = target * relative / relative[nominal].sum()

    keep = np.flatnonzero(loose)
    return ak.Array(
        {
            "event_id": np.arange(n, dtype=np.uint64)[keep],
            "weight": weight[keep],
            "tau_pt": tau_pt[keep].astype(np.float32),
            "tau_eta": tau_eta[keep].astype(np.float32),
            "tau_phi": tau_phi[keep].astype(np.float32),
            "lep_pt": lep_pt[keep].astype(np.float32),
            "lep_eta": lep_eta[keep].astype(np.float32),
            "lep_phi": lep_phi[keep].astype(np.float32),
            "met_pt": np.hypot(met_x, met_y)[keep].astype(np.float32),
            "met_phi": np.arctan2(met_y, met_x)[keep].astype(np.float32),
            "jet_pt": ak.values_astype(jets_pt[keep], np.float32),
            "jet_eta": ak.values_astype(jets_eta[keep], np.float32),
            "jet_phi": ak.values_astype(jets_phi[keep], np.float32),
        }
    )


def _jets(rng: np.random.Generator, model: ProcessModel, n: int):
    """Jets ordered in pT: hard ones above the analysis threshold with the process multiplicity,
    plus occasional soft ones between the loose and analysis thresholds that migrate under JES."""
    category = rng.choice(4, size=n, p=np.asarray(model.jet_fractions) / sum(model.jet_fractions))
    n_hard = np.where(category == 3, 3 + rng.binomial(1, 0.35, size=n), category)
    n_soft = rng.binomial(1, 0.15, size=n)
    n_jets = n_hard + n_soft
    hard_pt = ak.unflatten(JET_PT_CUT + rng.exponential(model.jet_pt_scale, size=int(n_hard.sum())), n_hard)
    soft_pt = ak.unflatten(rng.uniform(LOOSE_JET_PT, JET_PT_CUT, size=int(n_soft.sum())), n_soft)
    pt = ak.concatenate([hard_pt, soft_pt], axis=1)  # already descending: hard > 26 > soft
    total = int(n_jets.sum())
    eta = ak.unflatten(rng.normal(0.0, model.jet_eta_width, size=total).clip(-4.7, 4.7), n_jets)
    phi = ak.unflatten(rng.uniform(-np.pi, np.pi, size=total), n_jets)
    order = ak.argsort(pt, axis=1, ascending=False)
    return pt[order], eta[order], phi[order], n_jets


def _resonant_taus(rng: np.random.Generator, process: str, n: int, recoil, slices: MassSlices | None = None):
    """Two taus from a resonance decaying isotropically, boosted along z and recoiling against the jets, and each
    event's weight relative to an unsliced sample (ones without ``slices``)."""
    relative = np.ones(n)
    if process == "ztautau" and slices is None:
        mass = _breit_wigner(rng, Z_MASS, Z_WIDTH, n, *Z_MASS_RANGE)
    elif process == "ztautau":
        mass, relative = _sliced_breit_wigner(rng, Z_MASS, Z_WIDTH, n, slices)
    else:
        mass = np.full(n, H_MASS)
    px = recoil[0] + rng.normal(0.0, 8.0, size=n)
    py = recoil[1] + rng.normal(0.0, 8.0, size=n)
    rapidity = rng.normal(0.0, 1.2, size=n)
    mt = np.sqrt(mass**2 + px**2 + py**2)
    parent = np.stack([px, py, mt * np.sinh(rapidity), mt * np.cosh(rapidity)], axis=1)

    cos_theta = rng.uniform(-1.0, 1.0, size=n)
    phi = rng.uniform(-np.pi, np.pi, size=n)
    sin_theta = np.sqrt(1.0 - cos_theta**2)
    p_star = mass / 2.0  # taus treated as massless: visible products are collinear anyway
    direction = np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)
    tau1_rest = np.concatenate([p_star[:, None] * direction, p_star[:, None]], axis=1)
    tau2_rest = np.concatenate([-p_star[:, None] * direction, p_star[:, None]], axis=1)
    return _boost(tau1_rest, parent), _boost(tau2_rest, parent), relative


def _independent_taus(rng: np.random.Generator, model: ProcessModel, n: int):
    """Two taus from independent W-like decays (ttbar, dibosons): Gamma pT, Gaussian eta, uniform phi."""
    taus = []
    for _ in range(2):
        pt = 15.0 + rng.gamma(2.2, model.tau_pt_scale, size=n)
        eta = rng.normal(0.0, 1.5, size=n)
        phi = rng.uniform(-np.pi, np.pi, size=n)
        taus.append(np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=1))
    return taus[0], taus[1]


def _boost(p_rest: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Lorentz-boost four-vectors (px, py, pz, E) from the parent rest frame to the lab."""
    mass = np.sqrt(np.maximum(parent[:, 3] ** 2 - np.sum(parent[:, :3] ** 2, axis=1), 1e-9))
    beta = parent[:, :3] / parent[:, 3:4]
    gamma = parent[:, 3] / mass
    bp = np.sum(beta * p_rest[:, :3], axis=1)
    b2 = np.sum(beta**2, axis=1)
    coeff = np.where(b2 > 0, (gamma - 1.0) * bp / np.where(b2 > 0, b2, 1.0), 0.0)
    space = p_rest[:, :3] + (coeff[:, None] + gamma[:, None] * p_rest[:, 3:4]) * beta
    energy = gamma * (p_rest[:, 3] + bp)
    return np.concatenate([space, energy[:, None]], axis=1)


def _breit_wigner(rng: np.random.Generator, mass: float, width: float, n: int, low: float, high: float):
    """Relativistic-looking Breit-Wigner by inverse CDF of a Cauchy, truncated to [low, high]."""
    lo, hi = (np.arctan(2 * (x - mass) / width) for x in (low, high))
    return mass + width / 2 * np.tan(rng.uniform(lo, hi, size=n))


def _sliced_breit_wigner(rng: np.random.Generator, mass: float, width: float, n: int,
                         slices: MassSlices) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``n`` masses, round(n·share_s) of them in slice s (the last takes the rest), and each one's weight relative to
    an unsliced draw over the slices' span: P_s / (n_s / n), P_s the truncated Breit–Wigner's probability of s."""
    edges = np.asarray(slices.edges, dtype=float)
    angle = np.arctan(2 * (edges - mass) / width)  # the Cauchy CDF (× π) at each edge
    probability = np.diff(angle) / (angle[-1] - angle[0])
    counts = np.round(n * np.asarray(slices.shares, dtype=float)).astype(int)
    counts[-1] = n - counts[:-1].sum()
    if (counts <= 0).any():
        raise ValueError(f"simulate: mass slices {slices.edges} with shares {slices.shares} leave a slice without "
                         f"events at {n} generated; raise the events or the share")  # fmt: skip
    masses = [_breit_wigner(rng, mass, width, int(k), lo, hi)
              for k, lo, hi in zip(counts, edges[:-1], edges[1:], strict=True)]  # fmt: skip
    relative = np.repeat(probability / (counts / n), counts)
    return np.concatenate(masses), relative


def _michel_fraction(rng: np.random.Generator, n: int) -> np.ndarray:
    """Visible energy fraction of a leptonic tau decay: dN/dx = 5/3 - 3x^2 + 4/3 x^3 (inverse CDF)."""
    grid = np.linspace(0.0, 1.0, 2001)
    cdf = 5 / 3 * grid - grid**3 + grid**4 / 3
    return np.interp(rng.uniform(0.0, 1.0, size=n), cdf / cdf[-1], grid)


def _pt_eta_phi(p: np.ndarray):
    """Transverse momentum, pseudorapidity and azimuth of (px, py, pz, E) rows."""
    pt = np.hypot(p[:, 0], p[:, 1])
    return pt, np.arcsinh(p[:, 2] / np.maximum(pt, 1e-9)), np.arctan2(p[:, 1], p[:, 0])
