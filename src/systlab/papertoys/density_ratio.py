"""The learned density ratios (:mod:`systlab.methods.density_ratio`) checked on the rotating Gaussians, where
every answer is analytic, and compared with the parameterised ("aware") classifier of the paper toys.

Processes: signal (index 0), background (1); one nuisance a = (Z - 1) / 0.5. Moving an event to Z keeps its
random draw: x(Z) = x(1) + s_p (m(Z) - m(1)), so log R_p(x; Z) = s_p x . (m(Z) - m(1)) / 0.7^2 (s = +1 signal,
-1 background) and the yields do not depend on Z.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch

from systlab.methods.common import load_classifier
from systlab.methods.density_ratio import (
    DensityRatioFit,
    DensityRatioModel,
    DensityRatioSettings,
    Move,
    log_ratio_rms,
    polynomial_log_ratio,
    powers,
    torch_outputs,
    train_density_ratio,
)
from systlab.methods.model import Classifier
from systlab.papertoys.evaluate import evaluation_sample
from systlab.papertoys.settings import PaperToySettings
from systlab.papertoys.toys import RotatingGaussiansToy, get_toy
from systlab.papertoys.training import train_toy_model

TOY: RotatingGaussiansToy = get_toy("rotating")  # type: ignore[assignment]
#: +1 for the signal (index 0), -1 for the background (index 1): the direction each class rotates in.
SIGNS = np.array([1.0, -1.0])
#: Z values where the errors are reported (nominal Z = 1 left out: every log R is 0 there).
Z_VALUES = (0.0, 0.5, 1.5, 2.0, 2.5)
#: Expected yields (signal, background): unequal, so the fractions' class-weight correction matters.
YIELDS = (100.0, 1000.0)
#: The aware classifier's Z range [-1, 3] in sigma units of Z: the ratio nets see the same range.
ROTATING_SETTINGS = DensityRatioSettings(
    hidden=(32, 32), epochs=25, batch_size=1024, learning_rate=3e-3, patience=5, draws=4,
    ranges=(((TOY.primary.low - TOY.primary.nominal) / TOY.primary.sigma,
             (TOY.primary.high - TOY.primary.nominal) / TOY.primary.sigma),),
)  # fmt: skip


def alpha_of(z: float | np.ndarray) -> np.ndarray:
    """Z in sigma units of its prior, relative to nominal."""
    return TOY.primary.shift(z)


def z_of(alpha: float | np.ndarray) -> np.ndarray:
    return TOY.primary.nominal + TOY.primary.sigma * np.asarray(alpha, np.float64)


def analytic_log_ratio(x: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """(n, 2) log R_p(x; a) for signal and background; ``alpha`` a scalar or one value per event."""
    shift = TOY.direction(z_of(alpha)) - TOY.direction(TOY.primary.nominal)
    projected = (np.asarray(x, np.float64) * shift).sum(axis=-1) / TOY.width**2
    return projected[:, None] * SIGNS


def analytic_fractions(x: np.ndarray, yields: Sequence[float] = YIELDS) -> np.ndarray:
    """(n, 2) nominal signal and background fractions Y_p p_p(x) / sum_q Y_q p_q(x)."""
    logit = math.log(yields[0] / yields[1]) + TOY.log_likelihood_ratio(x, {"Z": TOY.primary.nominal})
    signal = 1.0 / (1.0 + np.exp(-logit))
    return np.column_stack([signal, 1.0 - signal])


def rotating_events(n_per_class: int, seed: int, yields: Sequence[float] = YIELDS
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Nominal training events: features, process index (signal 0), weight (yield / events)."""
    sample = TOY.sample(n_per_class, np.random.default_rng([seed, 23]), "nominal")
    process = 1 - sample.label
    return sample.features, process, np.asarray(yields, np.float64)[process] / n_per_class


