"""Pseudo-experiments the FAIR-Universe way and the coverage of the 68% profile-likelihood interval.

Per toy: Poisson counts from an expected-count vector at a true (μ, α) — the toy-split histograms of a
``truth_*`` variation (:func:`toy_expectation`), or any vector/one row per toy — with the auxiliary
data at their nominal values, then μ̂ and the 68% interval (MLE + a safeguarded secant on the two −2ΔlnL = 1
crossings; no scan), all toys of a chunk at once (:func:`systlab.infer.intervals.profile_intervals`); a toy the
batch cannot decide is refitted on the one-dataset path (:func:`systlab.infer.fit.profile_interval`, MINUIT
fallbacks) and counted. Every fit starts from the fit of the expected counts (warm start).

Chunks: toy ``i`` always draws from ``numpy.random.default_rng([seed, i])``, so chunks [a, b) and
[b, c) concatenate to exactly the chunk [a, c). :func:`merge_chunks` gives the coverage, the mean
width and the FAIR Universe score. Intervals are asymptotic (Wilks); toy-based (Neyman) intervals
where Wilks fails are a follow-up, see :mod:`systlab.infer.significance` for the check. The chunks' and the
coverage's JSON files: :mod:`systlab.infer.toy_io`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from systlab.config import Config, Truth
from systlab.infer.fit import LowerMinimum, profile_interval, truth_variation
from systlab.infer.intervals import profile_intervals
from systlab.likelihood.batched import BatchedLikelihood
from systlab.likelihood.binned import Likelihood, Minimum
from systlab.likelihood.workspace import workspace_model
from systlab.templates.histograms import NOMINAL, TRUTH_PREFIX, Templates, counts

log = logging.getLogger(__name__)

ONE_SIGMA = 0.6827
EPSILON = 1e-3
#: The split each toy study draws its events from: held-out toys from the independent toy split, model toys
#: from the template split the model (workspace or grid) is built of.
TOY_STUDY_SPLITS = {"held_out": "toy", "model": "template"}
#: Which scoring code computed coverage, mean_width and score (the summary's ``score`` note says it).
SCORE_SOURCE = (
    "coverage, mean_width and score: systlab.infer.toys.fair_score, the FAIR-Universe challenge's definition "
    "(coverage of the closed interval [p16, p84], mean |p84 - p16|, score = -ln((mean width + 1e-3) f(coverage))); "
    "equal to the bit to the organisers' HiggsML.score.Scoring.Quantiles_Score (HiggsML 0.1.5) on the same arrays "
    "(tests/test_fair_score.py, run with the 'fair' extra), which is not called in the workflow"
)


class ToyChunk(NamedTuple):
    """Toys ``start`` … ``stop``−1 of one seed: truth, μ̂, 68% interval ends, status, cost."""

    start: int
    stop: int
    seed: int
    mu_true: np.ndarray
    mu_hat: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    converged: np.ndarray  # bool
    open_lo: np.ndarray  # bool: no lower crossing inside mu_range (lo = range edge)
    open_hi: np.ndarray  # bool
    n_fits: np.ndarray  # int: MINUIT minimisations per toy
    seconds: float  # wall time of the chunk (fits only)
    q_mu_true: np.ndarray | None = None  # −2ΔlnL at μ_true per toy (Wilks: χ²₁); None where not computed
    n_fallback: int = 0  # toys the batch engine could not decide, refitted one by one


class Coverage(NamedTuple):
    """Coverage of the 68% intervals over merged toys and the FAIR Universe score."""

    n_toys: int
    n_used: int  # converged toys (the others are excluded and counted in n_failed)
    n_failed: int
    coverage: float
    sigma68: float  # √(0.6827·0.3173/N)
    coverage_pull: float  # (coverage − 0.6827)/σ68
    mean_width: float
    median_width: float
    mu_hat_mean: float
    mu_hat_std: float
    bias: float  # mean(μ̂ − μ_true)
    penalty: float  # f(coverage)
    score: float  # −ln((mean width + ε)·f(coverage))
    n_open: int  # intervals with an end at the μ range edge
    seconds_per_toy: float
    q_mu_true: np.ndarray | None = None  # −2ΔlnL at μ_true of the converged toys (None: not computed)
    n_fallback: int = 0  # toys refitted one by one after the batch engine


def toy_expectation(
    templates: Templates, truth_name: str, mu: float, signal: Sequence[str] | str | None = None, split: str = "toy"
) -> np.ndarray:
    """Expected counts of a truth (``truth_<name>`` or ``nominal``) in ``split``, signal scaled by ``mu``."""
    variation = truth_name if truth_name == "nominal" else truth_variation(templates, truth_name)
    signals = (signal,) if isinstance(signal, str) else tuple(signal or templates.signal)
    if not signals:
        raise ValueError("no signal process known: pass signal= or build templates with labelled events")
    processes = list(templates.splits[split].axes["process"])
    expected = sum((mu if p in signals else 1.0) * counts(templates, p, variation, split) for p in processes)
    return np.clip(np.asarray(expected, dtype=float), 0.0, None)


def toy_truth(cfg: Config) -> Truth:
    """The configured truth the coverage toys are drawn at (``Config.toy_truth``); ValueError if there is none."""
    name = cfg.toy_truth
    if name is None:
        raise ValueError("config has no toy truth: coverage toys need a pseudo_data truth with mu: 1 and no NP shift")
    return next(t for t in cfg.truths if t.name == name)


def truth_sample(truth: Truth) -> str:
    """The variation a truth's toys are drawn from: ``nominal`` if it shifts no NP, else ``truth_<name>``."""
    # A truth without shifts keeps the nominal sample: its truth_<name> sample is not guaranteed bit-identical
    # to nominal, and the coverage toys have always been drawn from nominal (same numbers as before).
    return NOMINAL if not any(truth.shifts.values()) else TRUTH_PREFIX + truth.name


