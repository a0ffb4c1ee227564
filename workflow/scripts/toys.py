"""Rule toys_chunk: one chunk of the two toy studies at the configured toy truth (Config.toy_truth: mu = 1,
no NP shift) of a fixed-classifier replica.

Held-out toys (the FAIR-Universe way): Poisson counts from the toy split's expectation, an independent MC
sample, so their coverage includes the MC-statistical non-closure between it and the templates. Model toys:
Poisson counts from the workspace's own expectation, which test the statistical procedure alone (Wilks).
Both fluctuate the auxiliary measurements around nominal (frequentist toys of a fixed truth). Toy i draws
from its own stream, so any chunking gives the same toys.
"""


from systlab.atomic import write_json
from systlab.infer.toys import chunk_bounds, chunk_payload, run_toys, study_expectations, toy_truth
from systlab.likelihood.workspace import read_workspace
from systlab.runtime import log, start
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
truth = toy_truth(cfg)
spec = read_workspace(snakemake.input.workspace)  # noqa: F821
seed = cfg.seed_stream(snakemake.wildcards.method, snakemake.wildcards.replica)  # noqa: F821
first, stop = chunk_bounds(cfg.n_toys, cfg.toy_chunks)[int(snakemake.wildcards.chunk)]  # noqa: F821
expected = study_expectations(read_templates(snakemake.input.templates), spec, truth, cfg.signal)  # noqa: F821
chunks = {}
for name, stream in (("held_out", seed), ("model", seed + 1)):
    chunks[name] = run_toys(spec, expected[name], truth.mu, first, stop, stream, cfg.mu_range, fluctuate_aux=True)
    log.info("%s toys %d-%d: %.3f s/toy", name, first, stop, chunks[name].seconds / max(stop - first, 1))
write_json(snakemake.output[0], {name: chunk_payload(c) for name, c in chunks.items()})  # noqa: F821
