"""Seconds per toy fit, per method, as a finished run measured them (the toys rules' Snakemake benchmark files,
results/benchmarks/toys/<model>/<replica>.tsv or .../<replica>/chunk<i>.tsv, and results/toys/<model>/<replica>.json).

Each toy is a whole pseudo-experiment: MLE, both 68% crossings and q_mu(mu_true). A toys job runs the held-out and
the model toys of one replica, so its wall time (imports included) over both sets' toys is the seconds per toy of
either. Prints, per model, the mean over replicas, what 1000 toys cost at that rate and, where the coverage files
record it (the batch engine's ``n_fallback``), how many toys were refitted one by one on the per-toy path, over all
replicas and both toy sets. (The results themselves hold no wall time: two clean runs write the same bytes.)

    .venv/bin/python benchmarks/toy_seconds.py results
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

SETS = ("held_out", "model")


def toy_seconds(results: Path) -> dict[str, dict[str, list[float]]]:
    """model -> toy set ("held_out", "model") -> seconds per toy of each replica."""
    return {model: sets["seconds"] for model, sets in toy_stats(results).items()}


def toy_stats(results: Path) -> dict[str, dict[str, dict[str, list]]]:
    """model -> {"seconds", "n_toys", "n_fallback"} -> toy set -> one value per replica (n_fallback: None where
    the file predates it); a replica without a benchmark file is skipped."""
    out: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for path in sorted((results / "toys").glob("*/r*.json")):
        seconds = job_seconds(results / "benchmarks" / "toys" / path.parent.name, path.stem)
        payload = json.loads(path.read_text())
        entries = [(name, e) for name, e in zip(SETS, (payload, payload.get("model")), strict=True) if e]
        n_total = sum(int(e.get("n_toys", 0)) for _, e in entries)
        if seconds is None or not n_total:
            continue
        for name, entry in entries:
            stats = out[path.parent.name]
            stats["seconds"][name].append(seconds / n_total)
            stats["n_toys"][name].append(int(entry.get("n_toys", 0)))
            fallback = entry.get("n_fallback")
            stats["n_fallback"][name].append(None if fallback is None else int(fallback))
    if not out:
        raise ValueError(f"{results / 'toys'}: no toy results with benchmark files (results/benchmarks/toys/...)")
    return out


def job_seconds(folder: Path, replica: str) -> float | None:
    """Wall seconds of one replica's toys job(s): its benchmark file, or the sum over its chunk jobs' files."""
    files = [folder / f"{replica}.tsv"] if (folder / f"{replica}.tsv").exists() else sorted(
        (folder / replica).glob("chunk*.tsv"))  # fmt: skip
    if not files:
        return None
    return sum(float(f.read_text().splitlines()[1].split("\t")[0]) for f in files)


def fallback_text(stats: dict[str, dict[str, list]]) -> str:
    """Toys refitted one by one / toys, over the replicas and sets that record n_fallback; "-" if none does."""
    pairs = [
        (f, n)
        for name in stats["n_fallback"]
        for f, n in zip(stats["n_fallback"][name], stats["n_toys"][name], strict=True)
        if f is not None
    ]
    return f"{sum(f for f, _ in pairs)}/{sum(n for _, n in pairs)}" if pairs else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    print(f"{'model':24s} {'replicas':>8s} {'held-out s/toy':>15s} {'model s/toy':>12s} {'s per 1000 toys':>16s} "
          f"{'n_fallback':>12s}")  # fmt: skip
    for model, stats in sorted(toy_stats(args.results).items()):
        sets = stats["seconds"]
        means = {k: sum(v) / len(v) for k, v in sets.items()}
        both = sum(means.values()) / len(means)
        print(f"{model:24s} {len(next(iter(sets.values()))):8d} {means.get('held_out', float('nan')):15.3f} "
              f"{means.get('model', float('nan')):12.3f} {1000 * both:16.0f} {fallback_text(stats):>12s}")  # fmt: skip


if __name__ == "__main__":
    main()