def model_expectation(workspace_spec: dict, mu: float = 1.0, shifts: Mapping[str, float] | None = None) -> np.ndarray:
    """Expected main-channel counts of the workspace at ``mu`` and NP ``shifts`` (σ units; other NPs nominal)."""
    model = workspace_model(workspace_spec)
    pars = list(model.config.suggested_init())
    pars[model.config.poi_index] = float(mu)
    for name, k in (shifts or {}).items():
        if k:
            if name not in model.config.parameters:
                raise KeyError(f"truth shifts NP {name!r}, which the workspace lacks (has {model.config.parameters})")
            pars[model.config.par_slice(name).start] = float(k)
    return np.asarray(model.expected_actualdata(pars), dtype=float)


def study_expectations(
    templates: Templates, workspace_spec: dict, truth: Truth, signal: Sequence[str] | str | None = None
) -> dict[str, np.ndarray]:
    """Expected counts of each toy study of a fixed classifier at ``truth``: held-out from the toy split, model
    from the workspace (built of the template split, ``TOY_STUDY_SPLITS``)."""
    held_out = toy_expectation(templates, truth_sample(truth), truth.mu, signal, split=TOY_STUDY_SPLITS["held_out"])
    return {"held_out": held_out, "model": model_expectation(workspace_spec, truth.mu, truth.shifts)}


def toy_counts(expected: np.ndarray, seed: int, index: int) -> np.ndarray:
    """The Poisson counts of toy ``index``: independent of how toys are chunked."""
    return np.random.default_rng([int(seed), int(index)]).poisson(np.clip(expected, 0.0, None)).astype(float)


def aux_widths(lik: Likelihood) -> np.ndarray:
    """Width of each auxiliary measurement, in the order of the model's auxdata (Gaussian constraints only)."""
    config = lik.model.config
    widths = []
    for name in config.auxdata_order:
        pset = config.param_set(name)
        if pset.pdf_type != "normal":
            raise NotImplementedError(f"auxiliary data of {name!r} ({pset.pdf_type}) cannot be fluctuated")
        widths.extend(np.asarray(pset.width(), dtype=float).tolist())
    return np.asarray(widths)


def toy_auxdata(centre: np.ndarray, widths: np.ndarray, seed: int, index: int) -> np.ndarray:
    """Gaussian auxiliary data of toy ``index`` (its own stream, independent of the counts' stream)."""
    return centre + widths * np.random.default_rng([int(seed), int(index), 1]).standard_normal(centre.size)


