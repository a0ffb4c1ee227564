"""Rule figure_generator_closure: bias, width and coverage on generator-C / higher-order pseudo-data per model."""

from systlab.runtime import start
from systlab.studies.result_files import payloads_by_model
from systlab.visualize.generator_closure import plot_generator_closure
from systlab.visualize.style import save_figure

cfg = start(snakemake)  # noqa: F821
results = payloads_by_model(snakemake.input)  # noqa: F821 results/generator_closure/<model>/<replica>.json
save_figure(plot_generator_closure(results, lumi_fb=cfg.luminosity_fb), snakemake.output.pdf, cfg.run_id,  # noqa: F821
            snakemake.output.png)  # noqa: F821
