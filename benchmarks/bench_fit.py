"""Fitting: one ``systlab.infer.fit.fit_dataset`` (MLE + 50-point profile scan + 68 % interval) and 1000 toys.

Workspace: ``systlab.likelihood.workspace.build_workspace`` on synthetic but realistic templates -- 10 score
bins, 4 samples (H->tautau signal; Z->tautau, ttbar, dibosons with the FAIR-Universe yields per
10 fb^-1), shape NPs tes / jes (asymmetric up/down) and soft_met (one-sided, mirrored), normsys
ttbar_xsec / diboson_xsec / bkg_norm, lumi, staterror from MC-like sumw2. 19 parameters.

Figures:
* ``fit_dataset`` wall time ÷ one MLE (``pyhf.infer.mle.fit`` numpy + MINUIT, as systlab sets it):
  the cost of fit + scan + interval in units of one MLE, interleaved.
* Toys: N toys sampled with ``model.make_pdf(pars).sample`` (main AND auxiliary data fluctuate),
  fitted (a) naively, one ``pyhf.infer.mle.fit`` per toy (numpy + MINUIT, systlab's settings), and
  (b) by ``benchmarks/fit_batched.py``: all toys in one batched pyhf model on the PyTorch backend,
  autograd gradients/Hessians, lock-step damped Newton, MINUIT fallback for stragglers.
  ratio = naive seconds per toy / batched seconds per toy; target >= 5. Correctness: on the toys
  both fitted, max |mu_hat difference| and the -2lnL difference (batched - naive; <= 0 means the
  batched minimum is at least as deep).
"""

from __future__ import annotations

import time
import warnings

import hist
import numpy as np
import pyhf

try:
    from benchmarks.common import Figure, check, interleave, main_for, median
    from benchmarks.fit_batched import fit_batched
except ImportError:
    from common import Figure, check, interleave, main_for, median
    from fit_batched import fit_batched

from collections.abc import Sequence
from typing import NamedTuple

from systlab.infer.fit import asimov_counts, fit_dataset
from systlab.likelihood.binned import Minimum, quiet_pyhf_failures, use_minuit
from systlab.likelihood.workspace import build_workspace, workspace_model
from systlab.templates.histograms import NOMINAL, Templates, shape_variation

# The naive contender: one pyhf.infer.mle.fit (MINUIT) per toy, as a user without systlab would write it.


class Problem(NamedTuple):
    """A model, its data (main + auxiliary) and the fit settings shared by every minimisation."""

    model: pyhf.pdf.Model
    data: np.ndarray
    init: np.ndarray
    bounds: list[tuple[float, float]]
    fixed: list[bool]


def make_problem(
    workspace_spec: dict, observed_counts: Sequence[float], mu_range: tuple[float, float]
) -> Problem:
    """The model of ``workspace_spec`` with ``observed_counts`` as main data and μ bounded to ``mu_range``."""
    model = workspace_model(workspace_spec)
    observed = np.asarray(observed_counts, dtype=float)
    if observed.shape != (model.config.nmaindata,):
        raise ValueError(
            f"observed counts have shape {observed.shape}, model expects ({model.config.nmaindata},)"
        )
    lo, hi = map(float, mu_range)
    if not lo < hi:
        raise ValueError(f"mu_range {mu_range} is empty")
    poi = model.config.poi_index
    bounds = [tuple(map(float, b)) for b in model.config.suggested_bounds()]
    bounds[poi] = (lo, hi)
    init = np.asarray(model.config.suggested_init(), dtype=float)
    init[poi] = min(max(init[poi], lo), hi)
    data = np.concatenate([observed, np.asarray(model.config.auxdata, dtype=float)])
    return Problem(model, data, init, bounds, list(model.config.suggested_fixed()))


def twice_nll_at(problem: Problem, pars: np.ndarray) -> float:
    """−2lnL at ``pars``; NaN where the model is undefined (a negative expected count)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        value = float(-2.0 * problem.model.logpdf(pars, problem.data)[0])
    return value if np.isfinite(value) else float("nan")


def minimise_once(problem: Problem, start: np.ndarray, fixed: list[bool], strategy: int) -> Minimum:
    """One MINUIT minimisation of −2lnL from ``start``; a failed one returns MINUIT's last state, flagged."""
    if all(fixed):  # nothing to float (e.g. a scan point of a model without NPs)
        return Minimum(start.copy(), np.zeros_like(start), twice_nll_at(problem, start), True)
    try:
        with quiet_pyhf_failures(), np.errstate(invalid="ignore", divide="ignore"):
            pars, twice_nll = pyhf.infer.mle.fit(
                problem.data, problem.model, init_pars=start.tolist(), par_bounds=problem.bounds,
                fixed_params=fixed, return_uncertainties=True, return_fitted_val=True, strategy=strategy,
            )  # fmt: skip
    except pyhf.exceptions.FailedMinimization as failure:
        minuit = failure.result.minuit
        return Minimum(np.asarray(minuit.values), np.asarray(minuit.errors), float(minuit.fval), False)
    return Minimum(np.asarray(pars[:, 0]), np.asarray(pars[:, 1]), float(twice_nll), True)


