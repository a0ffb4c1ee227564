"""Workflow: ``snakemake -n`` on the default config, tiny-config end to end, and a no-op rerun.

Runs in a scratch directory holding symlinks to Snakefile, workflow, config and resources (as
tests/test_workflow.py does), so results never land in the project tree.

* dry run: ``python -m snakemake -n --cores 2`` (default config) vs the 2 s target (#19); same-run
  reference: ``python -m snakemake --version`` (interpreter + snakemake import), interleaved.
  ratio = 2 s / dry-run seconds (>= 1 met).
* tiny end to end: ``python -m snakemake --cores 2 --configfile config/tiny.yaml`` from scratch;
  ratio = 90 s / wall (>= 1 met).
* no-op rerun after completion: the same command again ("Nothing to be done"); reported as its
  seconds ÷ the default dry run's seconds.
* ``--with-default-e2e``: also the default config end to end (target <= 600 s; about 1.5-2 h on 2 cores, opt-in).
``--quick`` does the dry run only.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

try:
    from benchmarks.common import ROOT, Figure, check, interleave, main_for, median, scratch
    from benchmarks.job_seconds import parse_log
except ImportError:
    from common import ROOT, Figure, check, interleave, main_for, median, scratch
    from job_seconds import parse_log

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
DRY_RUN_TARGET = 2.0  # seconds, `snakemake -n` of the default config (issue #19; was 3 s)


def workdir(tmp: Path) -> Path:
    for name in ("Snakefile", "workflow", "config", "resources"):
        (tmp / name).symlink_to(ROOT / name)
    return tmp


def snakemake(cwd: Path, *args: str, timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    run = subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if run.returncode != 0:
        raise RuntimeError(f"snakemake {' '.join(args)} failed:\n{(run.stdout + run.stderr)[-3000:]}")
    return seconds, run


def run(quick: bool = False, default_e2e: bool | None = None) -> list[Figure]:
    if default_e2e is None:
        default_e2e = "--with-default-e2e" in sys.argv[1:]
    figures = []
    with scratch("workflow") as tmp:
        wd = workdir(Path(tmp))
        times = interleave(
            {
                "dry_run": lambda: snakemake(wd, "-n", "--cores", "2"),
                "snakemake_version": lambda: snakemake(wd, "--version"),
            },
            3 if quick else 5,
        )
        t_dry, t_ver = median(times["dry_run"]), median(times["snakemake_version"])
        n_jobs = _job_count(snakemake(wd, "-n", "--cores", "2")[1].stdout)
        figures.append(
            Figure(
                "workflow", "snakemake -n default config vs 2 s target", DRY_RUN_TARGET / t_dry,
                "2 s / dry-run seconds", ">= 1 (dry run <= 2 s)", check(DRY_RUN_TARGET / t_dry, ">=", 1.0),
                {"dry_run": t_dry, "snakemake_version": t_ver}, extra={"jobs": n_jobs},
            )
        )  # fmt: skip
        figures.append(
            Figure(
                "workflow", "dry run: DAG work beyond startup", (t_dry - t_ver) / t_dry,
                "(dry run - `snakemake --version`) / dry run", seconds={"dry_run": t_dry, "startup": t_ver},
            )
        )  # fmt: skip
        figures.append(startup_figure(3 if quick else 5))
        if quick:
            return figures
        tiny = ("--cores", "2", "--configfile", "config/tiny.yaml")
        t_e2e, _ = snakemake(wd, *tiny)
        figures.append(where_the_time_went(wd, t_e2e))
        t_noop, noop = snakemake(wd, *tiny)
        nothing = "Nothing to be done" in noop.stdout + noop.stderr
        figures.append(
            Figure(
                "workflow", "tiny config end to end vs 90 s target", 90.0 / t_e2e, "90 s / wall seconds",
                ">= 1 (<= 90 s)", check(90.0 / t_e2e, ">=", 1.0), {"tiny_e2e": t_e2e},
            )
        )  # fmt: skip
        figures.append(
            Figure(
                "workflow", "no-op rerun (tiny) / default dry run", t_noop / t_dry, "no-op seconds / dry-run seconds",
                "'Nothing to be done'", nothing, {"noop_rerun": t_noop, "dry_run": t_dry},
            )
        )  # fmt: skip
    if default_e2e:
        with scratch("workflow-default") as tmp:
            wd = workdir(Path(tmp))
            t_default, _ = snakemake(wd, "--cores", "2", timeout=4 * 3600)  # ~1.5-2 h measured in parts
            figures.append(
                Figure(
                    "workflow", "default config end to end vs 600 s target", 600.0 / t_default,
                    "600 s / wall seconds", ">= 1 (<= 10 min)", check(600.0 / t_default, ">=", 1.0),
                    {"default_e2e": t_default},
                )
            )  # fmt: skip
    return figures


def where_the_time_went(wd: Path, wall: float, top: int = 6) -> Figure:
    """The tiny run's summed job-seconds per wall second (cores kept busy) and its costliest rules."""
    log = max((wd / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    rules, _ = parse_log(log)
    total = sum(r.seconds for r in rules)
    costliest = {f"{r.rule}({r.jobs})": float(r.seconds) for r in rules[:top]}
    return Figure("workflow", "tiny: summed job-seconds / wall (cores busy)", total / wall,
                  "job-seconds / wall seconds", seconds={"job_seconds": float(total), **costliest},
                  extra={"jobs": sum(r.jobs for r in rules)})  # fmt: skip


def startup_figure(repeats: int) -> Figure:
    """Import cost every rule script pays before its work: the config-only start (``systlab.runtime``) and a fit
    job's imports, against a bare interpreter start, interleaved."""

    def python(code: str) -> None:
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=300)

    times = interleave(
        {
            "python": lambda: python("pass"),
            "runtime": lambda: python("import systlab.runtime"),
            "fit_job": lambda: python("import systlab.runtime, systlab.infer.fit, systlab.infer.toys"),
        },
        repeats,
    )
    t = {k: median(v) for k, v in times.items()}
    return Figure("workflow", "job start-up: fit-job imports / config only", t["fit_job"] / t["runtime"],
                  "import systlab.runtime+fit+toys / import systlab.runtime", seconds=t)  # fmt: skip


def _job_count(stdout: str) -> int | None:
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "total" and parts[1].isdigit():
            return int(parts[1])
    return None


if __name__ == "__main__":
    main_for(run)
