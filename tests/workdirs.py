"""Scratch workflow directories for the tests that run Snakemake (test_workflow.py, test_workflow_dag.py)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY = ["--configfile", "config/tiny.yaml"]


def workdir(tmp: Path) -> Path:
    """A scratch copy of the project's workflow files (results land in the scratch dir)."""
    for name in ("Snakefile", "workflow", "profiles", "config", "resources", "tests"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def dry_run_jobs(stdout: str) -> dict[str, list[tuple[str, list[str]]]]:
    """rule -> [(wildcards line, outputs)] of every job a dry run lists."""
    jobs: dict[str, list[tuple[str, list[str]]]] = {}
    for block in stdout.split("\n\n"):
        lines = [line.strip() for line in block.splitlines()]
        rule = next((line.split()[-1].rstrip(":") for line in lines if line.startswith(("rule ", "localrule "))), None)
        if rule is None:
            continue
        fields = {k: v for k, _, v in (line.partition(": ") for line in lines) if v}
        jobs.setdefault(rule, []).append((fields.get("wildcards", ""), fields.get("output", "").split(", ")))
    return jobs
