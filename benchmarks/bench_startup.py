"""Job start-up: the import time of every non-training rule script against the 0.5 s target.

For each script in ``workflow/scripts/`` except the training ones (``TRAINING``), the script's own top-level import
statements (read with ``ast``, so exactly what the script imports, in its order) run in a fresh interpreter; the
child times them with ``time.perf_counter`` and prints the seconds (interpreter start-up not included). Same-run
reference: what snakemake's ``script:`` preamble imports before the script's first line (``pickle``,
``snakemake.logging``, ``snakemake.iocontainers``, ``snakemake.io``: the unpickled ``snakemake`` object needs them),
timed the same way and interleaved with the scripts.

ratio = 0.5 s / median import seconds of the script (>= 1 met). ``--quick``: 3 repeats instead of 5.

    python benchmarks/bench_startup.py [--quick] [script.py ...]   # some scripts only
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

try:
    from benchmarks.common import ROOT, Figure, check, median, print_figures
except ImportError:
    from common import ROOT, Figure, check, median, print_figures

SCRIPTS = ROOT / "workflow" / "scripts"
TRAINING = frozenset({"train.py", "paper_toy_train.py"})  # rules that train: torch is their work, not start-up
TARGET = 0.5  # seconds
PREAMBLE = (
    "import pickle\nfrom snakemake.logging import logger\nfrom snakemake.iocontainers import Snakemake\n"
    "import snakemake.io"
)


def import_block(path: Path) -> str:
    """The top-level ``import``/``from ... import`` statements of a script, in order (its import block)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return "\n".join(ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom))


def import_seconds(code: str) -> float:
    """Seconds a fresh interpreter spends running ``code`` (timed inside the child, start-up excluded)."""
    timed = f"import time as _t\n_t0 = _t.perf_counter()\n{code}\nprint(_t.perf_counter() - _t0)"
    run = subprocess.run([sys.executable, "-c", timed], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        raise RuntimeError(f"import block failed:\n{code}\n{run.stderr[-2000:]}")
    return float(run.stdout.strip().splitlines()[-1])


def scripts(names: list[str] | None = None) -> list[Path]:
    found = sorted(p for p in SCRIPTS.glob("*.py") if p.name not in TRAINING)
    return [p for p in found if p.name in names] if names else found


def run(quick: bool = False, names: list[str] | None = None) -> list[Figure]:
    repeats = 3 if quick else 5
    blocks = {p.stem: import_block(p) for p in scripts(names)}
    blocks["(snakemake script preamble)"] = PREAMBLE
    times: dict[str, list[float]] = {name: [] for name in blocks}
    order = list(blocks)
    for name in order:  # warm-up: page cache, .pyc files
        import_seconds(blocks[name])
    for r in range(repeats):  # round-robin, order flipped every round
        for name in order if r % 2 == 0 else order[::-1]:
            times[name].append(import_seconds(blocks[name]))
    preamble = median(times.pop("(snakemake script preamble)"))
    figures = []
    for name, values in times.items():
        t = median(values)
        figures.append(
            Figure(
                "startup", f"{name}.py imports vs 0.5 s", TARGET / t, "0.5 s / import seconds", ">= 1 (<= 0.5 s)",
                check(TARGET / t, ">=", 1.0), {"imports": t, "snakemake_preamble": preamble},
            )
        )  # fmt: skip
    if figures:
        worst = min(figures, key=lambda f: f.ratio)
        met = sum(bool(f.met) for f in figures)
        figures.append(
            Figure(
                "startup", f"slowest script ({worst.name.split('.py')[0]}.py)", worst.ratio,
                "0.5 s / import seconds", ">= 1 (<= 0.5 s)", worst.met, worst.seconds,
                extra={"scripts": len(figures), "met": met},
            )
        )  # fmt: skip
    return figures


if __name__ == "__main__":
    args = sys.argv[1:]
    print_figures(run("--quick" in args, [a for a in args if a.endswith(".py")] or None))
