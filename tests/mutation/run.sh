#!/usr/bin/env bash
# Mutation testing of the statistics, workspace, toys and variation modules, by hand (not CI).
# See tests/MUTATION.md.
#
#   bash tests/mutation/run.sh                  # all six modules, one after the other
#   bash tests/mutation/run.sh workspace toys   # only these: workspace toys toy_io fit limits vary
#   bash tests/mutation/run.sh fit:pulls,find_crossing        # only these functions (Class.method for methods)
#   bash tests/mutation/run.sh --survivors toys # re-test only last run's survivors and untested mutants
#
# A module is one of the six short names below or a path under src/systlab without .py (likelihood/binned);
# a path must also be listed in only_mutate of [tool.mutmut] in pyproject.toml.
# mutmut (pinned in the dev extra; config in [tool.mutmut]) copies src/, tests/ and config/ into ./mutants
# (gitignored) and mutates only that copy, so src/ is never written; the check at the end fails the run if a
# mutmut trampoline ever shows up under src/. Never run `mutmut apply` outside a throw-away checkout: that one
# does write a mutant into src/. Each mutant runs only the quick tests (pytest_add_cli_args_test_selection)
# that call the mutated function. Env: MUTMUT_JOBS (parallel workers, default 2).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${VIRTUAL_ENV:-}" && -f .venv/bin/activate ]]; then
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
command -v mutmut >/dev/null || { echo "mutmut missing: pip install -e '.[dev]'" >&2; exit 2; }

declare -A MODULE_PATH=(
    [workspace]=likelihood/workspace [toys]=infer/toys [toy_io]=infer/toy_io [fit]=infer/fit [limits]=infer/limits
    [vary]=samples/vary
)

survivors_only=0
if [[ "${1:-}" == "--survivors" ]]; then survivors_only=1; shift; fi
modules=("$@")
[[ ${#modules[@]} -gt 0 ]] || modules=(workspace toys toy_io fit limits vary)
jobs="${MUTMUT_JOBS:-2}"
# one BLAS/OpenMP thread per worker: the workers are forked and the machine is small
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# every configured test file and module must exist (pytest would stop the whole run on a missing one)
python - <<'PY'
import sys, tomllib
from pathlib import Path
cfg = tomllib.loads(Path("pyproject.toml").read_text())["tool"]["mutmut"]
missing = [t for t in cfg["pytest_add_cli_args_test_selection"] + cfg["only_mutate"] if not Path(t).exists()]
if missing:
    sys.exit(f"[tool.mutmut] in pyproject.toml names files that do not exist: {missing}")
PY

src_clean() {  # mutmut writes trampolines (names with "mutmut") into the copy only; never into src/
    if grep -rlI --include='*.py' 'mutmut' src/; then
        echo "ERROR: src/ holds mutmut code (above): restore it with git checkout -- src/" >&2
        return 1
    fi
}
src_clean

if [[ -d mutants/src ]]; then
    # a module moved or deleted in src/ leaves a stale copy in mutants/ that the tests could import: start afresh
    stale=$(cd mutants/src && find . -name '*.py' ! -path '*/__pycache__/*' | while read -r f; do
        [[ -e "../../src/$f" ]] || echo "$f"; done | head -n 3)
    if [[ -n "$stale" ]]; then
        echo "mutants/ holds files no longer in src/ (${stale//$'\n'/, }…): removing mutants/ (cached results too)"
        rm -rf mutants
    fi
fi
mkdir -p mutants
# mutmut re-creates the .py files of its copy when src/ changes, but copies other files (the config schema,
# package data) only once: refresh them, or the copy's tests read a stale schema
if [[ -d mutants/src ]]; then
    (cd src && find . -type f ! -name '*.py' ! -path '*/__pycache__/*' ! -path '*.egg-info/*' \
        -exec cp -p --parents {} ../mutants/src/ \;)
fi

resolve() {  # short name or path under src/systlab -> path under src/systlab, without .py
    local m="${MODULE_PATH[$1]:-$1}"
    [[ -f "src/systlab/$m.py" ]] || { echo "no module src/systlab/$m.py" >&2; exit 2; }
    echo "$m"
}

if [[ $survivors_only == 1 ]]; then
    # read every module's list first: a change of the test selection resets all of mutmut's results at the
    # first run, which would hide the later modules' survivors
    for arg in "${modules[@]}"; do
        path=$(resolve "${arg%%:*}")
        funcs=""; [[ "$arg" == *:* ]] && funcs=":${arg#*:}"
        python tests/mutation/summary.py --survivor-names "$path$funcs" >"mutants/retest-${path//\//.}.txt"
    done
fi
for arg in "${modules[@]}"; do
    path=$(resolve "${arg%%:*}")
    dotted="systlab.${path//\//.}"
    funcs=""; [[ "$arg" == *:* ]] && funcs=":${arg#*:}"
    if [[ $survivors_only == 1 ]]; then
        mapfile -t names <"mutants/retest-${path//\//.}.txt"
        if [[ ${#names[@]} -eq 0 ]]; then echo "$arg: no survivors to re-test"; continue; fi
    elif [[ -n "$funcs" ]]; then  # mutmut's names: x_<function>, xǁ<Class>ǁ<method>
        names=()
        IFS=, read -ra fs <<<"${funcs#:}"
        for f in "${fs[@]}"; do
            if [[ "$f" == *.* ]]; then names+=("$dotted.xǁ${f%%.*}ǁ${f#*.}__mutmut_*")
            else names+=("$dotted.x_${f}__mutmut_*"); fi
        done
    else
        names=("$dotted.*")
    fi
    log="mutants/run-${path//\//.}.log"
    start=$(date +%s)
    echo "== $arg ($dotted): mutmut run (${#names[@]} name pattern(s)), log in $log"
    rc=0
    mutmut run --max-children "$jobs" "${names[@]}" >"$log" 2>&1 || rc=$?
    if [[ $rc != 0 ]]; then tail -n 30 "$log"; echo "mutmut run failed ($rc) for $arg" >&2; src_clean; exit "$rc"; fi
    echo "   $(( $(date +%s) - start )) s"
    python tests/mutation/summary.py "$path$funcs"
done
src_clean
