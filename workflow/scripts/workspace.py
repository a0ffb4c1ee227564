"""Rule workspace: templates -> schema-validated pyhf workspace."""

from systlab.runtime import log, start
from systlab.templates import read_templates
from systlab.workspace import build_workspace, write_workspace

cfg = start(snakemake)  # noqa: F821
spec = build_workspace(
    read_templates(snakemake.input[0]),  # noqa: F821
    signal=cfg.signal,
    backgrounds=cfg.backgrounds,
    shape_nps={np_.name: np_.one_sided for np_ in cfg.shape_nps},
    norm_nps={np_.name: (np_.processes, np_.sigma) for np_ in cfg.norm_nps},
    lumi_sigma=cfg.lumi_sigma,
)
write_workspace(spec, snakemake.output[0])  # noqa: F821
log.info("workspace with %d samples written", len(spec["channels"][0]["samples"]))
