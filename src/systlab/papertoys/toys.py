"""The three published toys as vectorised generators with their nuisances and analytic densities.

* ``pivot``: Louppe, Kagan & Cranmer (arXiv:1611.01046) - x|y=0 ~ N((0,0), [[1,-.5],[-.5,1]]),
  x|y=1,z ~ N((1,1+z), I), z ~ N(0, 1): the nuisance moves the signal only.
* ``rotating``: Ghosh, Nachman & Whiteson (arXiv:2105.08742) - signal N((cos t, sin t), 0.7^2 I),
  background N(-(cos t, sin t), 0.7^2 I), t = Z pi/4, nominal Z = 1, prior Z ~ N(1, 0.5).
* ``inferno``: de Castro & Dorigo (arXiv:1806.04743) - f_b = N((2+r, 0), diag(5, 9)) x Exp(lambda),
  f_s = N((1, 1), I) x Exp(2), s = 50, b = 1000, r ~ N(0, 0.4), lambda ~ N(3, 1) (benchmark 3).

Every event carries its own nuisance values, so one call generates nominal, prior-drawn or gridded
samples alike. ``log_likelihood_ratio`` is log p_s(x | nuisances) - log p_b(x | nuisances).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

#: How a sample sets each nuisance per event (see :func:`draw_nuisances`).
DRAWS = ("nominal", "prior", "uniform", "fixed")


@dataclass(frozen=True)
class Nuisance:
    """A toy nuisance: nominal value, Gaussian prior width, the range an aware model is trained on, physical floor."""

    name: str
    nominal: float
    sigma: float
    low: float
    high: float
    floor: float = -math.inf

    def shift(self, value: np.ndarray | float) -> np.ndarray:
        """Value in units of the prior width relative to nominal (what pivot and DisCo decorrelate from)."""
        return (np.asarray(value, np.float64) - self.nominal) / self.sigma


class ToySample(NamedTuple):
    """Events of a toy: features (n, d), 0/1 labels, weights (expected yield / events), nuisance values per event."""

    features: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    nuisances: dict[str, np.ndarray]


def gaussian_logpdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(x | mean, cov) per row of x (n, d); ``mean`` (d,) or (n, d), ``cov`` one (d, d) matrix."""
    diff = np.asarray(x, np.float64) - mean
    inverse = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    quad = np.einsum("ni,ij,nj->n", diff, inverse, diff)
    return -0.5 * (quad + logdet + x.shape[1] * math.log(2 * math.pi))