def _row(values: np.ndarray | float, index: int, n_rows: int | None) -> np.ndarray | float:
    return values[index] if n_rows is not None else values


def run_toys(
    workspace_spec: dict,
    expected: Sequence[float] | np.ndarray,
    mu_true: float | Sequence[float],
    start: int,
    stop: int,
    seed: int,
    mu_range: tuple[float, float],
    progress_every: int = 100,
    fluctuate_aux: bool = False,
    aux_centre: Sequence[float] | None = None,
    observed: Sequence[Sequence[float]] | np.ndarray | None = None,
) -> ToyChunk:
    """Fit toys ``start`` … ``stop``−1: Poisson(``expected``) counts, μ̂ and 68% interval of each.

    ``expected`` is one count vector (bins,) for every toy, or one row per toy index (n_toys, bins)
    with ``mu_true`` then a matching array (FAIR style: truths drawn per toy by the caller). Auxiliary
    data stay nominal (FAIR style: the NP truth is drawn, the auxiliary measurement is not), unless
    ``fluctuate_aux``: then they are Gaussian around ``aux_centre`` (default the nominal auxdata;
    pass the true NP values) — the frequentist toy of a fixed truth. Each toy also gets q_μ at its
    true μ (one more conditional fit) for the Wilks check. All toys are fitted at once; those the batch
    cannot decide are refitted one by one (``n_fallback``). ``progress_every`` > 0 logs a summary line.

    ``observed`` (one row of counts per toy index, (n_toys, bins)) replaces the Poisson draws: toy i fits
    ``observed[i]`` as it is (pseudo-data built elsewhere, e.g. the FAIR protocol's bootstrapped events,
    :mod:`systlab.infer.fair_protocol`), ``mu_true`` one value per row; ``expected`` then only gives the warm start.
    """
    if not 0 <= start <= stop:
        raise ValueError(f"toy range [{start}, {stop}) is invalid")
    expected = np.asarray(expected, dtype=float)
    per_toy = expected.ndim == 2
    if per_toy and expected.shape[0] < stop:
        raise ValueError(f"expected has {expected.shape[0]} rows, toys up to index {stop - 1} requested")
    if observed is not None:
        observed = np.asarray(observed, dtype=float)
        if observed.ndim != 2 or observed.shape[0] < stop:
            raise ValueError(f"observed has shape {observed.shape}: one row per toy up to index {stop - 1} needed")
    mu_true_arr = np.asarray(mu_true, dtype=float)
    n_rows = expected.shape[0] if per_toy else observed.shape[0] if observed is not None else None
    if n_rows is not None and mu_true_arr.ndim == 0:
        mu_true_arr = np.full(n_rows, float(mu_true_arr))
    lik = Likelihood(workspace_spec, expected[0] if per_toy else expected, mu_range)
    t0 = time.perf_counter()
    warm = lik.mle(hesse=False).pars  # the fit of the expected counts: every toy starts from it
    centre = lik.auxdata if aux_centre is None else np.asarray(aux_centre, dtype=float)
    widths = aux_widths(lik) if fluctuate_aux else None
    indices = range(start, stop)
    n = stop - start
    truths = np.array([_row(mu_true_arr, i, n_rows) for i in indices], dtype=float).reshape(n)
    if observed is None:
        observed = np.array([toy_counts(_row(expected, i, n_rows), seed, i) for i in indices]).reshape(n, -1)
    else:
        observed = observed[start:stop].reshape(n, -1)
    aux = np.array([toy_auxdata(centre, widths, seed, i) for i in indices]) if fluctuate_aux else None
    # every toy at once; the toys the batch cannot decide are refitted one by one on the robust path
    blik = BatchedLikelihood(lik)
    blik.set_data(observed, aux)
    found = profile_intervals(blik, warm, truths) if n else None
    out = {"mu_true": truths, "mu_hat": np.zeros(n), "lo": np.zeros(n), "hi": np.zeros(n)}
    flags = {k: np.zeros(n, dtype=bool) for k in ("converged", "open_lo", "open_hi")}
    n_fits = np.zeros(n, dtype=int)
    q_mu_true = np.full(n, np.nan)
    if found is not None:
        out.update(mu_hat=found.mu_hat.copy(), lo=found.lo.copy(), hi=found.hi.copy())
        flags.update(converged=~found.fallback, open_lo=found.open_lo.copy(), open_hi=found.open_hi.copy())
        n_fits[:], q_mu_true[:] = found.n_fits, found.q_mu
    redo = np.flatnonzero(found.fallback) if found is not None else np.zeros(0, dtype=int)
    for j in redo:
        lik.set_observed(observed[j], None if aux is None else aux[j])
        try:
            result = profile_interval(lik, start=warm)
        except LowerMinimum as lower:  # conditional fits keep going below the MLE: no interval, the toy is failed
            log.warning("toy %d (seed %d): %s three times; counted as not converged", start + j, seed, lower)
            out["mu_hat"][j] = out["lo"][j] = out["hi"][j] = np.nan
            flags["converged"][j] = False
            continue
        out["mu_hat"][j] = result.mu_hat
        out["lo"][j], out["hi"][j] = result.interval_68
        flags["converged"][j] = result.converged
        flags["open_lo"][j], flags["open_hi"][j] = result.interval_open
        q_mu_true[j] = q_at(lik, result.best, truths[j])
        n_fits[j] = result.n_fits + 1
    seconds = time.perf_counter() - t0
    if progress_every and n:
        log.info("toys %d-%d (seed %d): %.4f s/toy, %d of %d refitted one by one", start, stop, seed, seconds / n,
                 redo.size, n)  # fmt: skip
    return ToyChunk(start, stop, int(seed), **out, **flags, n_fits=n_fits, seconds=seconds, q_mu_true=q_mu_true,
                    n_fallback=int(redo.size))  # fmt: skip


