"""Event-level toys of the parameterized classifier's grid likelihood (:func:`systlab.infer.grid_fit.run_grid_toys`) and
their auxiliary data (:func:`systlab.infer.toys.toy_auxdata`, :func:`systlab.infer.grid_fit.toy_auxdata`).

The grid model: a signal and one background, 3 score bins, TES grid α ∈ {−1, 0, 1}; f(x; α) moves an event
simulated at TES t by SLOPE·(t − α) (the data pin α to ~0.27σ), non-unit event weights (background MC statistics
~half its Poisson variance, so its staterror NPs matter), lumi and a signal cross-section normsys (its auxiliary
measurement moves μ̂ about as much as the counts do). Model toys, as rule toys draws them (grid): the nominal
template-split events, whose expectation at α = 0 is the model itself, bootstrapped, with fluctuated auxiliary data.
The toys run with ``fit.grid_morph_step`` 0 (the grid NP pinned at the 3 simulated points, −2lnL interpolated
between them): the default step 0.125σ needs ~2.5× the fits per toy (~0.2 s), too slow for 300 toys here (run by
hand on this model, 2026-12-06: coverage 0.657, spread of μ̂ 1.00 of the Asimov half-width, bias −0.002).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from systlab.config import load_config
from systlab.events import SPLITS
from systlab.infer import grid_fit
from systlab.infer.event_toys import (
    binned_at_points,
    bootstrapped_multiplicities,
    expected_multiplicities,
    poisson_multiplicities,
    truth_events,
)
from systlab.infer.grid_fit import TOY_INTERPOLATION, run_grid_toys
from systlab.infer.grid_interval import GridInterval, grid_interval
from systlab.infer.toys import ONE_SIGMA, aux_widths, concatenate, merge_chunks, toy_auxdata, toy_counts
from systlab.likelihood.grid import GridLikelihood
from systlab.likelihood.grid_alpha import alpha_profile
from systlab.likelihood.grid_inputs import (
    build_grid_workspaces,
    grid_morph,
    grid_points,
    point_samples,
    read_grid_scores,
)
from systlab.likelihood.morph import Morph
from systlab.templates.histograms import NOMINAL

ROOT = Path(__file__).resolve().parents[1]
YIELD = {"htautau": 300.0, "ztautau": 1500.0}  # expected events (template split)
MC_EVENTS = {"htautau": 12_000, "ztautau": 6_000}  # half template, half toy split
SLOPE = 0.04  # score shift per σ of TES between the simulated TES and the classifier's α
SIGNAL_XSEC = 0.12
N_TOYS = 300
SEED = 4242


def grid_config(morph_step: float = 0.0):
    """Signal + one background, TES grid (−1, 0, 1) as the only shape NP, lumi and a signal normsys."""
    m = copy.deepcopy(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()))
    m["processes"] = {"signal": "htautau", "backgrounds": ["ztautau"]}
    m["simulate"]["events"] = {"htautau": 1000, "ztautau": 1000}
    m["systematics"] = {
        "shape": {"tes": {"nominal": 1.0, "sigma": 0.03, "grid": [-1, 0, 1]}},
        "norm": {"sig_xsec": {"processes": ["htautau"], "sigma": SIGNAL_XSEC}},
        "lumi_sigma": 0.02,
    }
    m["pseudo_data"] = {"nominal": {"mu": 1.0}}
    m["methods"] = ["aware"]
    m["method_settings"]["aware"] = {"leave_out": []}
    m["generator_check"] = {"methods": [], "closure_models": []}
    m["templates"] = {"bins": 3, "binning": "signal_quantiles"}
    m["fit"] = {"mu_range": [-2.0, 4.0], "scan_points": 31, "grid_interpolation": "quadratic",
                "grid_morph_step": morph_step}
    return load_config(m)


def write_point_tables(cfg, directory: Path) -> list[Path]:
    """One score table per grid point (the columns of score_grid_point); every sample the same events, shifted."""
    rng = np.random.default_rng(5)
    base, weight = {}, {}
    for process, n in MC_EVENTS.items():
        u = rng.uniform(size=n)
        base[process] = 0.1 + 0.8 * (np.sqrt(u) if process == "htautau" else u**2)
        w = rng.uniform(0.5, 1.5, size=n)
        weight[process] = 2.0 * YIELD[process] * w / w.sum()
    paths = []
    for point in grid_points(cfg, "tes"):
        frames = []
        for process, b in base.items():
            n = b.size
            split = np.where(np.arange(n) % 2 == 0, SPLITS["template"], SPLITS["toy"]).astype(np.int8)
            for variation in point_samples(cfg, "tes", point):
                shift = cfg.variation_shifts(variation).get("tes", 0.0)
                score = np.clip(b + SLOPE * (shift - point.alpha) + 0.1 * point.alpha * (b - 0.5), 0.0, 1.0)
                frames.append(pd.DataFrame({
                    "process": process, "variation": variation, "event_id": np.arange(n, dtype=np.uint64),
                    "weight": weight[process], "split": split, "label": np.int8(process == "htautau"),
                    "score": score.astype(np.float32)}))  # fmt: skip
        path = directory / f"{point.label}.parquet"
        pd.concat(frames, ignore_index=True).to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def grid_model(tmp_path_factory):
    """(config, grid workspaces, model-toy events: the nominal template split, as rule toys takes them)."""
    cfg = grid_config()
    paths = write_point_tables(cfg, tmp_path_factory.mktemp("grid_toys"))
    grid = build_grid_workspaces(cfg, "tes", paths)
    events = truth_events([read_grid_scores(p) for p in paths], NOMINAL, [cfg.signal], split="template")
    return cfg, grid, events


def run_model_toys(cfg, grid, events, start: int, stop: int):
    """Toys as rule toys runs them (grid): μ = 1, the quadratic fast path, the config's morph, bootstrap."""
    return run_grid_toys(grid, events, 1.0, start, stop, SEED, cfg.mu_range, TOY_INTERPOLATION,
                         morph=grid_morph(cfg, "tes"), bootstrap=True)  # fmt: skip