class Toy(ABC):
    """A binary problem with nuisances: generate events at given nuisance values, and its density ratio."""

    name: str
    features: tuple[str, ...]
    nuisances: tuple[Nuisance, ...]
    #: Classes (0 background, 1 signal) whose density depends on the primary nuisance: the events an
    #: adversary or a DisCo penalty must look at.
    affected_classes: tuple[int, ...]
    #: Expected yields (signal, background) giving the event weights; None = unit weights.
    yields: tuple[float, float] | None = None

    @property
    def primary(self) -> Nuisance:
        """The nuisance that pivot and DisCo decorrelate from and the oracles are trained at."""
        return self.nuisances[0]

    def nuisance(self, name: str) -> Nuisance:
        for nuisance in self.nuisances:
            if nuisance.name == name:
                return nuisance
        raise KeyError(f"toy {self.name!r} has no nuisance {name!r}; it has {[n.name for n in self.nuisances]}")

    @abstractmethod
    def generate_features(self, label: np.ndarray, values: Mapping[str, np.ndarray], rng: np.random.Generator
                          ) -> np.ndarray:  # fmt: skip
        """Features (n, d) for events with labels ``label`` and per-event nuisance ``values``."""

    @abstractmethod
    def log_likelihood_ratio(self, x: np.ndarray, values: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """log p_s(x | nuisances) - log p_b(x | nuisances) per event."""

    def sample(self, n_per_class: int, rng: np.random.Generator, draw: str = "nominal",
               point: Mapping[str, float] | None = None) -> ToySample:  # fmt: skip
        """``n_per_class`` signal then background events with nuisances set by ``draw`` (see draw_nuisances)."""
        label = np.repeat(np.array([1, 0], dtype=np.int64), n_per_class)
        values = draw_nuisances(self, draw, len(label), rng, point)
        features = self.generate_features(label, values, rng)
        weight = np.ones(len(label))
        if self.yields is not None:
            weight = np.where(label == 1, self.yields[0], self.yields[1]) / n_per_class
        return ToySample(features, label, weight, values)


def draw_nuisances(toy: Toy, draw: str, n: int, rng: np.random.Generator,
                   point: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Per-event nuisance values: ``nominal``, ``prior`` (Gaussian, clipped at the floor), ``uniform`` over the
    aware range, or ``fixed`` at ``point`` (nuisances missing from ``point`` stay nominal)."""
    if draw not in DRAWS:
        raise ValueError(f"unknown nuisance draw {draw!r}; known: {DRAWS}")
    point = dict(point or {})
    unknown = sorted(set(point) - {n.name for n in toy.nuisances})
    if unknown:
        raise ValueError(f"toy {toy.name!r} has no nuisance(s) {unknown}")
    values = {}
    for nuisance in toy.nuisances:
        if draw == "prior":
            value = np.maximum(rng.normal(nuisance.nominal, nuisance.sigma, n), nuisance.floor)
        elif draw == "uniform":
            value = rng.uniform(nuisance.low, nuisance.high, n)
        else:
            fixed = point.get(nuisance.name, nuisance.nominal) if draw == "fixed" else nuisance.nominal
            value = np.full(n, float(fixed))
        values[nuisance.name] = value
    return values


class PivotToy(Toy):
    """Learning-to-pivot toy: the nuisance z shifts the signal's second coordinate."""

    name = "pivot"
    features = ("x1", "x2")
    nuisances = (Nuisance("z", 0.0, 1.0, -2.5, 2.5),)
    affected_classes = (1,)
    background_cov = np.array([[1.0, -0.5], [-0.5, 1.0]])

    def generate_features(self, label, values, rng):
        n = len(label)
        background = rng.multivariate_normal([0.0, 0.0], self.background_cov, n)
        signal = rng.standard_normal((n, 2)) + np.stack([np.ones(n), 1.0 + values["z"]], axis=1)
        return np.where((label == 1)[:, None], signal, background)

    def log_likelihood_ratio(self, x, values):
        z = np.broadcast_to(np.asarray(values["z"], np.float64), (len(x),))
        signal_mean = np.stack([np.ones(len(x)), 1.0 + z], axis=1)
        return gaussian_logpdf(x, signal_mean, np.eye(2)) - gaussian_logpdf(x, np.zeros(2), self.background_cov)


class RotatingGaussiansToy(Toy):
    """Rotating Gaussians: both classes rotate with t = Z pi/4; the Bayes boundary is the line x . m(t) = 0."""

    name = "rotating"
    features = ("x1", "x2")
    nuisances = (Nuisance("Z", 1.0, 0.5, -1.0, 3.0),)
    affected_classes = (0, 1)
    width = 0.7

    @staticmethod
    def direction(z: np.ndarray | float) -> np.ndarray:
        """Unit vector(s) (cos t, sin t), t = Z pi/4: the signal mean (background at minus it)."""
        t = np.asarray(z, np.float64) * math.pi / 4
        return np.stack([np.cos(t), np.sin(t)], axis=-1)

    def generate_features(self, label, values, rng):
        sign = np.where(label == 1, 1.0, -1.0)[:, None]
        return sign * self.direction(values["Z"]) + self.width * rng.standard_normal((len(label), 2))

    def log_likelihood_ratio(self, x, values):
        m = self.direction(values["Z"])
        return 2.0 * (np.asarray(x, np.float64) * m).sum(axis=-1) / self.width**2


class InfernoToy(Toy):
    """INFERNO 3-D: a 2-D Gaussian times an exponential; r shifts the background mean, lambda its decay rate."""

    name = "inferno"
    features = ("x1", "x2", "x3")
    nuisances = (Nuisance("r", 0.0, 0.4, -1.2, 1.2), Nuisance("lam", 3.0, 1.0, 1.5, 4.5, floor=0.5))
    affected_classes = (0,)
    yields = (50.0, 1000.0)
    background_cov = np.diag([5.0, 9.0])
    signal_rate = 2.0

    def generate_features(self, label, values, rng):
        n = len(label)
        background = rng.multivariate_normal([0.0, 0.0], self.background_cov, n) + np.stack(
            [2.0 + values["r"], np.zeros(n)], axis=1
        )
        signal = rng.standard_normal((n, 2)) + 1.0
        rate = np.where(label == 1, self.signal_rate, values["lam"])
        x3 = rng.exponential(1.0, n) / rate
        return np.column_stack([np.where((label == 1)[:, None], signal, background), x3])

    def log_likelihood_ratio(self, x, values):
        n = len(x)
        r = np.broadcast_to(np.asarray(values["r"], np.float64), (n,))
        lam = np.broadcast_to(np.asarray(values["lam"], np.float64), (n,))
        rate = self.signal_rate
        signal = gaussian_logpdf(x[:, :2], np.ones(2), np.eye(2)) + math.log(rate) - rate * x[:, 2]
        background_mean = np.stack([2.0 + r, np.zeros(n)], axis=1)
        background = gaussian_logpdf(x[:, :2], background_mean, self.background_cov) + np.log(lam) - lam * x[:, 2]
        return signal - background


TOYS: dict[str, Toy] = {toy.name: toy for toy in (PivotToy(), RotatingGaussiansToy(), InfernoToy())}


def get_toy(name: str) -> Toy:
    """The toy called ``name``."""
    try:
        return TOYS[name]
    except KeyError:
        raise ValueError(f"unknown paper toy {name!r}; known: {sorted(TOYS)}") from None
