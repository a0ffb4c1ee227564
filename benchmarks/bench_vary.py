"""Variations: cost of every variation of one process ÷ cost of one nominal pass.

Both contenders are ``systlab.samples.vary.vary_process`` on the same canonical table (simulated Z->tautau,
ingested through ``rawio.write_root`` + ``ingest.ingest``): once with the full variation list of the
default config (``load_config_files("config/config.yaml").variations()``), once with ``[nominal]``
only. ratio = all / nominal; target <= n_variations x 0.5 (shared read, shared draws, vectorisation).
Also reported: the per-variation marginal cost (all - nominal) / (n - 1) ÷ nominal. ``extra`` says how
many of the n variations are distinct NP points (``vary.np_point``): a repeated point (e.g. soft MET
-1 sigma = +1 sigma, the pseudo-data truths) is written as a copy of the first file, not recomputed.
"""

from __future__ import annotations

from pathlib import Path

try:
    from benchmarks.common import ROOT, Figure, check, interleave, main_for, median, scratch
except ImportError:
    from common import ROOT, Figure, check, interleave, main_for, median, scratch

from systlab.config import load_config_files
from systlab.samples.ingest import ingest, simulated_spec
from systlab.samples.rawio import write_root
from systlab.samples.simulate import process_seed, simulate_process
from systlab.samples.vary import Variation, np_point, vary_process


def canonical_table(tmp: Path, generated: int) -> Path:
    """A canonical Parquet table of simulated Z->tautau events, made the way the workflow makes it."""
    raw, out = tmp / "ztautau.root", tmp / "ztautau.parquet"
    write_root(simulate_process("ztautau", generated, seed=3), raw)
    ingest(simulated_spec(raw), out, 200_000)
    return out


def run(quick: bool = False) -> list[Figure]:
    generated = 500_000 if quick else 1_500_000  # default config: 1.5e6 ztautau generated
    repeats = 3 if quick else 5
    cfg = load_config_files(ROOT / "config" / "config.yaml")
    variations = list(cfg.variations())
    nominal = [Variation("nominal", {})]
    with scratch("vary") as tmp:
        tmp = Path(tmp)
        table = canonical_table(tmp, generated)
        out_all = {v.name: tmp / "samples" / f"{v.name}.parquet" for v in variations}
        (tmp / "samples").mkdir()
        common = dict(label=0, seed=cfg.seed, fractions=cfg.splits, draw_seed=process_seed(cfg.seed + 1, "ztautau"))
        holder = {}

        def all_variations():
            holder["all"] = vary_process(table, variations, out_all, **common)

        def nominal_only():
            holder["nominal"] = vary_process(table, nominal, {"nominal": out_all["nominal"]}, **common)

        times = interleave({"all": all_variations, "nominal": nominal_only}, repeats)
    n = len(variations)
    t_all, t_nom = median(times["all"]), median(times["nominal"])
    ratio = t_all / t_nom
    bound = 0.5 * n
    marginal = (t_all - t_nom) / (n - 1) / t_nom
    events = holder["all"].events_in
    return [
        Figure(
            "vary", f"all {n} variations / one nominal pass ({events} ev)", ratio, "all-variations time / nominal time",
            f"<= {bound:g} (= {n} x 0.5)", check(ratio, "<=", bound), {"all": t_all, "nominal": t_nom},
            extra={"n_variations": n, "distinct_np_points": len({np_point(v) for v in variations}),
                   "events_in": events, "variations": [v.name for v in variations]},
        ),
        Figure(
            "vary", "marginal cost of one more variation / nominal", marginal,
            "(all - nominal)/(n-1) / nominal", "<= 0.5", check(marginal, "<=", 0.5),
            {"all": t_all, "nominal": t_nom},
        ),
    ]  # fmt: skip


if __name__ == "__main__":
    main_for(run)