def rotating_move(weight: np.ndarray) -> Move:
    """Move nominal events to a (same random draw, weights unchanged: Z moves no yield)."""

    def move(x: np.ndarray, process: np.ndarray, k: int, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shift = TOY.direction(z_of(alpha)) - TOY.direction(TOY.primary.nominal)
        return x + SIGNS[process][:, None] * shift, weight

    return move


def train_rotating(n_per_class: int = 20_000, settings: DensityRatioSettings = ROTATING_SETTINGS,
                   yields: Sequence[float] = YIELDS) -> DensityRatioFit:  # fmt: skip
    """The unbinned model of the rotating toy on nominal events drawn with ``settings.seed``."""
    x, process, weight = rotating_events(n_per_class, settings.seed, yields)
    return train_density_ratio(x, process, weight, rotating_move(weight), 1, settings, n_processes=2)


class RatioErrors(NamedTuple):
    """RMS errors (rows: ``z``; columns: signal, background) of log R against the analytic one.

    ``learned``: the model's polynomial output (``learned_nominal``: on nominal events, where the yield sum
    of w R is taken); ``floor``: the analytic log R's least-squares polynomial of the model's degree over the
    training range (the best the polynomial family can do); ``null``: R = 1 (log R = 0). ``llr``: the implied
    log p_s(x|Z) / p_b(x|Z) = logit c_s - log(Y_s / Y_b) + log R_s - log R_b. ``fractions``: RMS of c_s - true and of
    its log-odds at nominal. Events: equal numbers of both classes at Z (the data the likelihood sees there).
    """

    z: tuple[float, ...]
    learned: np.ndarray
    learned_nominal: np.ndarray
    floor: np.ndarray
    null: np.ndarray
    llr: np.ndarray
    fraction_rms: float
    fraction_logit_rms: float


def log_odds(fractions: np.ndarray) -> np.ndarray:
    """log c_s - log c_b from both columns (1 - c_s rounds to 0 in float32 deep in the signal region)."""
    f = np.clip(np.asarray(fractions, np.float64), 1e-300, None)
    return np.log(f[:, 0]) - np.log(f[:, 1])


#: Spacing (sigma units) of the grid of a on which :func:`floor_log_ratio` fits the analytic log R.
FLOOR_STEP = 0.05


def floor_log_ratio(x: np.ndarray, alpha: float, bounds: tuple[float, float], degree: int) -> np.ndarray:
    """(n, 2) analytic log R fitted over ``bounds`` by the model's polynomial (no constant term), at ``alpha``."""
    lo, hi = bounds
    grid = np.linspace(lo, hi, int(round((hi - lo) / FLOOR_STEP)) + 1)
    table = np.stack([analytic_log_ratio(x, a) for a in grid], axis=-1)  # (n, 2, J)
    return polynomial_log_ratio(table @ np.linalg.pinv(powers(grid, degree)).T, alpha)


def ratio_errors(model: DensityRatioModel, settings: DensityRatioSettings, n_per_class: int = 20_000, seed: int = 0,
                 z_values: Sequence[float] = Z_VALUES, yields: Sequence[float] = YIELDS) -> RatioErrors:  # fmt: skip
    """Errors of a model trained on the rotating toy (nuisance 0 = Z) on evaluation samples at each Z."""
    rows: dict[str, list] = {name: [] for name in ("learned", "learned_nominal", "floor", "null", "llr")}
    bounds = settings.range_of(0, 1)
    nominal = evaluation_sample(TOY, n_per_class, seed).features
    nominal_coef = torch_outputs(model, nominal)[1][:, :, 0, :]
    for z in z_values:
        x = evaluation_sample(TOY, n_per_class, seed, {"Z": z}).features
        alpha = float(alpha_of(z))
        fractions, coef = torch_outputs(model, x)
        learned = polynomial_log_ratio(coef[:, :, 0, :], alpha)
        true = analytic_log_ratio(x, alpha)
        floor = floor_log_ratio(x, alpha, bounds, settings.degree)
        for name, value in (("learned", learned), ("floor", floor), ("null", 0.0 * true)):
            rows[name].append([log_ratio_rms(value[:, p], true[:, p]) for p in (0, 1)])
        at_nominal = polynomial_log_ratio(nominal_coef, alpha) - analytic_log_ratio(nominal, alpha)
        rows["learned_nominal"].append(np.sqrt(np.mean(at_nominal**2, axis=0)))
        implied = log_odds(fractions) - math.log(yields[0] / yields[1]) + learned[:, 0] - learned[:, 1]
        rows["llr"].append(log_ratio_rms(implied, TOY.log_likelihood_ratio(x, {"Z": z})))
    fractions = torch_outputs(model, nominal)[0]
    true = analytic_fractions(nominal, yields)
    return RatioErrors(tuple(float(z) for z in z_values), **{k: np.array(v) for k, v in rows.items()},
                       fraction_rms=log_ratio_rms(fractions[:, 0], true[:, 0]),
                       fraction_logit_rms=log_ratio_rms(log_odds(fractions), log_odds(true)))  # fmt: skip


def aware_llr_errors(classifier: Classifier, n_per_class: int = 20_000, seed: int = 0,
                     z_values: Sequence[float] = Z_VALUES) -> np.ndarray:  # fmt: skip
    """RMS of the aware classifier's logit f(x; Z) against log p_s(x|Z) / p_b(x|Z), per Z (same events as above)."""
    out = []
    for z in z_values:
        x = evaluation_sample(TOY, n_per_class, seed, {"Z": z}).features
        inputs = np.column_stack([x, np.full(len(x), z)]).astype(np.float32)
        with torch.no_grad():
            logit = classifier.logits(torch.from_numpy(inputs)).numpy()
        out.append(log_ratio_rms(logit, TOY.log_likelihood_ratio(x, {"Z": z})))
    return np.array(out)


class RatioComparison(NamedTuple):
    """The unbinned density ratios against the aware classifier on the rotating toy (same events, net, epochs).

    ``errors``: :class:`RatioErrors` of the unbinned model; ``aware_llr``: the aware classifier's RMS error on
    log p_s / p_b per Z, to set beside ``errors.llr`` (the same target, implied by fractions and ratios).
    """

    errors: RatioErrors
    aware_llr: np.ndarray
    unbinned_seconds: float
    aware_seconds: float
    n_per_class: int


def compare_with_aware(out_dir: str | os.PathLike, n_per_class: int = 20_000,
                       settings: DensityRatioSettings = ROTATING_SETTINGS, seed: int = 0, n_test: int = 20_000,
                       z_values: Sequence[float] = Z_VALUES, yields: Sequence[float] = YIELDS,
                       fitted: DensityRatioFit | None = None) -> RatioComparison:  # fmt: skip
    """Train both on ``n_per_class`` events per class (aware: the paper-toy route, files in ``out_dir``), report.

    ``fitted``: an unbinned model already trained by :func:`train_rotating` with the same arguments (reused)."""
    settings = replace(settings, seed=seed)
    fitted = fitted or train_rotating(n_per_class, settings, yields)
    start = time.perf_counter()
    train_toy_model("rotating", "aware", "r0",
                    PaperToySettings(seed=seed, events=n_per_class, training=settings.training()), out_dir)  # fmt: skip
    aware_seconds = time.perf_counter() - start
    errors = ratio_errors(fitted.model, settings, n_test, seed, z_values, yields)
    aware = aware_llr_errors(load_classifier(out_dir), n_test, seed, z_values)
    return RatioComparison(errors, aware, fitted.seconds, aware_seconds, n_per_class)


class IntervalCheck(NamedTuple):
    """The 68 % interval on mu from the learned unbinned likelihood and from the toy's true one, both profiled over
    Z (Gaussian prior), on the same Asimov-like events at ``true_z``: (mu_hat, lower, upper) each."""

    true_z: float
    learned: tuple[float, float, float]
    exact: tuple[float, float, float]

    @property
    def width_ratio(self) -> float:
        """Learned width / true-likelihood width."""
        return (self.learned[2] - self.learned[1]) / (self.exact[2] - self.exact[1])


def true_twice_nll(mu: float, alpha: float, x: np.ndarray, weight: np.ndarray, yields: Sequence[float] = YIELDS,
                   aux: float = 0.0) -> float:  # fmt: skip
    """-2 ln L of the toy's exact extended likelihood (signal strength ``mu``, Z at ``alpha`` sigma, events ``x`` with
    multiplicities ``weight``) plus the Gaussian constraint around ``aux``."""
    m = TOY.direction(z_of(alpha))
    log_s = -((x - m) ** 2).sum(axis=1) / (2 * TOY.width**2)
    log_b = -((x + m) ** 2).sum(axis=1) / (2 * TOY.width**2)
    density = mu * yields[0] * np.exp(log_s) + yields[1] * np.exp(log_b)
    return 2.0 * (mu * yields[0] + yields[1] - float((weight * np.log(density)).sum())) + (alpha - aux) ** 2


def true_profiled(mu: float, x: np.ndarray, weight: np.ndarray, bounds: tuple[float, float],
                  yields: Sequence[float] = YIELDS) -> float:  # fmt: skip
    """:func:`true_twice_nll` at ``mu``, minimised over Z's ``bounds`` (sigma units)."""
    import scipy.optimize

    return scipy.optimize.minimize_scalar(lambda a: true_twice_nll(mu, a, x, weight, yields), bounds=bounds,
                                          method="bounded", options={"xatol": 1e-7}).fun  # fmt: skip


def true_interval(x: np.ndarray, weight: np.ndarray, bounds: tuple[float, float], yields: Sequence[float],
                  mu_range: tuple[float, float]) -> tuple[float, float, float]:  # fmt: skip
    """(mu-hat, lower, upper) of the toy's exact likelihood profiled over Z: the 68 % crossings inside ``mu_range``."""
    import scipy.optimize

    def profiled(mu: float) -> float:
        return true_profiled(mu, x, weight, bounds, yields)

    best = scipy.optimize.minimize_scalar(profiled, bounds=mu_range, method="bounded", options={"xatol": 1e-7})
    ends = [scipy.optimize.brentq(lambda m: profiled(m) - best.fun - 1.0, lo, hi, xtol=1e-7)
            for lo, hi in ((mu_range[0], best.x), (best.x, mu_range[1]))]  # fmt: skip
    return float(best.x), float(ends[0]), float(ends[1])


def interval_check(model: DensityRatioModel, settings: DensityRatioSettings = ROTATING_SETTINGS, true_z: float = 2.0,
                   n_per_class: int = 20_000, seed: int = 0, yields: Sequence[float] = YIELDS,
                   mu_range: tuple[float, float] = (0.05, 3.0),
                   template_per_class: int = 20_000) -> IntervalCheck:  # fmt: skip
    """The learned model through systlab's unbinned likelihood (its yields from its own density over a nominal
    template sample of ``template_per_class`` events per class, as on H→ττ) against the true likelihood, on events
    at ``true_z`` weighted to the yields."""
    from systlab.infer.intervals import profile_intervals
    from systlab.infer.unbinned import expectation
    from systlab.likelihood.unbinned import EventTables, UnbinnedBatch
    from systlab.likelihood.unbinned_inputs import EventSet, unbinned_model

    def weighted(point: dict[str, float], stream: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sample = evaluation_sample(TOY, n, seed + stream, point)
        process = 1 - sample.label
        return sample.features, process, np.asarray(yields, np.float64)[process] / n

    x_t, process_t, weight_t = weighted({}, 1, template_per_class)
    fractions, coef = torch_outputs(model, x_t)
    template = EventSet(EventTables(fractions.astype(float), coef.astype(float)), weight_t, process_t, 1 - process_t)
    bounds = settings.range_of(0, 1)
    unbinned = unbinned_model(template, ("signal", "background"), ("Z",), (bounds,), {}, None, mu_range)
    x, _, weight = weighted({"Z": true_z}, 2, n_per_class)
    fractions, coef = torch_outputs(model, x)
    data = expectation(EventTables(fractions.astype(float), coef.astype(float)), weight, unbinned.auxdata)
    found = profile_intervals(UnbinnedBatch(unbinned, data), unbinned.init)
    learned = (float(found.mu_hat[0]), float(found.lo[0]), float(found.hi[0]))
    return IntervalCheck(float(true_z), learned, true_interval(x, weight, bounds, yields, mu_range))
