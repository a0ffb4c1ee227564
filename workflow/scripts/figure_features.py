"""Rule figure_features: input features per process at nominal and TES +-1 sigma, ratio panels below."""

from systlab.runtime import log, start
from systlab.studies.feature_histograms import feature_histograms, signal_scale
from systlab.studies.result_files import SampleKey, read_samples
from systlab.visualize.features import plot_features
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
features = list(snakemake.params.features)  # noqa: F821
tables = read_samples(snakemake.input, ["weight", "split", *features])  # noqa: F821
histograms = [feature_histograms(tables, f, cfg.splits) for f in features]
yields = {p: histograms[0].counts[SampleKey(p, "nominal")].sum() for p in cfg.processes}
scale = signal_scale(yields[cfg.signal], sum(yields[p] for p in cfg.backgrounds))
log.info("nominal yields %s; signal drawn x%g", yields, scale)
fig = plot_features(histograms, cfg.signal, cfg.backgrounds, scale, cfg.luminosity_fb)
save_figure(fig, snakemake.output.pdf, cfg.run_id, snakemake.output.png)  # noqa: F821
