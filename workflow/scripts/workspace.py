"""Rule workspace: templates -> schema-validated pyhf workspace."""

from systlab.likelihood.workspace import build_workspace, workspace_settings, write_workspace
from systlab.runtime import log, start
from systlab.templates.histograms import read_templates

cfg = start(snakemake)  # noqa: F821
spec = build_workspace(read_templates(snakemake.input[0]), **workspace_settings(cfg))  # noqa: F821
write_workspace(spec, snakemake.output[0])  # noqa: F821
log.info("workspace with %d samples written", len(spec["channels"][0]["samples"]))