def q_at(lik: Likelihood, best: Minimum, mu: float) -> float:
    """q_μ = −2ΔlnL at ``mu`` (μ free in the MLE ``best``): the fixed-μ fit minus the minimum, ≥ 0.

    NaN when ``mu`` is outside the likelihood's μ range or the fit is undefined. Under Wilks' theorem
    q_μ at the true μ follows χ²₁.
    """
    lo, hi = lik.mu_range
    if not lo <= mu <= hi:
        return float("nan")
    q = lik.fixed_mu(float(mu), best.pars).twice_nll - best.twice_nll
    return float(max(q, 0.0)) if np.isfinite(q) else float("nan")


def q_values(chunk: ToyChunk) -> np.ndarray:
    """Per-toy q_μ(μ_true) of a chunk, NaN for every toy where it was not computed."""
    n = chunk.stop - chunk.start
    q = chunk.q_mu_true
    return np.full(n, np.nan) if q is None else np.asarray(q, dtype=float)


def coverage_penalty(coverage: float, n_toys: int, one_sigma: float = ONE_SIGMA) -> float:
    """FAIR Universe f(c): 1 within one_sigma ± 2σ68, else 1 + |distance to that band / σ68|^4 below, ^3 above.

    σ68 = √(one_sigma·(1 − one_sigma)/N). The distance is measured from the band edge, as in the
    challenge's scoring code (``HiggsML.score.Scoring.Quantiles_Score``, HiggsML 0.1.5). σ68 is computed as that
    code writes it, √((1 − p)·p·N)/N: √(p(1 − p)/N) differs from it in the last bit for 630 of N = 1…2000 (30
    among them), so the score is then equal to the organisers' to the bit (``tests/test_fair_score.py``).
    """
    if n_toys < 1:
        raise ValueError("coverage needs at least one toy")
    sigma68 = np.sqrt((1.0 - one_sigma) * one_sigma * n_toys) / n_toys
    low, high = one_sigma - 2.0 * sigma68, one_sigma + 2.0 * sigma68
    if coverage < low:
        return float(1.0 + abs((coverage - low) / sigma68) ** 4)
    if coverage > high:
        return float(1.0 + abs((coverage - high) / sigma68) ** 3)
    return 1.0


