"""Rule summary: metrics, fits, toys, limits and significances of every model replica -> the comparison table."""

from systlab.runtime import log, start
from systlab.studies.summary import summary_from_files, write_summary

cfg = start(snakemake)  # noqa: F821
notes = {
    "widths": "68% profile-likelihood width on mu, fitted to the toy-split expectation at each truth "
    "(key: shift of the target NP, systematics.target)",
    "bias": "mu_hat - mu_true on that expectation",
    "coverage": f"{cfg.n_toys} toys per replica at mu = 1, NPs nominal, auxiliary data fluctuated. coverage: "
    "Poisson counts from the held-out toy split (FAIR-Universe way; includes the MC-statistical non-closure "
    "between that split and the templates); coverage_model: from the model's own expectation (the statistical "
    "procedure alone; aware's: event-level toys from the nominal template split; both of aware's toy sets "
    "bootstrap every event with a Poisson(1) weight for the MC statistics); *_pull = (coverage - 0.6827)/"
    "sigma68; coverage_from_bias: the held-out coverage that the bias at the toys' truth (mu = 1, alpha = 0) alone "
    "predicts (Gaussian mu_hat, intervals mu_hat +- mean_width/2): where coverage matches it and coverage_model is "
    "near 0.6827, held-out under-coverage is the MC non-closure of the finite toy split, not the method",
    "limits": "cls95_expected: median expected 95% CLs upper limit on mu (q~_mu asymptotics, background-only "
    "Asimov; the +-1/2 sigma bands are in summary.json); z0_expected: median discovery significance at mu = 1; "
    "both on the Asimov dataset",
    "mc_closure": "effective MC events per expected event (N_eff/expected = sum w / sum w^2) in the worst bin of "
    "any background's nominal template, per split (template: the model; toy: the held-out expectation); the "
    "simulation closes where both are >= 10 (the templates_<model> figures show every bin)",
    "target": f"target_impact_rank, target_impact, target_constraint: {cfg.target} (systematics.target) among "
    "every NP's post-fit impact on mu on the Asimov data (1 = largest; fixed classifiers rank each bin's "
    "MC-statistics gamma too, the grid-profiled models do not), the larger |d mu_hat| of its +-1 sigma post-fit "
    "shifts, and its post-fit constraint sigma_post/sigma",
    "wilks": "KS distance and p-value of the model toys' q_mu(mu_true) against chi2_1 (Wilks; held-out toys "
    "where there are no model toys)",
}
parameterized = list(snakemake.params.parameterized)  # noqa: F821
if parameterized:
    notes["parameterized"] = (f"{', '.join(parameterized)}: fits and toys through the grid-profiled likelihood in "
                              f"(mu, alpha) (results/grid/; the target NP morphed between grid points in steps of "
                              f"{cfg.grid_morph_step:g} sigma, 0 = -2lnL interpolated between them); CLs limit and "
                              "Z0 from the same likelihood with "
                              "background-only Asimov data at alpha = 0 and nominal NPs; impacts without per-bin "
                              "MC statistics")
truths = {t.name: (t.mu, cfg.target_shift(t)) for t in cfg.truths}
summary = summary_from_files(snakemake.input.metrics, snakemake.input.fits, snakemake.input.toys, truths,  # noqa: F821
                             notes, snakemake.input.limits, snakemake.input.significances,  # noqa: F821
                             toy_truth=cfg.toy_truth, template_paths=snakemake.input.templates,  # noqa: F821
                             impact_paths=snakemake.input.impacts, target=cfg.target,  # noqa: F821
                             fair_paths=snakemake.input.fair)  # noqa: F821
write_summary(summary, snakemake.output.json, snakemake.output.md)  # noqa: F821
log.info("summary of %d models written", len(summary["methods"]))
