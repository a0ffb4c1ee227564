"""Run every stage benchmark; print one line per figure of merit; write benchmarks/results/latest.json.

    python benchmarks/run_all.py            # full run (~15-20 min on 2 cores)
    python benchmarks/run_all.py --quick    # ~3 min; smaller inputs, workflow dry run only
    python benchmarks/run_all.py --only fit,vary
    python benchmarks/run_all.py --with-default-e2e   # adds the default-config end-to-end run (~1.5-2 h)

Every figure is a ratio of two contenders timed alternately in the same run (medians), with the
absolute seconds beside it. ``benchmarks/results/`` is scratch output (git-ignored by its own
.gitignore).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from common import Figure, print_figures  # noqa: E402

STAGES = ("simulate", "ingest", "vary", "train", "score", "expected", "fit", "unbinned", "limits", "workflow",
          "startup")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout
    return {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "free_g": free,
        "loadavg": os.getloadavg(),
        "python": sys.version.split()[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(STAGES), help="comma-separated stages")
    parser.add_argument("--with-default-e2e", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    args = parser.parse_args()
    stages = [s.strip() for s in args.only.split(",") if s.strip()]
    figures: list[Figure] = []
    errors: dict[str, str] = {}
    durations: dict[str, float] = {}
    info = machine()
    print(f"# systlab benchmarks {info['date']}  nproc={info['nproc']}  cpu={info['cpu']}  "
          f"load={info['loadavg'][0]:.2f}  quick={args.quick}", flush=True)  # fmt: skip
    start = time.perf_counter()
    for stage in stages:
        t0 = time.perf_counter()
        try:
            module = importlib.import_module(f"bench_{stage}")
            if stage == "workflow":
                got = module.run(args.quick, default_e2e=args.with_default_e2e)
            else:
                got = module.run(args.quick)
            print_figures(got)
            figures += got
        except Exception:  # one broken stage must not hide the others
            errors[stage] = traceback.format_exc()
            print(f"[FAIL] {stage}: {errors[stage].strip().splitlines()[-1]}", flush=True)
        durations[stage] = time.perf_counter() - t0
    total = time.perf_counter() - start
    missed = [f"{f.stage}: {f.name}" for f in figures if f.met is False]
    print(f"# {len(figures)} figures, {sum(f.met is True for f in figures)} targets met, {len(missed)} missed, "
          f"{len(errors)} stage errors, {total:.0f} s", flush=True)  # fmt: skip
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    (out.parent / ".gitignore").write_text("*\n")
    payload = {
        "machine": info,
        "quick": args.quick,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "seconds_total": total,
        "seconds_per_stage": durations,
        "figures": [f.to_dict() for f in figures],
        "missed": missed,
        "errors": errors,
    }
    out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"# wrote {out}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
