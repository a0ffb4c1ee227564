"""systlab's TES/JES/soft-MET variations against the organisers' ``HiggsML.systematics`` on >= 100k events (issue #22
part 2): prints the per-feature agreement at every point (systlab.studies.fair_crosscheck) and the soft-MET comparison.

    python benchmarks/fair_systematics.py [--generated 80000] [--seed 7] [--out report.md]

``--generated`` events are simulated per process (htautau, ztautau, ttbar, diboson); those passing the simulator's
loose thresholds are the events in the challenge's layout both sides start from. Not part of run_all.py (it checks
numbers, not speed); README's FAIR-Universe section quotes its output. Needs the ``fair`` extra.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from systlab.studies import fair_crosscheck as fc

#: (tes, jes) in the challenge layout: systlab's priors are TES 3 %, JES 1 % (config/config.yaml), so ±3σ is
#: TES 0.91–1.09 and JES 0.97–1.03; nominal included (the package rounds and cuts there too).
LAYOUT_POINTS = [(1.0, 1.0), (0.91, 1.0), (0.97, 1.0), (0.99, 1.0), (1.01, 1.0), (1.03, 1.0), (1.09, 1.0),
                 (1.0, 0.97), (1.0, 0.99), (1.0, 1.01), (1.0, 1.03), (0.97, 1.03), (1.09, 0.97)]  # fmt: skip
#: With every jet given to systlab: what the challenge's two-jet layout cannot express.
ALL_JET_POINTS = [(1.0, 1.0), (1.03, 1.0), (1.0, 0.97), (1.0, 1.03)]
SOFT_MET_WIDTHS = [1.0, 3.0, 9.0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=80_000, help="events simulated per process")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    start = time.perf_counter()
    events = fc.simulated_events(args.generated, args.seed)
    print(f"{len(events):,} events in the challenge layout ({args.generated:,} generated per process, "
          f"seed {args.seed}); {time.perf_counter() - start:.0f} s")  # fmt: skip
    agreements = []
    for jets, points in (("layout", LAYOUT_POINTS), ("all", ALL_JET_POINTS)):
        for tes, jes in points:
            t0 = time.perf_counter()
            agreements.append(fc.compare(events, tes, jes, jets))
            row = fc.summary_rows(agreements[-1:])[0]
            print(f"{jets:6s} TES {tes:<5g} JES {jes:<5g} worst {row['worst_agree']:.6f} ({row['worst_feature']}), "
                  f"unexplained {row['unexplained']}; "
                  f"kept {row['systlab']:,} / {row['package']:,}, one side only {row['systlab_only']} / "
                  f"{row['package_only']}; {time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
    soft = [fc.compare_soft_met(events, width) for width in SOFT_MET_WIDTHS]
    text = "\n".join([
        f"# systlab vs HiggsML.systematics: {len(events):,} events ({args.generated:,} generated per process, "
        f"seed {args.seed})", "", "## summary", "",
        "| jets | TES | JES | worst agree | feature | unexplained | systlab kept | package kept | systlab only | "
        "package only | one side unexplained |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *(f"| {r['jets']} | {r['tes']:g} | {r['jes']:g} | {r['worst_agree']:.6f} | {r['worst_feature']} | "
          f"{r['unexplained']} | {r['systlab']:,} | {r['package']:,} | {r['systlab_only']} | {r['package_only']} | "
          f"{r['one_side_unexplained']} |"
          for r in fc.summary_rows(agreements)),
        "", "## per point", "", fc.report(agreements, soft),
        f"total {time.perf_counter() - start:.0f} s",
    ])  # fmt: skip
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
