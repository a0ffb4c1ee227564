"""Where a workflow run's time went: job-seconds per rule, read from one snakemake log.

Each job's seconds run from its "localrule <name>:" block to its "Finished jobid" line (timestamps are
whole seconds, so short jobs read as 0-1 s). Prints rules by total job-seconds, with the job count,
the mean per job and the share of the run's summed job-seconds; the wall time of the log comes last.

    .venv/bin/python benchmarks/job_seconds.py .snakemake/log/<run>.snakemake.log
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
START = re.compile(r"^(?:local)?rule (\w+):$")
JOBID = re.compile(r"^\s+jobid: (\d+)$")
FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)$")


class RuleTime(NamedTuple):
    """Summed seconds of a rule's finished jobs."""

    rule: str
    jobs: int
    seconds: float


def parse_log(path: Path) -> tuple[list[RuleTime], float]:
    """Per-rule job-seconds of the finished jobs in a snakemake log, and the log's first-to-last stamp span."""
    started: dict[int, datetime] = {}
    totals: dict[str, list[float]] = defaultdict(list)
    stamp = first = None
    pending_start = None
    for line in path.read_text().splitlines():
        if match := STAMP.match(line):
            stamp = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first = first or stamp
        elif START.match(line):
            pending_start = stamp
        elif (match := JOBID.match(line)) and pending_start is not None:
            started[int(match.group(1))] = pending_start
            pending_start = None
        elif (match := FINISHED.match(line)) and int(match.group(1)) in started:
            totals[match.group(2)].append((stamp - started.pop(int(match.group(1)))).total_seconds())
    if first is None:
        raise ValueError(f"{path}: no timestamped job lines: not a snakemake run log")
    rules = [RuleTime(rule, len(v), sum(v)) for rule, v in totals.items()]
    return sorted(rules, key=lambda r: -r.seconds), (stamp - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--top", type=int, default=25, help="rules to print (default 25)")
    args = parser.parse_args()
    rules, wall = parse_log(args.log)
    total = sum(r.seconds for r in rules)
    print(f"{'rule':32s} {'jobs':>5s} {'job-s':>8s} {'s/job':>7s} {'share':>6s}")
    for r in rules[: args.top]:
        print(f"{r.rule:32s} {r.jobs:5d} {r.seconds:8.0f} {r.seconds / r.jobs:7.1f} {r.seconds / total:6.1%}")
    jobs = sum(r.jobs for r in rules)
    print(f"{'all':32s} {jobs:5d} {total:8.0f} {total / max(jobs, 1):7.1f}   wall {wall:.0f} s "
          f"(job-seconds / wall = {total / max(wall, 1):.2f} cores busy)")


if __name__ == "__main__":
    main()