def fair_score(
    mu_true: np.ndarray, lo: np.ndarray, hi: np.ndarray, epsilon: float = EPSILON
) -> tuple[float, float, float]:
    """(mean width, coverage, score) of intervals [lo, hi] as the FAIR Universe challenge scores them.

    Coverage counts μ_true inside the closed interval; score = −ln((mean |hi − lo| + ε)·f(coverage)). This is the
    one implementation systlab runs: equal to the bit to ``HiggsML.score.Scoring.Quantiles_Score`` on the same
    arrays (``tests/test_fair_score.py``, run where the ``fair`` extra is installed), which is not called here so
    that results do not depend on an optional install and no job imports its side effects (root logging
    configured at INFO on import, matplotlib.pyplot and mpld3 imported).
    """
    mu_true, lo, hi = (np.asarray(a, dtype=float) for a in (mu_true, lo, hi))
    width = float(np.mean(np.abs(hi - lo)))
    coverage = float(np.mean((mu_true >= lo) & (mu_true <= hi)))
    return width, coverage, float(-np.log((width + epsilon) * coverage_penalty(coverage, mu_true.size)))


def concatenate(chunks: Sequence[ToyChunk], gaps: bool = False) -> ToyChunk:
    """One chunk from contiguous chunks of the same seed (sorted by start); ValueError on gaps/overlaps (on overlaps
    only if ``gaps``: a caller that left toys out on purpose)."""
    chunks = sorted(chunks, key=lambda c: c.start)
    if not chunks:
        raise ValueError("no toy chunks to merge")
    for a, b in zip(chunks, chunks[1:], strict=False):
        if (a.stop > b.start if gaps else a.stop != b.start) or a.seed != b.seed:
            raise ValueError(f"toy chunks [{a.start}, {a.stop}) seed {a.seed} and [{b.start}, {b.stop}) "
                             f"seed {b.seed} are not contiguous with one seed")  # fmt: skip
    arrays = {
        field: np.concatenate([getattr(c, field) for c in chunks])
        for field in ToyChunk._fields
        if field not in ("start", "stop", "seed", "seconds", "q_mu_true", "n_fallback")
    }
    q = None if all(c.q_mu_true is None for c in chunks) else np.concatenate([q_values(c) for c in chunks])
    return ToyChunk(chunks[0].start, chunks[-1].stop, chunks[0].seed, **arrays,
                    seconds=float(sum(c.seconds for c in chunks)), q_mu_true=q,
                    n_fallback=sum(c.n_fallback for c in chunks))  # fmt: skip


def merge_chunks(chunks: Sequence[ToyChunk], gaps: bool = False) -> Coverage:
    """Coverage, widths, bias and FAIR score over all converged toys of the chunks (``gaps``: see :func:`concatenate`)
    """
    toys = concatenate(chunks, gaps)
    ok = toys.converged
    n_used = int(ok.sum())
    if not n_used:
        raise ValueError(f"none of {toys.mu_hat.size} toys converged")
    width, coverage, score = fair_score(toys.mu_true[ok], toys.lo[ok], toys.hi[ok])
    sigma68 = float(np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / n_used))
    widths = toys.hi[ok] - toys.lo[ok]
    return Coverage(
        n_toys=int(toys.mu_hat.size),
        n_used=n_used,
        n_failed=int((~ok).sum()),
        coverage=coverage,
        sigma68=sigma68,
        coverage_pull=float((coverage - ONE_SIGMA) / sigma68),
        mean_width=width,
        median_width=float(np.median(widths)),
        mu_hat_mean=float(np.mean(toys.mu_hat[ok])),
        mu_hat_std=float(np.std(toys.mu_hat[ok], ddof=1)) if n_used > 1 else float("nan"),
        bias=float(np.mean(toys.mu_hat[ok] - toys.mu_true[ok])),
        penalty=coverage_penalty(coverage, n_used),
        score=score,
        n_open=int((toys.open_lo | toys.open_hi)[ok].sum()),
        seconds_per_toy=toys.seconds / max(toys.mu_hat.size, 1),
        q_mu_true=None if toys.q_mu_true is None else toys.q_mu_true[ok],
        n_fallback=toys.n_fallback,
    )


def chunk_bounds(n_toys: int, chunks: int) -> list[tuple[int, int]]:
    """[start, stop) of each of ``chunks`` near-equal toy chunks (toy i is the same toy in any chunking)."""
    if n_toys < 1 or not 1 <= chunks <= n_toys:
        raise ValueError(f"toys: field 'chunks': {chunks} chunks for {n_toys} toys (need 1 <= chunks <= toys)")
    edges = np.linspace(0, n_toys, chunks + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
