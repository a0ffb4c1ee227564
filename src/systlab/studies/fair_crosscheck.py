"""systlab's shape systematics against the organisers' code: ``HiggsML.systematics.systematics`` (issue #22 part 2).

The same events go both ways: systlab's canonical table through :func:`systlab.samples.vary.apply_variation`
(objects varied in float64, features recomputed, cuts tau pT > 26, lepton pT > 20, jets > 26 GeV), and the same
events written as the challenge's columns *before* the cuts (:func:`challenge_frame`: the challenge stores its events
at looser thresholds and cuts after the variation, ``postprocess``) through ``HiggsML.systematics.systematics(frame,
tes, jes, soft_met)`` (HiggsML 0.1.5). Events are matched by ``event_id`` and every feature compared on the events both
sides keep (:func:`compare`).

What the package does (``mom4_manipulate``, ``postprocess``, ``derived_quantities.DER_data``): TES multiplies
``PRI_had_pt`` and adds (1 − tes)·pT(τ) to MET as a vector; JES multiplies the leading and subleading jet pT and
``PRI_jet_all_pt`` and adds (1 − jes)·pT of those two jets (the only ones it has) to MET; soft MET adds
N(0, soft_met) to each MET component from ``numpy.random.RandomState(seed)``; then every primary is rounded to 3
decimals; then it drops τ pT < 26 and lepton pT < 20 and removes a jet with 0 ≤ pT ≤ 26 (subleading first, ``-25``
for its columns, ``PRI_n_jets`` − 1, its pT off ``PRI_jet_all_pt``); then the derived features are recomputed from
the rounded primaries and every float column is cast to float32 (the arithmetic itself runs in the input's dtype).

**Tolerance** (:func:`tolerances`), per event and feature, from what the package itself does to the numbers: the
rounding of the primaries (half a step, 5e-4, on every primary; 1e-3 on ``PRI_jet_all_pt``, rounded once and then
minus a rounded dropped jet), propagated into each derived feature by the package's own formulas (the larger secant
over ± that step of each primary, summed over the primaries, plus a curvature term for where the roundings add up
at an extremum: :func:`rounding_bound`); plus the package's float32 arithmetic, measured event by event as the
difference between the package run on the float32 columns (the challenge's layout) and on the same numbers in
float64; plus two float32 spacings of the value, or of 1 for a value below 1 (both sides end in float32). An event
agrees on a feature when |systlab − package| is within that, or both are undefined. What is left outside has a known
cause or is counted as unexplained (:func:`known_causes`).

``jets="layout"`` gives systlab the events as the challenge's layout holds them (the leading and subleading jet only,
as the ``format: fair`` reader reads a challenge directory); ``jets="all"`` gives systlab every jet and the package
the challenge columns of them (``PRI_n_jets`` and ``PRI_jet_all_pt`` over every jet), and shows what the challenge's
two-jet layout cannot express. HiggsML is imported only inside the functions that call it (importing its
``derived_quantities`` configures the root logger at INFO).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import awkward as ak
import numpy as np
import pandas as pd

from systlab.config.catalogue import Variation
from systlab.events import SENTINEL
from systlab.samples.fair import CHALLENGE_NAMES, SYSTLAB_ONLY, UNDEFINED
from systlab.samples.simulate import simulate_process
from systlab.samples.vary import apply_variation, soft_met_draws

#: The package's rounding of every primary (``DECIMALS = 3`` in ``mom4_manipulate``): half a step.
ROUNDING = 5e-4
#: ``PRI_jet_all_pt`` is rounded, then a rounded dropped jet's pT is subtracted from it: two half-steps.
ROUNDING_STEPS = {"PRI_jet_all_pt": 2}
#: The challenge's columns compared, in systlab's feature order (every systlab feature but ``SYSTLAB_ONLY``).
COLUMNS = tuple(CHALLENGE_NAMES.values())
N_JETS = CHALLENGE_NAMES["PRI_jet_num"]
#: Float primaries the package rounds (every PRI_ column but the jet count).
ROUNDED = tuple(c for c in COLUMNS if c.startswith("PRI_") and c != N_JETS)
DERIVED = tuple(c for c in COLUMNS if c.startswith("DER_"))
#: The features MET moves: what soft MET is compared on (its noise is random on both sides).
MET_FEATURES = ("PRI_met", "PRI_met_phi", "DER_mass_transverse_met_lep", "DER_pt_h", "DER_pt_tot",
                "DER_met_phi_centrality")  # fmt: skip
JET_MODES = ("layout", "all")
#: The challenge's processes and a seed offset each, so that events of a mixed sample have distinct ids.
PROCESSES = ("htautau", "ztautau", "ttbar", "diboson")
ID_STRIDE = 10**12


def simulated_events(n_per_process: int, seed: int, processes: Sequence[str] = PROCESSES) -> ak.Array:
    """``n_per_process`` events generated for each process (those passing the simulator's loose thresholds), in one
    canonical table; event ids made distinct by process (+ process index × 10¹²)."""
    parts = []
    for k, process in enumerate(processes):
        events = simulate_process(process, n_per_process, seed=seed)
        parts.append(ak.with_field(events, events.event_id + np.uint64(k * ID_STRIDE), "event_id"))
    return ak.concatenate(parts)


def layout_events(events: ak.Array) -> ak.Array:
    """``events`` with only their leading and subleading jet, what the challenge's layout keeps (jets pT-ordered)."""
    out = events
    for name in ("jet_pt", "jet_eta", "jet_phi"):
        out = ak.with_field(out, events[name][:, :2], name)
    return out


def challenge_frame(events: ak.Array, dtype=np.float32) -> pd.DataFrame:
    """The events as the challenge's primary columns before any cut: τ, lepton, MET, the leading and subleading jet
    (−25 where absent), ``PRI_n_jets`` and ``PRI_jet_all_pt`` over every jet the table holds; ``event_id`` and
    ``weights`` carried along. Floats in ``dtype`` (float32: the challenge's data and systlab's canonical table)."""
    n_jets = ak.to_numpy(ak.num(events.jet_pt, axis=1)).astype(np.int64)
    frame: dict[str, Any] = {"event_id": ak.to_numpy(events.event_id).astype(np.int64)}
    for column, name in (("tau_pt", "PRI_had_pt"), ("tau_eta", "PRI_had_eta"), ("tau_phi", "PRI_had_phi"),
                         ("lep_pt", "PRI_lep_pt"), ("lep_eta", "PRI_lep_eta"), ("lep_phi", "PRI_lep_phi"),
                         ("met_pt", "PRI_met"), ("met_phi", "PRI_met_phi")):  # fmt: skip
        frame[name] = ak.to_numpy(events[column]).astype(dtype)
    frame[N_JETS] = n_jets
    padded = {name: ak.fill_none(ak.pad_none(events[name], 2, axis=1, clip=True), UNDEFINED)
              for name in ("jet_pt", "jet_eta", "jet_phi")}  # fmt: skip
    for rank, position in (("leading", 0), ("subleading", 1)):
        for name in ("pt", "eta", "phi"):
            frame[f"PRI_jet_{rank}_{name}"] = ak.to_numpy(padded[f"jet_{name}"][:, position]).astype(dtype)
    all_pt = ak.to_numpy(ak.sum(ak.values_astype(events.jet_pt, np.float64), axis=1))
    frame["PRI_jet_all_pt"] = all_pt.astype(dtype)
    frame["weights"] = ak.to_numpy(events.weight).astype(np.float64)
    return pd.DataFrame(frame)


def systlab_side(events: ak.Array, tes: float, jes: float, soft_met: float = 0.0, draw_seed: int = 0) -> pd.DataFrame:
    """systlab's variation of ``events`` at (tes, jes, soft_met) as the challenge's columns (−999 → −25), by
    ``event_id``."""
    variation = Variation("crosscheck", {"tes": tes, "jes": jes, "soft_met": soft_met})
    table = apply_variation(events, variation, soft_met_draws(len(events), draw_seed))
    out = {name: table[feature].to_numpy() for feature, name in CHALLENGE_NAMES.items()}
    for name, values in out.items():
        if name != N_JETS:
            out[name] = np.where(values == SENTINEL, np.float32(UNDEFINED), values)
    return pd.DataFrame(out, index=pd.Index(table["event_id"].to_numpy().astype(np.int64), name="event_id"))


def package_side(frame: pd.DataFrame, tes: float, jes: float, soft_met: float = 0.0, seed: int = 31415) -> pd.DataFrame:
    """``HiggsML.systematics.systematics`` of ``frame`` at (tes, jes, soft_met), its columns by ``event_id``."""
    from HiggsML.systematics import systematics

    with warnings.catch_warnings():  # pandas notes on the package's chained assignments: not ours to fix
        warnings.simplefilter("ignore")
        out = systematics(frame.copy(), tes=tes, jes=jes, soft_met=soft_met, seed=seed)
    return out.set_index("event_id")[list(COLUMNS)]


#: ``HiggsML.derived_quantities.DER_data``'s steps, in its order, without its final cast to float32: the derived
#: features in the precision of the primaries handed in (tests/test_fair_systematics.py checks it against DER_data).
DER_STEPS = ("f_DER_mass_transverse_met_lep", "f_DER_mass_vis", "f_DER_pt_h", "f_DER_deltaeta_jet_jet",
             "f_DER_mass_jet_jet", "f_DER_prodeta_jet_jet", "f_DER_deltar_had_lep", "f_DER_pt_tot", "f_DER_sum_pt",
             "f_DER_pt_ratio_lep_had", "f_DER_met_phi_centrality", "f_DER_lep_eta_centrality")  # fmt: skip


def derived(primaries: pd.DataFrame) -> pd.DataFrame:
    """The package's derived features of ``primaries`` (the challenge's PRI_ columns), computed by its own functions
    in the primaries' precision (float64 in, float64 out)."""
    from HiggsML import derived_quantities

    data = derived_quantities.calcul_int(primaries.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in DER_STEPS:
            data = getattr(derived_quantities, step)(data)
    return data[list(DERIVED)]


def rounding_bound(package64: pd.DataFrame) -> pd.DataFrame:
    """Per event, how far the package's rounding of the primaries can move each feature: half a rounding step for
    a primary (:data:`ROUNDING_STEPS`); for a derived feature, from the package's own formulas (:func:`derived`,
    float64) at its rounded primaries moved one at a time by ± half a step, the sum over the primaries of the larger
    change (linear term) plus ½(Σ √|second difference|)² (the curvature when the roundings add up, e.g. at the MET φ
    centrality's maximum √2, where the linear term vanishes)."""
    primaries = package64[list(ROUNDED) + [N_JETS]].astype({c: np.float64 for c in ROUNDED})
    base = derived(primaries).to_numpy(np.float64)
    linear = np.zeros_like(base)
    curvature = np.zeros_like(base)
    for column in ROUNDED:
        step = ROUNDING * ROUNDING_STEPS.get(column, 1)
        moved = []
        for sign in (1.0, -1.0):
            shifted = primaries.copy()
            shifted[column] = shifted[column] + sign * step
            moved.append(derived(shifted).to_numpy(np.float64) - base)
        linear += np.maximum(np.abs(moved[0]), np.abs(moved[1]))
        curvature += np.sqrt(np.abs(moved[0] + moved[1]))
    out = pd.DataFrame(0.0, index=package64.index, columns=list(COLUMNS))
    for column in ROUNDED:
        out[column] = ROUNDING * ROUNDING_STEPS.get(column, 1)
    out[list(DERIVED)] = linear + 0.5 * curvature**2
    return out


def tolerances(package32: pd.DataFrame, package64: pd.DataFrame) -> pd.DataFrame:
    """The per-event, per-feature tolerance (module docstring) on the events both package runs keep: rounding bound +
    |float32 run − float64 run| + two float32 spacings of max(|value|, 1) (a feature near 0, an angle or an exp(−65)
    centrality, is compared on the scale of its range)."""
    index = package32.index.intersection(package64.index)
    p32 = package32.loc[index, list(COLUMNS)].to_numpy(np.float64)
    p64 = package64.loc[index, list(COLUMNS)].to_numpy(np.float64)
    spacing = np.spacing(np.maximum(np.abs(p32), 1.0).astype(np.float32)).astype(np.float64)
    out = rounding_bound(package64.loc[index]) + np.abs(p32 - p64) + 2 * spacing
    out[N_JETS] = 0.0
    return out


#: How near (GeV, or in sin Δφ) a value must lie to a discontinuity for the package's rounding to cross it: a rounding
#: step (two half-steps: the value's own and, for a difference of two angles, the other's).
NEAR = 2 * ROUNDING
#: The cuts the package applies after rounding (``postprocess``: τ pT ≥ 26, lepton pT ≥ 20 kept, a jet with pT ≤ 26
#: removed) and systlab before (τ > 26, lepton > 20, jets > 26): an object within the rounding of one can fall on
#: either side.
CUTS = {"PRI_had_pt": ("tes", 26.0), "PRI_lep_pt": (None, 20.0), "PRI_jet_leading_pt": ("jes", 26.0),
        "PRI_jet_subleading_pt": ("jes", 26.0)}  # fmt: skip


def known_causes(frame: pd.DataFrame, tes: float, jes: float) -> pd.DataFrame:
    """Per event (``frame``: :func:`challenge_frame` by event id), the known causes of a difference beyond the
    tolerance: ``threshold`` (an object's varied pT within the rounding of its cut, so the package, which cuts the
    rounded value, may keep what systlab drops or the reverse), ``beyond_two_jets`` (systlab was given more than the
    two jets the package sees: ``jets="all"``), ``back_to_back`` (τ and lepton back to back or collinear within the
    rounding, where the sign of sin Δφ(τ, ℓ) in the MET φ centrality flips: it explains that feature only)."""
    scale = {"tes": tes, "jes": jes, None: 1.0}
    threshold = np.zeros(len(frame), dtype=bool)
    for column, (np_name, cut) in CUTS.items():
        threshold |= np.abs(frame[column].to_numpy(np.float64) * scale[np_name] - cut) <= NEAR
    sin = np.sin(frame["PRI_had_phi"].to_numpy(np.float64) - frame["PRI_lep_phi"].to_numpy(np.float64))
    return pd.DataFrame({"threshold": threshold, "beyond_two_jets": frame[N_JETS].to_numpy() > 2,
                         "back_to_back": np.abs(sin) <= NEAR}, index=frame.index)  # fmt: skip


class Agreement(NamedTuple):
    """One (tes, jes) point: the per-feature table and the events each side keeps."""

    tes: float
    jes: float
    jets: str
    table: pd.DataFrame  # per feature: agree (fraction), differ, unexplained (events), max_abs, max_rel, tolerance
    kept: dict[str, int]  # events in, kept by systlab, by the package, by both, by one side only
    disagreeing: dict[str, np.ndarray]  # per feature, the event ids outside the tolerance

    def worst(self) -> float:
        """The smallest agreeing fraction over every feature."""
        return float(self.table["agree"].min())


def compare(events: ak.Array, tes: float, jes: float, jets: str = "layout",
            package_point: tuple[float, float] | None = None) -> Agreement:  # fmt: skip
    """systlab and the package at (tes, jes) on ``events`` (no soft MET), matched by event: the agreement of every
    feature on the events both keep (:func:`tolerances`), how many of the differing events have no known cause
    (:func:`known_causes`), and the events kept by each side, by both, and by one side without a threshold cause.
    ``package_point`` gives the package another (tes, jes) than systlab (the comparison's sensitivity)."""
    if jets not in JET_MODES:
        raise ValueError(f"jets must be one of {JET_MODES}, got {jets!r}")
    ours = systlab_side(layout_events(events) if jets == "layout" else events, tes, jes)
    frame = challenge_frame(layout_events(events) if jets == "layout" else events)
    their_tes, their_jes = package_point or (tes, jes)
    theirs = package_side(frame, their_tes, their_jes)
    theirs64 = package_side(frame.astype({c: np.float64 for c in ROUNDED}), their_tes, their_jes)
    tolerance = tolerances(theirs, theirs64)
    both = ours.index.intersection(tolerance.index)
    a = ours.loc[both, list(COLUMNS)].to_numpy(np.float64)
    b = theirs.loc[both, list(COLUMNS)].to_numpy(np.float64)
    if jets == "all":  # systlab counts jets as the 2014 HiggsML data did, 3 for three or more
        b[:, COLUMNS.index(N_JETS)] = np.minimum(b[:, COLUMNS.index(N_JETS)], 3)
    tol = tolerance.loc[both, list(COLUMNS)].to_numpy(np.float64)
    diff = np.abs(a - b)
    undefined = (a == UNDEFINED) & (b == UNDEFINED)
    agree = undefined | (diff <= tol)
    rel = diff / np.maximum(np.abs(b), 1.0)  # relative above 1, absolute below (angles, eta, centralities near 0)
    causes = known_causes(frame.set_index("event_id"), tes, jes)
    general = causes.loc[both, ["threshold", "beyond_two_jets"]].to_numpy().any(axis=1)
    centrality = general | causes.loc[both, "back_to_back"].to_numpy()  # explains the MET phi centrality only
    rows = {}
    for k, column in enumerate(COLUMNS):
        differ = ~agree[:, k]
        cause = centrality if column == "DER_met_phi_centrality" else general
        rows[column] = {
            "agree": float(agree[:, k].mean()) if len(both) else float("nan"),
            "differ": int(differ.sum()),
            "unexplained": int((differ & ~cause).sum()),
            "max_abs": float(diff[:, k].max()) if len(both) else float("nan"),
            "max_rel": float(rel[:, k].max()) if len(both) else float("nan"),
            "median_tolerance": float(np.median(tol[:, k])) if len(both) else float("nan"),
        }
    one_side = ours.index.symmetric_difference(theirs.index)
    kept = {
        "events": len(events),
        "systlab": len(ours),
        "package": len(theirs),
        "both": len(ours.index.intersection(theirs.index)),
        "systlab_only": len(ours.index.difference(theirs.index)),
        "package_only": len(theirs.index.difference(ours.index)),
        "one_side_unexplained": int((~causes.loc[one_side, "threshold"]).sum()),
    }
    ids = both.to_numpy()
    disagreeing = {column: ids[~agree[:, k]] for k, column in enumerate(COLUMNS)}
    return Agreement(tes, jes, jets, pd.DataFrame.from_dict(rows, orient="index"), kept, disagreeing)


class SoftMetComparison(NamedTuple):
    """Soft MET at one width: per MET feature the two sides' quantiles and the two-sample KS test, and per side the
    KS test of each MET component's shift against N(0, width)."""

    width: float
    features: pd.DataFrame  # per feature: ks, p, quantiles of each side
    shifts: pd.DataFrame  # per side and component: ks, p against N(0, width), mean, std


def compare_soft_met(events: ak.Array, width: float, draw_seed: int = 0, seed: int = 31415,
                     quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> SoftMetComparison:  # fmt: skip
    """Soft MET of ``width`` GeV (TES = JES = 1, challenge layout): systlab's (its own standard-normal draws) and
    the package's (``RandomState(seed)``) are independent random numbers, so their distributions are compared."""
    from scipy import stats

    events = layout_events(events)
    frame = challenge_frame(events)
    ours, theirs = systlab_side(events, 1.0, 1.0, width, draw_seed), package_side(frame, 1.0, 1.0, width, seed)
    ours0, theirs0 = systlab_side(events, 1.0, 1.0), package_side(frame, 1.0, 1.0)
    rows = {}
    for column in MET_FEATURES:
        a, b = ours[column].to_numpy(np.float64), theirs[column].to_numpy(np.float64)
        test = stats.ks_2samp(a, b)
        row = {"ks": float(test.statistic), "p": float(test.pvalue)}
        for q in quantiles:
            row[f"systlab_q{q:g}"], row[f"package_q{q:g}"] = float(np.quantile(a, q)), float(np.quantile(b, q))
        rows[column] = row
    shifts = {}
    for side, (varied, nominal) in {"systlab": (ours, ours0), "package": (theirs, theirs0)}.items():
        common = varied.index.intersection(nominal.index)
        met, phi = (varied.loc[common, c].to_numpy(np.float64) for c in ("PRI_met", "PRI_met_phi"))
        met0, phi0 = (nominal.loc[common, c].to_numpy(np.float64) for c in ("PRI_met", "PRI_met_phi"))
        for axis, (now, before) in {"x": (met * np.cos(phi), met0 * np.cos(phi0)),
                                    "y": (met * np.sin(phi), met0 * np.sin(phi0))}.items():  # fmt: skip
            shift = now - before
            test = stats.kstest(shift, "norm", args=(0.0, width))
            shifts[f"{side}_{axis}"] = {"ks": float(test.statistic), "p": float(test.pvalue),
                                        "mean": float(shift.mean()), "std": float(shift.std())}  # fmt: skip
    return SoftMetComparison(width, pd.DataFrame.from_dict(rows, orient="index"),
                             pd.DataFrame.from_dict(shifts, orient="index"))  # fmt: skip


def report(agreements: Sequence[Agreement], soft: Sequence[SoftMetComparison] = ()) -> str:
    """The agreement tables as Markdown text: one table per (tes, jes) point, then the soft-MET comparisons."""
    lines = []
    for a in agreements:
        lines += [f"### TES {a.tes:g}, JES {a.jes:g} ({a.jets} jets)", "",
                  "kept: " + ", ".join(f"{k} {v:,}" for k, v in a.kept.items()), "",
                  "| feature | agree | differ | unexplained | max abs | max rel | median tolerance |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for column, row in a.table.iterrows():
            lines.append(f"| {column} | {row['agree']:.6f} | {int(row['differ'])} | {int(row['unexplained'])} | "
                         f"{row['max_abs']:.3g} | "
                         f"{row['max_rel']:.3g} | {row['median_tolerance']:.3g} |")  # fmt: skip
        lines.append("")
    for s in soft:
        lines += [f"### soft MET {s.width:g} GeV", "", _markdown(s.features), "", _markdown(s.shifts), ""]
    return "\n".join(lines)


def _markdown(frame: pd.DataFrame) -> str:
    """A small frame as a Markdown table, numbers to 4 significant digits."""
    lines = ["| | " + " | ".join(frame.columns) + " |", "| --- " * (len(frame.columns) + 1) + "|"]
    for name, row in frame.iterrows():
        lines.append(f"| {name} | " + " | ".join(f"{v:.4g}" for v in row) + " |")
    return "\n".join(lines)


def summary_rows(agreements: Sequence[Agreement]) -> list[Mapping[str, Any]]:
    """One row per point: the worst feature's agreeing fraction, the most unexplained differences of a feature, and
    the kept counts."""
    return [{"tes": a.tes, "jes": a.jes, "jets": a.jets, "worst_agree": a.worst(),
             "worst_feature": str(a.table["agree"].idxmin()), "unexplained": int(a.table["unexplained"].max()),
             **a.kept} for a in agreements]  # fmt: skip


__all__ = ["SYSTLAB_ONLY", "Agreement", "SoftMetComparison", "challenge_frame", "compare", "compare_soft_met",
           "layout_events", "report", "simulated_events", "summary_rows", "tolerances"]  # fmt: skip
