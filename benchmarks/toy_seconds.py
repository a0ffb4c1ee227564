"""Seconds per toy fit, per method, as a finished run measured them (results/toys/<model>/<replica>.json).

Each toy is a whole pseudo-experiment: MLE, both 68% crossings and q_mu(mu_true). Prints, per model, the
mean over replicas of the held-out and the model toys' seconds per toy, what 1000 toys cost at that rate and,
where the coverage files record it (the batch engine's ``n_fallback``), how many toys were refitted one by one
on the per-toy path, over all replicas and both toy sets.

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
    the file predates it)."""
    out: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for path in sorted((results / "toys").glob("*/r*.json")):
        payload = json.loads(path.read_text())
        for name, entry in zip(SETS, (payload, payload.get("model")), strict=True):
            if entry and entry.get("seconds_per_toy") is not None:
                stats = out[path.parent.name]
                stats["seconds"][name].append(float(entry["seconds_per_toy"]))
                stats["n_toys"][name].append(int(entry.get("n_toys", 0)))
                fallback = entry.get("n_fallback")
                stats["n_fallback"][name].append(None if fallback is None else int(fallback))
    if not out:
        raise ValueError(f"{results / 'toys'}: no toy results (results/toys/<model>/<replica>.json)")
    return out


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