BINS = 10
SIGNAL = "htautau"
BACKGROUNDS = ("ztautau", "ttbar", "diboson")
#: expected yield, Beta(a, b) score shape, mean MC event weight (sets the staterror)
SAMPLES = {
    "htautau": (1015.0, (5.0, 1.6), 0.02),
    "ztautau": (1002395.0, (1.3, 7.0), 3.0),
    "ttbar": (44190.0, (2.2, 3.0), 0.4),
    "diboson": (3783.0, (2.0, 3.5), 0.1),
}
SHAPE_NPS = {"tes": False, "jes": False, "soft_met": True}  # name -> one-sided
NORM_NPS = {
    "ttbar_xsec": (["ttbar"], 0.02),
    "diboson_xsec": (["diboson"], 0.25),
    "bkg_norm": (list(BACKGROUNDS), 0.001),
}
MU_RANGE = (-3.0, 5.0)


def _beta_bins(a: float, b: float) -> np.ndarray:
    from scipy.stats import beta

    cdf = beta.cdf(np.linspace(0.0, 1.0, BINS + 1), a, b)
    return np.diff(cdf)


def synthetic_templates() -> Templates:
    """Templates of 4 processes x (nominal, tes +-1, jes +-1, soft_met +1) in 10 score bins."""
    variations = [NOMINAL] + [shape_variation(n, k) for n, one in SHAPE_NPS.items() for k in ((1,) if one else (1, -1))]
    h = hist.Hist(  # built here, not with templates.empty_hist (its signature is still moving)
        hist.axis.StrCategory(sorted(SAMPLES), name="process"),
        hist.axis.StrCategory(sorted(variations), name="variation"),
        hist.axis.Regular(BINS, 0.0, 1.0, name="score"),
        storage=hist.storage.Weight(),
    )
    view = h.view(flow=False)
    centres = (np.arange(BINS) + 0.5) / BINS - 0.5  # -0.45 .. 0.45
    # per NP and direction: relative shape change, slope in the score (asymmetric up/down)
    shifts = {("tes", 1): 0.12, ("tes", -1): -0.09, ("jes", 1): 0.05, ("jes", -1): -0.06, ("soft_met", 1): 0.04}
    for i, process in enumerate(h.axes["process"]):
        yield_, (a, b), w = SAMPLES[process]
        nominal = yield_ * np.clip(_beta_bins(a, b), 1e-5, None)
        for j, variation in enumerate(h.axes["variation"]):
            counts = nominal.copy()
            for (name, k), slope in shifts.items():
                if variation == shape_variation(name, k):
                    counts = nominal * (1.0 + slope * centres * 2.0 + 0.01 * k)
            view.value[i, j] = counts
            view.variance[i, j] = counts * w
    return Templates(edges=h.axes["score"].edges.copy(), splits={"template": h, "toy": h.copy()}, signal=(SIGNAL,))


def workspace_spec() -> dict:
    return build_workspace(synthetic_templates(), SIGNAL, list(BACKGROUNDS), SHAPE_NPS, NORM_NPS, 0.02)


def sample_toys(spec: dict, n: int, seed: int) -> np.ndarray:
    """n toys (main + auxiliary data) from the model at its suggested init (mu = 1, NPs nominal)."""
    use_minuit()
    problem = make_problem(spec, asimov_counts(spec), MU_RANGE)
    np.random.seed(seed)  # pyhf's numpy backend samples from numpy's global RNG
    pdf = problem.model.make_pdf(pyhf.tensorlib.astensor(problem.init))
    return np.asarray(pdf.sample((n,)), dtype=float)


