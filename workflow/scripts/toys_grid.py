"""Rule toys_grid: event-level Poisson toys at the toy truth (mu = 1, alpha = 0, aux fluctuated) through the grid.

Held-out toys draw from the toy split (an independent MC sample: their coverage includes its non-closure with the
templates); model toys draw from the nominal template split, whose expectation at alpha = 0 is the templates
themselves. Both reweight every event by a Poisson(1) bootstrap weight: the grid's MC-statistics auxiliary data
cannot be fluctuated (each point has its own bins), so the bootstrap puts in the MC-statistical fluctuation that
the staterror NPs describe and that the fixed classifiers' toys get from their fluctuated auxiliary data (without
it the held-out toys vary by Poisson alone and over-cover: README, "Coverage").
"""


from systlab.infer.event_toys import truth_events
from systlab.infer.grid_fit import TOY_INTERPOLATION, run_grid_toys
from systlab.infer.toys import TOY_STUDY_SPLITS, merge_chunks, toy_truth, truth_sample, write_coverage
from systlab.likelihood.grid_inputs import grid_morph, read_grid_scores, read_grid_workspaces
from systlab.runtime import log, start

cfg = start(snakemake)  # noqa: F821
truth = toy_truth(cfg)
grid = read_grid_workspaces(snakemake.input.workspaces)  # noqa: F821
per_point = [read_grid_scores(p) for p in snakemake.input.scores]  # noqa: F821
seed = cfg.seed_stream(snakemake.wildcards.method, snakemake.wildcards.replica)  # noqa: F821
results, n_fits = {}, {}
for name, stream in (("held_out", seed), ("model", seed + 1)):
    events = truth_events(per_point, truth_sample(truth), [cfg.signal], split=TOY_STUDY_SPLITS[name])
    chunk = run_grid_toys(grid, events, truth.mu, 0, snakemake.params.n_toys, stream, cfg.mu_range,  # noqa: F821
                          TOY_INTERPOLATION, morph=grid_morph(cfg, grid.np_name), bootstrap=True)
    results[name], n_fits[name] = merge_chunks([chunk]), float(chunk.n_fits.mean())
    c = results[name]
    log.info("%d %s grid toys: coverage %.3f (sigma68 %.3f), mean width %.3f, score %.3f, %.2f s/toy", c.n_toys,
             name, c.coverage, c.sigma68, c.mean_width, c.score, c.seconds_per_toy)
extra = {"np": grid.np_name, "alphas": grid.alphas.tolist(), "interpolation": TOY_INTERPOLATION,
         "morph_step": cfg.grid_morph_step,
         "pseudo_data": "event-level Poisson multiplicities of the nominal toy split (held_out) and template split "
                        f"(model), each event Poisson(1)-bootstrapped, mu = {truth.mu:g}, "
                        f"alpha = {truth.shifts.get(grid.np_name, 0.0):g}",
         "auxdata": "Gaussian, one draw per scalar NP shared by all grid points; MC-stat aux nominal",
         "n_fits_mean": n_fits["held_out"], "n_fits_mean_model": n_fits["model"]}  # fmt: skip
write_coverage(results["held_out"], snakemake.output[0], model=results["model"], grid=extra)  # noqa: F821
