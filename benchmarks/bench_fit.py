"""Fitting: one ``systlab.infer.fit.fit_dataset`` (MLE + 50-point profile scan + 68 % interval) and 1000 toys
with 68 % intervals, both on systlab's own engines.

Workspace (both figures): ``systlab.likelihood.workspace.build_workspace`` on this script's synthetic but
realistic templates -- 10 score bins, 4 samples (H->tautau signal; Z->tautau, ttbar, dibosons with the
FAIR-Universe yields per 10 fb^-1), shape NPs tes / jes (asymmetric up/down) and soft_met (one-sided,
mirrored), normsys ttbar_xsec / diboson_xsec / bkg_norm, lumi, staterror from MC-like sumw2 (10 bins): 18
parameters, the structure of ``tests/models.py::default_like_spec`` (the tests' variant, with smaller yields).
``--quick`` uses the same workspace with fewer toys.

Figures:
* ``fit_dataset`` wall time ÷ one MLE (``pyhf.infer.mle.fit`` numpy + MINUIT, as systlab sets it):
  the cost of fit + scan + interval in units of one MLE, interleaved.
* Toys (issue #19: "1,000 toys with 68 % intervals on one fixed-classifier replica of the default problem:
  <= 10 s on one core"): toys of the workspace's own expectation at mu = 1 (``model_expectation``), Poisson
  main counts and Gaussian auxiliary data (``fluctuate_aux=True``), seed 123, mu range (-3, 5). Contenders:
  (A) per-toy: the loop ``run_toys`` ran before the batch engine -- per toy ``lik.set_observed(counts, aux)``,
      ``profile_interval(lik, start=warm)`` and ``q_at(lik, result.best, mu_true)`` (warm = the MLE of the
      expected counts, built once and not timed); timed on a different slice of the same toys each round
      and scaled per toy;
  (B) batch: ``run_toys(spec, expected, 1.0, 0, N, 123, mu_range, fluctuate_aux=True)`` on all N toys
      (``BatchedLikelihood`` + ``profile_intervals``, per-toy fallback counted in ``n_fallback``), timed whole
      (Likelihood construction, warm MLE and toy draws included).
  Alternated A, B / B, A per round; medians. Both run in ONE child process started with
  OMP_NUM_THREADS = MKL_NUM_THREADS = OPENBLAS_NUM_THREADS = 1 in its environment (so set before it imports
  numpy; torch is not imported by either contender): the "one core" of the issue.
  Figure 1: per-toy s/toy ÷ batch s/toy (info). Figure 2: 10 s ÷ batch seconds per 1000 toys (target >= 1).
  Agreement on the per-toy slice (toys both converged): max |d mu_hat|, |d lo|, |d hi|, |d q_mu(mu_true)|.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import hist
import numpy as np
import pyhf

try:
    from benchmarks.common import ONE_THREAD, Figure, check, interleave, main_for, median, time_call
except ImportError:
    from common import ONE_THREAD, Figure, check, interleave, main_for, median, time_call

from systlab.infer.fit import asimov_counts, fit_dataset, profile_interval
from systlab.infer.toys import aux_widths, model_expectation, q_at, run_toys, toy_auxdata, toy_counts
from systlab.likelihood.binned import Likelihood, Minimum, quiet_pyhf_failures, use_minuit
from systlab.likelihood.workspace import build_workspace, workspace_model
from systlab.templates.histograms import NOMINAL, Templates, shape_variation

TOY_SEED = 123
MU_TRUE = 1.0
TARGET_SECONDS_PER_1000 = 10.0


class Problem(NamedTuple):
    """A model, its data (main + auxiliary) and the fit settings shared by every minimisation."""

    model: pyhf.pdf.Model
    data: np.ndarray
    init: np.ndarray
    bounds: list[tuple[float, float]]
    fixed: list[bool]


def make_problem(workspace_spec: dict, observed_counts: Sequence[float], mu_range: tuple[float, float]) -> Problem:
    """The model of ``workspace_spec`` with ``observed_counts`` as main data and μ bounded to ``mu_range``."""
    model = workspace_model(workspace_spec)
    observed = np.asarray(observed_counts, dtype=float)
    if observed.shape != (model.config.nmaindata,):
        raise ValueError(f"observed counts have shape {observed.shape}, model expects ({model.config.nmaindata},)")
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


class PerToy(NamedTuple):
    """Results of the per-toy contender on toys ``indices``."""

    indices: np.ndarray
    mu_hat: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    q: np.ndarray
    converged: np.ndarray


def per_toy_setup(spec: dict, expected: np.ndarray) -> tuple[Likelihood, np.ndarray, np.ndarray, np.ndarray]:
    """The likelihood, warm start, aux centre and aux widths the old ``run_toys`` built once per chunk."""
    lik = Likelihood(spec, expected, MU_RANGE)
    warm = lik.mle(hesse=False).pars
    return lik, warm, lik.auxdata, aux_widths(lik)


def per_toy(setup, expected: np.ndarray, indices: Sequence[int]) -> PerToy:
    """Contender A: toys ``indices`` one at a time, exactly the loop of ``run_toys`` before the batch engine."""
    lik, warm, centre, widths = setup
    rows = []
    for index in indices:
        aux = toy_auxdata(centre, widths, TOY_SEED, index)
        lik.set_observed(toy_counts(expected, TOY_SEED, index), aux)
        result = profile_interval(lik, start=warm)
        q = q_at(lik, result.best, MU_TRUE)
        rows.append((result.mu_hat, *result.interval_68, q, result.converged))
    a = np.array(rows, dtype=float).reshape(-1, 5)
    return PerToy(np.asarray(indices), a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4].astype(bool))


def toys_child(n_toys: int, rounds: int, per_round: int) -> dict:
    """Both toy contenders, alternated, in this (single-threaded) process; a JSON-ready summary."""
    spec = workspace_spec()
    expected = model_expectation(spec, MU_TRUE)
    n_pars = workspace_model(spec).config.npars
    # warm-up (imports, pyhf caches): a few toys through each contender, not kept
    run_toys(spec, expected, MU_TRUE, 0, 10, TOY_SEED, MU_RANGE, progress_every=0, fluctuate_aux=True)
    setup = per_toy_setup(spec, expected)
    per_toy(setup, expected, [0])
    t_batch, t_per, t_batch_inner, fallbacks, chunk, singles = [], [], [], [], None, []
    for r in range(rounds):
        part = range(r * per_round, (r + 1) * per_round)

        def batch():
            return run_toys(spec, expected, MU_TRUE, 0, n_toys, TOY_SEED, MU_RANGE, progress_every=0,
                            fluctuate_aux=True)  # fmt: skip

        def one_by_one(part=part):
            return per_toy(setup, expected, part)

        for name in ("per_toy", "batch") if r % 2 == 0 else ("batch", "per_toy"):
            if name == "batch":
                seconds, chunk = time_call(batch)
                t_batch.append(seconds / n_toys)
                t_batch_inner.append(chunk.seconds / n_toys)
                fallbacks.append(chunk.n_fallback)
            else:
                seconds, got = time_call(one_by_one)
                t_per.append(seconds / len(part))
                singles.append(got)
    a = PerToy(*(np.concatenate(f) for f in zip(*singles, strict=True)))
    idx = a.indices
    both = a.converged & chunk.converged[idx]
    with np.errstate(invalid="ignore"):
        diff = {k: np.abs(getattr(a, k)[both] - getattr(chunk, k)[idx][both]) for k in ("mu_hat", "lo", "hi")}
        diff["q"] = np.abs(a.q[both] - chunk.q_mu_true[idx][both])
    batch_width = chunk.hi - chunk.lo
    covered = (chunk.lo <= MU_TRUE) & (MU_TRUE <= chunk.hi)
    return {
        "n_toys": n_toys, "n_pars": int(n_pars), "rounds": rounds, "per_toy_toys": int(idx.size),
        "per_toy_s_per_toy": t_per, "batch_s_per_toy": t_batch, "batch_chunk_seconds_per_toy": t_batch_inner,
        "n_fallback": fallbacks, "batch_not_converged": int((~chunk.converged).sum()),
        "per_toy_not_converged": int((~a.converged).sum()), "toys_compared": int(both.sum()),
        **{f"max_abs_d{k}": float(np.nanmax(v)) if v.size else float("nan") for k, v in diff.items()},
        "batch_coverage": float(np.mean(covered[chunk.converged])),
        "batch_mean_width": float(np.mean(batch_width[chunk.converged])),
        "batch_n_fits_mean": float(np.mean(chunk.n_fits)),
        "threads": {k: os.environ.get(k) for k in ONE_THREAD}, "torch_imported": "torch" in sys.modules,
    }  # fmt: skip


def toys_in_child(n_toys: int, rounds: int, per_round: int) -> dict:
    """Run :func:`toys_child` in a fresh interpreter whose environment pins OMP/MKL/OpenBLAS to one thread."""
    env = {**os.environ, **ONE_THREAD}
    args = json.dumps({"n_toys": n_toys, "rounds": rounds, "per_round": per_round})
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--toys-child", args],
                          env=env, capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"toys child process failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


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

    n_toys, rounds, per_round = (200, 2, 15) if quick else (1000, 3, 40)
    got = toys_in_child(n_toys, rounds, per_round)
    per, batch = median(got["per_toy_s_per_toy"]), median(got["batch_s_per_toy"])
    batch_1000 = batch * 1000
    setting = "1 thread: OMP/MKL/OPENBLAS_NUM_THREADS=1 in a child process's env, torch not imported"
    fallback = ", ".join(f"{k}/{n_toys}" for k in got["n_fallback"])
    agreement = (f"on {got['toys_compared']} toys: max |dmu_hat| {got['max_abs_dmu_hat']:.1e}, |dlo| "
                 f"{got['max_abs_dlo']:.1e}, |dhi| {got['max_abs_dhi']:.1e}, |dq| {got['max_abs_dq']:.1e}")  # fmt: skip
    figures.append(
        Figure(
            "fit", f"{n_toys} toys, 68% intervals: per-toy / batch", per / batch,
            "per-toy s/toy / batch s/toy", seconds={"per_toy_s_per_toy": per, "batch_s_per_toy": batch},
            extra=got,
            note=(f"per-toy on {got['per_toy_toys']} of the {n_toys} toys ({rounds} x {per_round}), scaled per toy; "
                  f"batch on all {n_toys} per round; n_fallback {fallback}; not converged: per-toy "
                  f"{got['per_toy_not_converged']}/{got['per_toy_toys']}, batch {got['batch_not_converged']}/{n_toys}; "
                  f"agreement {agreement}; {setting}"),
        )
    )  # fmt: skip
    ratio = TARGET_SECONDS_PER_1000 / batch_1000
    figures.append(
        Figure(
            "fit", "1000 toys w/ intervals, 1 core: 10 s / batch", ratio,
            "10 s / batch s per 1000 toys", ">= 1", check(ratio, ">=", 1.0),
            {"batch_per_1000": batch_1000, "per_toy_per_1000_est": per * 1000},
            extra={"n_toys": n_toys, "n_pars": got["n_pars"], "threads": got["threads"]},
            note=f"batch timed on {n_toys} toys, scaled to 1000; {setting}",
        )
    )  # fmt: skip
    return figures


if __name__ == "__main__":
    if "--toys-child" in sys.argv[1:]:
        kwargs = json.loads(sys.argv[sys.argv.index("--toys-child") + 1])
        print(json.dumps(toys_child(**kwargs)))
    else:
        main_for(run)
