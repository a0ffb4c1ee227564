"""Per-module mutmut score from mutants/src/systlab/<module>.py.meta (written by `mutmut run`).

python tests/mutation/summary.py infer/toys ...               # counts + survivor names
python tests/mutation/summary.py infer/fit:pulls,find_crossing  # only these functions (Class.method for methods)
python tests/mutation/summary.py --survivor-names infer/toys  # names to re-test: survived, no tests, not checked

MODULE is the path of the module under src/systlab, without .py (tests/mutation/run.sh passes it).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# exit codes as mutmut 3.8 records them (mutmut/stats.py)
STATUS = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
    37: "caught by type check",
    None: "not checked",
}


def function_key(name: str) -> str:
    """``systlab.fit.xǁLikelihoodǁnewton__mutmut_3`` -> ``Likelihood.newton``; ``x_pulls__mutmut_1`` -> ``pulls``."""
    mangled = name.rpartition("__mutmut_")[0].rpartition(".")[2]
    return mangled[2:] if mangled.startswith("x_") else mangled[1:].replace("ǁ", ".").strip(".")


def results(arg: str) -> dict[str, int | None]:
    """Exit codes of the mutants of ``module`` or ``module:func1,Class.method``."""
    module, _, funcs = arg.partition(":")  # module: its path under src/systlab without .py (infer/toys)
    meta = Path("mutants/src/systlab") / f"{module}.py.meta"
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    if funcs:
        wanted = set(funcs.split(","))
        codes = {k: v for k, v in codes.items() if function_key(k) in wanted}
    return codes


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--survivor-names":
        for module in argv[1:]:
            for name, code in sorted(results(module).items()):
                if STATUS.get(code) in ("survived", "no tests", "not checked"):
                    print(name)
        return
    for module in argv:
        res = results(module)
        counts = Counter(STATUS.get(code, f"exit {code}") for code in res.values())
        done = sum(n for s, n in counts.items() if s not in ("not checked", "no tests", "skipped"))
        caught = counts["killed"] + counts["timeout"]
        score = f"{100 * caught / done:.1f} %" if done else "n/a"
        print(
            f"{module}: {len(res)} mutants, "
            + ", ".join(f"{s} {n}" for s, n in sorted(counts.items()))
            + f"; score (killed+timeout)/tested = {score}"
        )
        for name, code in sorted(res.items()):
            if STATUS.get(code) == "survived":
                print(f"   survived: {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
