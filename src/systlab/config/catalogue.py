"""The names and constants every stage agrees on: processes, sample names, known shape NPs, generator variants.

Plain data and two small dataclasses, no numerical imports (the shape NPs are a view of the registry in
:mod:`systlab.samples.systematics`, which has none either): the config is validated against them when a
job starts and when Snakemake builds the DAG, so importing :mod:`systlab.config` stays cheap (before, it
pulled in awkward, pandas and pyarrow through the simulation and variation modules: 0.9 s per job).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from systlab.samples.systematics import NOMINALS


@dataclass(frozen=True)
class ProcessModel:
    """Phenomenological knobs of one process (GeV); tuned to the FAIR-Universe medians in DESIGN.md."""

    expected_yield: float  # expected events per 10 fb^-1 after the analysis thresholds
    resonant: bool  # tau pair from a resonance (H, Z) or from independent W-like decays
    jet_fractions: tuple[float, float, float, float]  # P(0, 1, 2, >=3 jets with pT > 26 GeV)
    jet_pt_scale: float  # exponential slope of jet pT above threshold
    jet_eta_width: float
    tau_pt_scale: float = 0.0  # non-resonant only: Gamma scale of each parent tau pT
    extra_met: float = 0.0  # non-resonant only: Gamma scale of genuine MET from W neutrinos


PROCESSES: dict[str, ProcessModel] = {
    "htautau": ProcessModel(1015.0, True, (0.30, 0.32, 0.20, 0.18), 45.0, 2.2),
    "ztautau": ProcessModel(1002395.0, True, (0.65, 0.23, 0.08, 0.04), 25.0, 1.8),
    "ttbar": ProcessModel(44190.0, False, (0.0, 0.08, 0.19, 0.73), 45.0, 1.4, tau_pt_scale=24.0, extra_met=17.0),
    "diboson": ProcessModel(3783.0, False, (0.55, 0.27, 0.12, 0.06), 25.0, 1.8, tau_pt_scale=20.0, extra_met=12.0),
}

#: Processes the simulator generates from a Breit–Wigner line shape (mass, width, generated range in GeV): the ones
#: whose generated mass can be sliced (``simulate.mass_slices``).
LINE_SHAPES: dict[str, tuple[float, float, tuple[float, float]]] = {"ztautau": (91.19, 2.5, (60.0, 130.0))}


@dataclass(frozen=True)
class MassSlices:
    """Generator-level slices of a resonance's mass: ``edges`` (GeV, spanning the generated range) and the share of
    the process's generated events in each slice. An event of slice s carries weight ∝ P_s / share_s (P_s the line
    shape's probability of the slice), so the weighted sample is the unsliced one, with more events where share_s >
    P_s (e.g. the Z's high-mass tail, where it looks like the signal)."""

    edges: tuple[float, ...]
    shares: tuple[float, ...]

    def payload(self) -> dict[str, list[float]]:
        """JSON-ready (a rule's params: a change of the slices reruns the simulation)."""
        return {"edges": list(self.edges), "shares": list(self.shares)}


#: The nominal sample's variation name, and the prefix of the pseudo-data truth samples.
NOMINAL = "nominal"
TRUTH_PREFIX = "truth_"


def is_truth(variation: str) -> bool:
    """Whether ``variation`` names a pseudo-data truth sample."""
    return variation.startswith(TRUTH_PREFIX)


#: Shape nuisance parameters the variations stage knows how to apply, with their nominal values: a live view of
#: the registry in :mod:`systlab.samples.systematics` (a systematic registered later appears here too).
KNOWN_SHAPE_NPS: Mapping[str, float] = NOMINALS


@dataclass(frozen=True)
class Variation:
    """A named point in nuisance-parameter space; ``values`` are physical (alpha, or GeV for soft MET)."""

    name: str
    values: Mapping[str, float] = field(default_factory=dict)

    def value(self, np_name: str) -> float:
        return float(self.values.get(np_name, KNOWN_SHAPE_NPS[np_name]))


#: The two-point generators (A = the simulation as it is, B = the alternative) and the held-back third.
GENERATORS = ("A", "B", "C")
#: Points of the scale-like family: the knob xi (x1/2, x1, x2); xi = 1 is the nominal prediction.
SCALES = (0.5, 1.0, 2.0)
#: The families a classifier can be decorrelated from, with the variants it is trained on (C is held back).
TRAINING_VARIANTS = {"generator": GENERATORS[:2], "scale": SCALES}
#: Every variant the cross-check compares, by name.
VARIANTS = ("generator_A", "generator_B", "generator_C", "scale_0.5", "scale_1", "scale_2", "higher_order")