@pytest.fixture(scope="module")
def model_toys(grid_model):
    """(chunk of N_TOYS model toys, its coverage, the 68% interval of the Asimov data through the same likelihood)."""
    cfg, grid, events = grid_model
    chunk = run_model_toys(cfg, grid, events, 0, N_TOYS)
    asimov = binned_at_points(events, expected_multiplicities(events, 1.0), grid.edges)
    lik = GridLikelihood(grid.specs, asimov, grid.alphas, 0.0, 1.0, cfg.mu_range, morph=grid_morph(cfg, "tes"))
    return chunk, merge_chunks([chunk]), grid_interval(lik, TOY_INTERPOLATION, mu=1.0)


def test_toy_auxdata_is_gaussian_per_toy_index_and_from_its_own_stream():
    """toys.toy_auxdata: toy i is a function of (seed, i) alone, N(centre, widths), not the counts' generator."""
    centre, widths = np.array([1.0, 0.0, -0.5, 1.0]), np.array([0.02, 1.0, 1.0, 0.3])
    n = 4000
    draws = np.array([toy_auxdata(centre, widths, SEED, i) for i in range(n)])
    chunked = [toy_auxdata(centre, widths, SEED, i) for i in reversed(range(n // 2, n))][::-1]  # another chunk/order
    assert np.array_equal(np.array(chunked), draws[n // 2 :])
    assert np.array_equal(toy_auxdata(centre, widths, SEED, 7), draws[7])
    z = (draws - centre) / widths
    assert np.abs(z.mean(axis=0)).max() < 4 / np.sqrt(n)
    assert z.std(axis=0) == pytest.approx(np.ones(centre.size), abs=0.06)
    assert np.abs(np.corrcoef(z.T) - np.eye(centre.size)).max() < 4 / np.sqrt(n)  # one independent draw per entry
    assert not np.allclose(toy_auxdata(centre, widths, SEED + 1, 7), draws[7])  # another seed, another toy
    # independent of the counts' stream: not the normals of toy i's count generator, uncorrelated with its counts
    expected = np.array([5.0, 50.0, 500.0])
    counts = np.array([toy_counts(expected, SEED, i) for i in range(n)])
    count_stream = np.array([np.random.default_rng([SEED, i]).standard_normal(centre.size) for i in range(n)])
    assert not np.isclose(z, count_stream).any()
    assert np.abs(np.corrcoef(z.T, counts.T)[: centre.size, centre.size :]).max() < 4 / np.sqrt(n)


def record_grid_toys(monkeypatch, grid_model, n: int) -> tuple[np.ndarray, np.ndarray, GridLikelihood]:
    """(counts (n, K, bins), auxdata (n, K, aux), the likelihood) that run_grid_toys hands each toy, fits stubbed."""
    cfg, grid, events = grid_model
    seen, liks, original = [], [], GridLikelihood.set_data

    def set_data(self, observed, auxdata=None, starts=None, mle_points=None):
        if starts is None:  # the likelihood's construction on the expected data: for real
            return original(self, observed, auxdata, starts, mle_points)
        seen.append((np.array(observed, dtype=float), np.array(auxdata, dtype=float)))
        liks.append(self)

    stub = GridInterval(1.0, 0.0, (0.5, 1.5), (False, False), True, 0, 0.0)
    monkeypatch.setattr(GridLikelihood, "set_data", set_data)
    monkeypatch.setattr(grid_fit, "grid_interval", lambda *args, **kwargs: stub)
    run_grid_toys(grid, events, 1.0, 0, n, SEED, cfg.mu_range, TOY_INTERPOLATION, progress_every=0,
                  morph=grid_morph(cfg, "tes"), bootstrap=True)  # fmt: skip
    return np.array([c for c, _ in seen]), np.array([a for _, a in seen]), liks[0]


def test_grid_toys_are_poisson_bootstrapped_events_with_one_aux_draw_per_scalar_np(monkeypatch, grid_model):
    """What the toys hand the likelihood: integer counts of the same events at every point, per bin mean = the
    expectation at α = 0 binned with f(x; α_k) (at the α = 0 point: the templates) and variance = mean + Σw²
    (Poisson + the bootstrap's MC statistics); aux: one N(0, 1) draw per scalar NP (lumi, normsys, TES) shared by
    every point, the MC-statistics aux nominal."""
    cfg, grid, events = grid_model
    n = 1500
    counts, aux, lik = record_grid_toys(monkeypatch, grid_model, n)
    assert counts.shape == (n, 3, 3) and np.array_equal(counts, np.round(counts))
    totals = counts.sum(axis=2)
    assert np.array_equal(totals, np.repeat(totals[:, :1], 3, axis=1))  # the same events binned at every point
    w = expected_multiplicities(events, 1.0)
    centre = int(np.argmin(np.abs(grid.alphas)))
    for k, (scores, edges) in enumerate(zip(events.scores, grid.edges, strict=True)):
        s = np.minimum(scores, np.nextafter(1.0, 0.0))
        expected, mc_variance = (np.histogram(s, edges, weights=x)[0] for x in (w, w**2))
        if k == centre:  # model toys: at α = 0 the expectation is the templates
            yields = np.sum([sample["data"] for sample in grid.specs[k]["channels"][0]["samples"]], axis=0)
            assert expected == pytest.approx(yields, rel=1e-9)
        assert (np.abs(counts[:, k].mean(axis=0) - expected) < 4 * np.sqrt((expected + mc_variance) / n)).all(), k
        assert counts[:, k].var(axis=0, ddof=1) == pytest.approx(expected + mc_variance, rel=0.13), k
        assert (mc_variance > 0.25 * expected).any()  # the bootstrap term is visible
    # auxiliary data: scalar NPs (first in pyhf's order here: lumi, sig_xsec, tes) fluctuated, staterror nominal
    nominal = np.array([point.auxdata for point in lik.liks])
    widths = np.array([aux_widths(point) for point in lik.liks])
    config = lik.liks[0].model.config
    sizes = [config.param_set(name).n_parameters for name in config.auxdata_order]
    scalar = np.repeat(np.array(sizes) == 1, sizes)
    assert scalar.sum() == 3 and (~scalar).sum() == 3
    z = (aux - nominal) / widths
    assert np.array_equal(aux[:, :, ~scalar], np.broadcast_to(nominal[:, ~scalar], aux[:, :, ~scalar].shape))
    assert np.allclose(z[:, 1:, scalar], z[:, :1, scalar])  # one auxiliary measurement for every grid point
    z = z[:, 0, scalar]
    assert np.abs(z.mean(axis=0)).max() < 4 / np.sqrt(n) and z.std(axis=0) == pytest.approx(np.ones(3), abs=0.06)
    assert np.abs(np.corrcoef(z.T) - np.eye(3)).max() < 4 / np.sqrt(n)  # an independent draw per NP
    assert np.abs(np.corrcoef(z.T, totals[:, :1].T)[:3, 3]).max() < 4 / np.sqrt(n)  # independent of the counts


def test_a_grid_toy_does_not_depend_on_the_chunking(grid_model, model_toys):
    cfg, grid, events = grid_model
    whole = model_toys[0]
    parts = concatenate([run_model_toys(cfg, grid, events, 0, 1), run_model_toys(cfg, grid, events, 1, 3)])
    for field in ("mu_hat", "lo", "hi", "converged", "q_mu_true"):
        assert np.array_equal(getattr(parts, field), getattr(whole, field)[:3]), field


def test_model_toys_through_the_grid_cover_at_68_percent(model_toys):
    """Model toys with the bootstrap and fluctuated aux: every fluctuation the likelihood describes, so the 68%
    intervals cover within 3σ68 and μ̂ is centred on the Asimov fit (μ̂ = 0.98 here: the −2lnL interpolation
    between grid points 1σ apart, 4 times wider than the data's α width)."""
    chunk, coverage, asimov = model_toys
    assert coverage.n_toys == N_TOYS and coverage.n_used >= 0.98 * N_TOYS
    assert coverage.sigma68 == pytest.approx(np.sqrt(ONE_SIGMA * (1 - ONE_SIGMA) / coverage.n_used))
    assert abs(coverage.coverage - ONE_SIGMA) < 3 * coverage.sigma68, coverage
    assert asimov.converged and asimov.mu_hat == pytest.approx(1.0, abs=0.05)
    assert abs(coverage.mu_hat_mean - asimov.mu_hat) < 4 * coverage.mu_hat_std / np.sqrt(coverage.n_used)
    assert abs(coverage.bias) < 0.2 * coverage.mu_hat_std
    assert coverage.n_open <= 0.01 * N_TOYS


def test_model_toy_spread_matches_the_asimov_interval(model_toys):
    """The spread of μ̂ and q_μ(μ = 1) (χ²₁, mean 1) as the Asimov interval predicts. Counts and aux each carry a
    good part of it: with the aux not fluctuated the spread is 0.65 of the half-width (coverage 0.88), without the
    Poisson draw 0.82 (0.80); without the bootstrap ~0.95, too close to tell at 300 toys (the test above sees it)."""
    chunk, coverage, asimov = model_toys
    half_width = 0.5 * (asimov.interval_68[1] - asimov.interval_68[0])
    assert coverage.mu_hat_std / half_width == pytest.approx(1.0, abs=0.12)
    assert coverage.mean_width == pytest.approx(2 * half_width, rel=0.05)  # the toys' intervals: the Asimov's
    q = coverage.q_mu_true
    assert np.isfinite(q).all() and q.mean() == pytest.approx(1.0, abs=3 * np.sqrt(2 / q.size))


def test_batched_grid_toys_agree_with_the_one_toy_path_toy_by_toy(grid_model):
    """The lock-step batch (every toy's fits made together) gives each toy the interval of its own one-toy run, with
    the morph (step 0.25σ, fine points pinned inside each cell) as the configs run it.

    The fits agree to ~1e-8 in −2lnL, but μ̂ comes from successive parabolas on an α-profile with kinks (where the
    lowest grid point changes), which stop near the minimum along a path such differences can change; here the
    batch sometimes ends lower (toy 11: by 0.037). So each toy's batch answer is checked on the one-toy profile:
    its μ̂ no higher than that run's minimum (+5e-3), its ends where that profile crosses 1 above the lower of the
    two minima (the crossings' tolerance is q ± 1e-2), and most toys give the same numbers outright."""
    cfg, grid_ws, events = grid_model
    morph = Morph("tes", 0.25)
    n = 24
    batched = run_grid_toys(grid_ws, events, 1.0, 0, n, SEED, cfg.mu_range, TOY_INTERPOLATION, morph=morph,
                            bootstrap=True)  # fmt: skip
    expected = expected_multiplicities(events, 1.0)
    grid = GridLikelihood(grid_ws.specs, binned_at_points(events, expected, grid_ws.edges), grid_ws.alphas, 0.0, 1.0,
                          cfg.mu_range, morph=morph)  # fmt: skip
    warm = grid.warm_starts()
    same = 0
    for i in range(n):
        rng = np.random.default_rng([SEED, i])
        counts = bootstrapped_multiplicities(expected, rng)
        grid.set_data(binned_at_points(events, counts, grid_ws.edges), grid_fit.toy_auxdata(grid, SEED, i), warm,
                      [grid.centre])  # fmt: skip
        one = grid_interval(grid, TOY_INTERPOLATION, mu=1.0)
        profile = alpha_profile(grid, TOY_INTERPOLATION)
        assert batched.converged[i] and one.converged
        at_batch = profile(batched.mu_hat[i])[0]
        assert at_batch - one.twice_nll_min < 5e-3, i
        minimum = min(at_batch, one.twice_nll_min)
        for end in (batched.lo[i], batched.hi[i]):
            assert profile(end)[0] - minimum == pytest.approx(1.0, abs=0.03), (i, end)
        same += bool(np.allclose([batched.mu_hat[i], batched.lo[i], batched.hi[i]],
                                 [one.mu_hat, *one.interval_68], atol=2e-3))  # fmt: skip
    assert same >= 0.75 * n


@pytest.mark.parametrize("morph_step", [0.0, 0.25])
def test_datasets_fitted_in_lock_step_equal_their_one_by_one_fits(grid_model, morph_step):
    """Rule fit profiles every dataset of a grid model at once (``grid_fits``: one LockStep task per dataset, their
    fits in shared batches); each dataset's μ̂, interval, α̂ and status equal its own ``grid_fit`` (the surface kept
    for Asimov as the rule keeps it), with and without the morph."""
    _, grid_ws, events = grid_model
    cfg = grid_config(morph_step)
    expected = expected_multiplicities(events, 1.0)
    observed = {"asimov": binned_at_points(events, expected, grid_ws.edges)}
    for i in range(3):
        counts = poisson_multiplicities(expected, np.random.default_rng([SEED, 100 + i]))
        observed[f"truth_{i}"] = binned_at_points(events, counts, grid_ws.edges)
    together = grid_fit.grid_fits(cfg, grid_ws, observed, "quadratic", surface=True)
    assert list(together) == list(observed)
    for dataset, counts in observed.items():
        result, profile = grid_fit.grid_fit(cfg, grid_ws, counts, dataset, "quadratic", surface=True)
        batch_result, batch_profile = together[dataset]
        assert batch_result.converged == result.converged, dataset
        assert batch_result.mu_hat == pytest.approx(result.mu_hat, abs=1e-4), dataset
        assert batch_result.interval_68 == pytest.approx(result.interval_68, abs=1e-3), dataset
        assert batch_profile.alpha_hat == pytest.approx(profile.alpha_hat, abs=1e-3), dataset
        assert batch_profile.half_grid is None or batch_profile.half_grid.interval_68 == pytest.approx(
            profile.half_grid.interval_68, abs=1e-3)
        assert (batch_profile.surface is None) == (profile.surface is None) == (dataset != "asimov"), dataset
