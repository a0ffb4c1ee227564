"""Rules figure_toy_*: the paper-toy figures (which one from the rule's params.figure)."""

from systlab.papertoys.evaluate import group_models
from systlab.papertoys.figure_data import decision_maps, pivot_output_histograms, ratio_profiles
from systlab.runtime import start
from systlab.visualize.paper_toys import plot_decision_maps, plot_likelihood_ratio, plot_pivot_outputs
from systlab.visualize.style import save_figure

smk = snakemake  # noqa: F821
cfg = start(smk)
settings = cfg.paper_toys
models = group_models(smk.input)
figure = smk.params.figure
if figure == "decision_boundary":
    fig = plot_decision_maps(decision_maps(models))
elif figure == "likelihood_ratio":
    fig = plot_likelihood_ratio(ratio_profiles(models, settings.test_events, settings.seed))
elif figure == "pivot_outputs":
    fig = plot_pivot_outputs(pivot_output_histograms(models, settings.test_events, settings.seed))
else:
    raise ValueError(f"rule {smk.rule}: unknown params.figure {figure!r}")
save_figure(fig, smk.output.pdf, cfg.run_id, smk.output.png)
