"""Seconds per toy fit, per method, as a finished run measured them (results/toys/<model>/<replica>.json).

Each toy is a whole pseudo-experiment: MLE, both 68% crossings and q_mu(mu_true). Prints, per model, the
mean over replicas of the held-out and the model toys' seconds per toy and what 1000 toys cost at that rate.

    .venv/bin/python benchmarks/toy_seconds.py results
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def toy_seconds(results: Path) -> dict[str, dict[str, list[float]]]:
    """model -> toy set ("held_out", "model") -> seconds per toy of each replica."""
    out: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((results / "toys").glob("*/r*.json")):
        payload = json.loads(path.read_text())
        for name, entry in (("held_out", payload), ("model", payload.get("model"))):
            if entry and entry.get("seconds_per_toy") is not None:
                out[path.parent.name][name].append(float(entry["seconds_per_toy"]))
    if not out:
        raise ValueError(f"{results / 'toys'}: no toy results (results/toys/<model>/<replica>.json)")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    args = parser.parse_args()
    print(f"{'model':24s} {'replicas':>8s} {'held-out s/toy':>15s} {'model s/toy':>12s} {'s per 1000 toys':>16s}")
    for model, sets in sorted(toy_seconds(args.results).items()):
        means = {k: sum(v) / len(v) for k, v in sets.items()}
        both = sum(means.values()) / len(means)
        print(f"{model:24s} {len(next(iter(sets.values()))):8d} {means.get('held_out', float('nan')):15.3f} "
              f"{means.get('model', float('nan')):12.3f} {1000 * both:16.0f}")


if __name__ == "__main__":
    main()
