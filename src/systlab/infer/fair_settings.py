"""The ``fair_protocol:`` config section as a named type, light enough for the DAG build (no numerical imports)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

#: The prior settings the NP truths of a pseudo-experiment can be drawn from: HiggsML 0.1.5's own
#: (``generate_pseudo_exp_data``) and this config's (``systematics.shape``, ``systematics.norm``, lumi).
PRIORS = ("challenge", "systlab")


class Settings(NamedTuple):
    """``num_of_sets`` sets of ``pseudo_experiments`` each, μ_true of a set from U(``mu_range``), per prior setting;
    ``models`` the models evaluated (None: every compared model)."""

    sets: int = 4
    pseudo_experiments: int = 100
    priors: tuple[str, ...] = PRIORS
    mu_range: tuple[float, float] = (0.1, 3.0)
    models: tuple[str, ...] | None = None

    @property
    def n(self) -> int:
        """Pseudo-experiments per prior setting and replica."""
        return self.sets * self.pseudo_experiments


def settings(raw: Mapping[str, Any] | None) -> Settings:
    """The typed section; the defaults (4 sets × 100, both priors, μ in [0.1, 3]) for what it does not set."""
    raw, default = raw or {}, Settings()
    lo, hi = (float(x) for x in raw.get("mu_range", default.mu_range))
    models = raw.get("models")
    return Settings(int(raw.get("sets", default.sets)), int(raw.get("pseudo_experiments", default.pseudo_experiments)),
                    tuple(raw.get("priors", default.priors)), (lo, hi), None if models is None else tuple(models))