def naive_toys(spec: dict, toys: np.ndarray, failed: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One pyhf.infer.mle.fit (numpy + MINUIT, systlab's tolerance) per toy; returns pars and -2lnL.

    A FailedMinimization (MINUIT's "invalid minimum", e.g. EDM above goal) keeps MINUIT's last
    point and is counted in ``failed`` (as systlab.infer.fit.minimise_once does before its retries).
    """
    use_minuit()
    problem = make_problem(spec, asimov_counts(spec), MU_RANGE)
    pars, twice = [], []
    for k, toy in enumerate(toys):
        with quiet_pyhf_failures(), warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                p, v = pyhf.infer.mle.fit(toy, problem.model, init_pars=problem.init.tolist(),
                                          par_bounds=problem.bounds, return_fitted_val=True)  # fmt: skip
            except pyhf.exceptions.FailedMinimization as exc:
                minuit = exc.result.minuit
                p, v = np.asarray(minuit.values), float(minuit.fval)
                if failed is not None:
                    failed.append(k)
        pars.append(np.asarray(p))
        twice.append(float(v))
    return np.array(pars), np.array(twice)


def batched_toys(spec: dict, toys: np.ndarray):
    use_minuit()
    problem = make_problem(spec, asimov_counts(spec), MU_RANGE)

    def fallback(i: int):
        use_minuit()
        p, v = naive_toys(spec, toys[i : i + 1])
        return p[0], v[0]

    try:
        return fit_batched(spec, toys, problem.bounds, problem.init, fallback=fallback)
    finally:
        use_minuit()


def run(quick: bool = False) -> list[Figure]:
    spec = workspace_spec()
    use_minuit()
    asimov = asimov_counts(spec)
    problem = make_problem(spec, asimov, MU_RANGE)
    scan_points = 50
    figures = []
    holder = {}

    def one_fit():
        holder["fit"] = fit_dataset(spec, asimov, MU_RANGE, scan_points, "asimov")

    def one_mle():
        use_minuit()
        return minimise_once(problem, problem.init, problem.fixed, 1)

    times = interleave({"fit_dataset": one_fit, "one_mle": one_mle}, 2 if quick else 3)
    t_fit, t_mle = median(times["fit_dataset"]), median(times["one_mle"])
    res = holder["fit"]
    figures.append(
        Figure(
            "fit", f"fit_dataset (MLE+{scan_points}-pt scan+interval) in MLEs", t_fit / t_mle,
            "fit_dataset time / one MLE time", seconds={"fit_dataset": t_fit, "one_mle": t_mle},
            extra={"n_pars": problem.model.config.npars, "mu_hat": res.mu_hat, "interval_68": list(res.interval_68),
                   "converged": res.converged, "notes": list(res.notes)},
        )
    )  # fmt: skip

    n_toys = 1000
    toys = sample_toys(spec, n_toys, seed=123)
    rounds = 2 if quick else 3
    naive_per_round = 30 if quick else n_toys // rounds
    t_naive, t_batched, naive_pars, naive_nll, batched, failed = [], [], [], [], None, []
    for r in range(rounds):  # alternate: batched on all toys, then a fresh slice of toys naively
        t0 = time.perf_counter()
        batched = batched_toys(spec, toys)
        t_batched.append((time.perf_counter() - t0) / n_toys)
        part = toys[r * naive_per_round : (r + 1) * naive_per_round]
        t0 = time.perf_counter()
        fails: list[int] = []
        p, v = naive_toys(spec, part, fails)
        failed += [r * naive_per_round + k for k in fails]
        t_naive.append((time.perf_counter() - t0) / len(part))
        naive_pars.append(p)
        naive_nll.append(v)
    naive_pars, naive_nll = np.concatenate(naive_pars), np.concatenate(naive_nll)
    m = len(naive_pars)
    poi = problem.model.config.poi_index
    ok = np.setdiff1d(np.arange(m), failed)  # compare where MINUIT reported a valid minimum
    dmu = np.abs(batched.pars[ok, poi] - naive_pars[ok, poi])
    dnll = batched.twice_nll[ok] - naive_nll[ok]
    dnll_failed = batched.twice_nll[failed] - naive_nll[failed] if failed else np.zeros(0)
    per_naive, per_batched = median(t_naive), median(t_batched)
    ratio = per_naive / per_batched
    figures.append(
        Figure(
            "fit", f"toys: naive mle.fit loop / batched ({n_toys} toys)", ratio,
            "naive s/toy / batched s/toy", ">= 5", check(ratio, ">=", 5.0),
            {"naive_per_toy": per_naive, "batched_per_toy": per_batched,
             "naive_1000_toys_est": per_naive * n_toys, "batched_1000_toys": per_batched * n_toys},
            extra={"toys_compared": int(len(ok)), "naive_minuit_failures": len(failed),
                   "dtwice_nll_on_naive_failures": dnll_failed.tolist(),
                   "max_abs_dmu": float(dmu.max()), "median_abs_dmu": float(np.median(dmu)),
                   "max_dtwice_nll": float(dnll.max()), "min_dtwice_nll": float(dnll.min()),
                   "newton_iterations": batched.iterations, "minuit_fallbacks": batched.fallback,
                   "mu_hat_std_naive": float(np.std(naive_pars[ok, poi]))},
        )
    )  # fmt: skip
    return figures


if __name__ == "__main__":
    main_for(run)
