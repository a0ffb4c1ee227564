#!/usr/bin/env bash
# End-to-end test of the SLURM profile against a real single-node SLURM on this machine.
#
#   sudo tests/cluster/slurm_e2e.sh            # Debian/Ubuntu, as root; a slice of the tiny config, ~5-8 minutes
#   SYSTLAB_SLURM_TARGETS=all tests/cluster/slurm_e2e.sh    # the whole tiny config (~260 jobs; ~30 minutes here)
#   SYSTLAB_SLURM_KEEP=1 tests/cluster/slurm_e2e.sh         # leave the test SLURM running afterwards
#   SYSTLAB_SLURM_REUSE_LOCAL=1 tests/cluster/slurm_e2e.sh  # keep a previous complete local run (saves minutes)
#   SYSTLAB_SLURM_CHECK_ONLY=1 tests/cluster/slurm_e2e.sh   # redo only the checks on the last runs (jobs are
#                                                           # restored from slurmctld's saved state)
#
# What it does:
#   1. installs slurm-wlm + munge with apt-get (only if missing) and starts munged as the munge user;
#   2. writes /etc/slurm/slurm.conf + gres.conf (refuses if a slurm.conf it did not write exists; state, spool
#      and logs under $SYSTLAB_SLURM_STATE, default /var/tmp/systlab-slurm). The node declares two fake GPUs
#      (gres gpu:fake:2 on device nodes made with mknod); no slurmdbd, so job status comes from squeue;
#   3. starts slurmctld/slurmd (refuses if a SLURM it did not start is running), waits until the node is idle;
#   4. runs config/tiny.yaml locally (`snakemake --cores 2`) and through `--profile workflow/profiles/slurm`,
#      each in a scratch work dir (symlinks to Snakefile, workflow, config, resources). By default the targets are
#      a slice that runs every kind of job once or more (simulate, ingest, vary, two GPU trainings, score with
#      its templates and workspace, fit, toys, metrics, a figure, the theory study): each sbatch job pays a Snakemake
#      start-up on the node, so the whole tiny DAG takes ~30 minutes on a 2-core test node; CI runs the slice;
#   5. checks: every job was submitted with sbatch and completed in SLURM (snakemake log vs slurmctld's
#      job records vs the dry run's job count), training jobs and only they requested a GPU (sbatch lines
#      and slurmctld's TresPerJob), fit results, workspaces and templates are byte-identical to the local run;
#   6. prints a summary and stops the daemons it started (unless SYSTLAB_SLURM_KEEP=1).
# Re-running is safe: packages are reused, its own daemons are restarted with a clean state, scratch dirs
# are recreated. Exits non-zero with a message on the first failed check.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE="${SYSTLAB_SLURM_STATE:-/var/tmp/systlab-slurm}"
WORK="${SYSTLAB_SLURM_WORK:-/var/tmp/systlab-slurm-e2e}"
KEEP="${SYSTLAB_SLURM_KEEP:-0}"
if [[ -n "${SYSTLAB_PYTHON:-}" ]]; then PY="$SYSTLAB_PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY="$(command -v python3)"; fi
PYBIN="$(dirname "$PY")"
export PATH="$PYBIN:$PATH"
HOST="$(hostname -s)"
# targets of both runs: the default slice (a figure whose only ancestors are the samples: templates_<model> is drawn
# with its whole family since the figure fusion, which would pull in every model), or `all` for the whole tiny DAG
DEFAULT_TARGETS="results/fits/baseline/r0/asimov.json results/toys/baseline/r0.json
  results/figures/features.pdf results/models/aware/metrics.json results/theory/summary.json"
TARGETS="${SYSTLAB_SLURM_TARGETS:-$DEFAULT_TARGETS}"
read -r -a TARGET_ARGS <<<"$(echo $TARGETS)"
GPU_DEVS=(/dev/systlab-fakegpu0 /dev/systlab-fakegpu1)

say() { printf '[slurm_e2e] %s\n' "$*"; }
fail() { printf '[slurm_e2e] FAIL: %s\n' "$*" >&2; exit 1; }
trap 'fail "unexpected error (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# ---------------------------------------------------------------- 0. preflight
[[ "$(id -u)" == 0 ]] || fail "must run as root (installs packages, starts munged/slurmctld/slurmd)"
command -v apt-get >/dev/null || fail "apt-get not found: this script targets Debian/Ubuntu"
"$PY" -c "import snakemake, snakemake_executor_plugin_slurm" 2>/dev/null \
  || fail "$PY lacks snakemake and snakemake-executor-plugin-slurm (pip install -e '.[dev]')"

# ---------------------------------------------------------------- 1. packages
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
   || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed"
  apt-get install -y -qq slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi


# ---------------------------------------------------------------- 2. munge
STARTED_MUNGED=0
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none; fi
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  say "starting munged as the munge user"
  runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
  STARTED_MUNGED=1
  for _ in $(seq 20); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.5; done
  munge -n | unmunge >/dev/null || fail "munge credential round trip fails"
fi

# ---------------------------------------------------------------- 3. slurm.conf, gres.conf, fake GPUs
mkdir -p "$STATE"/{ctld,spool,log,run} /etc/slurm
# The config must live at /etc/slurm/slurm.conf: the plugin's job step strips SLURM_* variables (SLURM_CONF
# included) before its inner `srun`, which then only finds the default path. An existing slurm.conf that this
# script did not write is never touched.
MARK="# written by systlab tests/cluster/slurm_e2e.sh"
SLURM_CONF=/etc/slurm/slurm.conf; GRES_CONF=/etc/slurm/gres.conf
for f in "$SLURM_CONF" "$GRES_CONF"; do
  if [[ -e "$f" ]] && ! head -n 1 "$f" | grep -qF "$MARK"; then
    fail "$f exists and was not written by this script; refusing to replace a real SLURM configuration"
  fi
done
export SLURM_CONF
PHYS_MB=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
# the profile asks 8 GB for training; SlurmdParameters=config_overrides lets a smaller test VM declare it
REAL_MB=$(( PHYS_MB > 16384 ? PHYS_MB - 1024 : 16384 ))

stop_own_daemons() {
  local name pid
  for name in slurmd slurmctld; do
    pid="$(cat "$STATE/run/$name.pid" 2>/dev/null || true)"
    if [[ -n "$pid" ]] && [[ "$(cat /proc/"$pid"/comm 2>/dev/null)" == "$name" ]]; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do [[ -d /proc/$pid ]] || break; sleep 0.2; done
    fi
    rm -f "$STATE/run/$name.pid"
  done
}
# a previous run of this script (e.g. with SYSTLAB_SLURM_KEEP=1) is restarted with the new config
stop_own_daemons
for name in slurmctld slurmd; do
  if pid="$(pgrep -x "$name")"; then
    fail "a $name not started by this script is running (pid $pid); refusing to disturb an existing SLURM"
  fi
done

cat >"$SLURM_CONF" <<EOF
$MARK -- a throwaway single-node cluster; removed at the end
ClusterName=systlab-test
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups in containers/VMs of this kind
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
GresTypes=gpu
# no slurmdbd: finished jobs stay visible to squeue/scontrol for an hour, and every finished job is
# appended to a text file (the record this script checks against)
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
MinJobAge=3600
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=2 RealMemory=$REAL_MB Gres=gpu:fake:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
cat >"$GRES_CONF" <<EOF
$MARK
# two fake GPUs: character devices made with mknod; jobs only need to request them
AutoDetect=off
NodeName=$HOST Name=gpu Type=fake File=/dev/systlab-fakegpu[0-1]
EOF
for i in 0 1; do
  [[ -c "${GPU_DEVS[$i]}" ]] || mknod -m 0666 "${GPU_DEVS[$i]}" c 195 "$i" || fail "mknod ${GPU_DEVS[$i]} failed"
done

cleanup() {
  local rc=$?
  if [[ "$KEEP" == 1 ]]; then
    say "SYSTLAB_SLURM_KEEP=1: test SLURM left running (export SLURM_CONF=$SLURM_CONF to use it)"
  else
    stop_own_daemons
    rm -f "${GPU_DEVS[@]}" "$SLURM_CONF" "$GRES_CONF"
    if [[ "$STARTED_MUNGED" == 1 ]]; then
      local mpid; mpid="$(cat /run/munge/munged.pid 2>/dev/null || true)"
      [[ -n "$mpid" ]] && kill "$mpid" 2>/dev/null || true
    fi
  fi
  [[ -n "${POLL_PID:-}" ]] && kill "$POLL_PID" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- 4. start and wait for an idle node
[[ "${SYSTLAB_SLURM_CHECK_ONLY:-0}" == 1 ]] || : >"$STATE/log/jobcomp.log"; : >"$STATE/log/slurmctld.log"; : >"$STATE/log/slurmd.log"
say "starting slurmctld and slurmd (SLURM_CONF=$SLURM_CONF)"
CHECK_ONLY="${SYSTLAB_SLURM_CHECK_ONLY:-0}"
# -c: start with no jobs; in check-only mode keep the saved job records of the last run (MinJobAge=3600)
slurmctld $([[ "$CHECK_ONLY" == 1 ]] || echo -c) -f "$SLURM_CONF" || fail "slurmctld did not start; see $STATE/log/slurmctld.log"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start; see $STATE/log/slurmd.log"
ctld_log() { tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" 2>/dev/null || true; }
state=""
for _ in $(seq 60); do
  pid="$(cat "$STATE/run/slurmctld.pid" 2>/dev/null || true)"
  if [[ -z "$pid" || ! -d /proc/$pid ]] && grep -q "fatal" "$STATE/log/slurmctld.log" 2>/dev/null; then
    ctld_log; fail "slurmctld exited: $(grep fatal "$STATE/log/slurmctld.log" | tail -n 1)"
  fi
  state="$(timeout 5 sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n 1 || true)"
  [[ "$state" == idle ]] && break
  sleep 1
done
[[ "$state" == idle ]] || { timeout 5 scontrol show node "$HOST" || true; ctld_log
                            fail "node $HOST is '$state', not idle, after 60 s"; }
SLURM_VERSION="$(sinfo --version 2>/dev/null || dpkg-query -W -f='slurm ${Version}' slurm-wlm 2>/dev/null || true)"
say "using $SLURM_VERSION, python $PY"
say "node $HOST idle: $(scontrol show node "$HOST" | grep -oE '(Gres|CfgTRES)=[^ ]+' | tr '\n' ' ')"

# probe: a GPU job gets a device and torch (CPU build or no driver) reports no CUDA without erroring
PROBE_OUT="$STATE/log/gpu_probe.out"
rm -f "$PROBE_OUT"
probe_id=$(sbatch --parsable --gpus=1 --mem=500 -t 5 -o "$PROBE_OUT" \
  --wrap "echo CUDA_VISIBLE_DEVICES=\$CUDA_VISIBLE_DEVICES; $PY -c 'import torch; print(\"torch.cuda.is_available()\", torch.cuda.is_available())'") \
  || fail "sbatch of the GPU probe failed"
for _ in $(seq 120); do
  st="$(squeue -h -j "$probe_id" -t all -o %T 2>/dev/null || true)"
  [[ "$st" == COMPLETED || "$st" == FAILED || "$st" == CANCELLED ]] && break
  sleep 1
done
[[ "$st" == COMPLETED ]] || { cat "$PROBE_OUT" 2>/dev/null; fail "GPU probe job $probe_id ended as '$st'"; }
grep -q "CUDA_VISIBLE_DEVICES=[0-9]" "$PROBE_OUT" || fail "GPU probe got no CUDA_VISIBLE_DEVICES: $(cat "$PROBE_OUT")"
PROBE_SUMMARY="$(tr '\n' ' ' <"$PROBE_OUT")"
say "GPU probe job $probe_id: $PROBE_SUMMARY"

# ---------------------------------------------------------------- 5. scratch work dirs
make_workdir() {
  rm -rf "$1" && mkdir -p "$1"
  for name in Snakefile workflow profiles config resources; do ln -s "$ROOT/$name" "$1/$name"; done
}
LOCAL="$WORK/local"; CLUSTER="$WORK/slurm"; DRY="$WORK/dry"
[[ "$CHECK_ONLY" == 1 ]] || make_workdir "$CLUSTER"
make_workdir "$DRY"
REUSE_LOCAL=0
if [[ ( "${SYSTLAB_SLURM_REUSE_LOCAL:-0}" == 1 || "$CHECK_ONLY" == 1 ) && -s "$WORK/local.seconds" && -d "$LOCAL/results" ]] \
   && [[ "$(cd "$LOCAL" && "$PY" -m snakemake -n --cores 2 "${TARGET_ARGS[@]}" --configfile config/tiny.yaml 2>&1)" == *"Nothing to be done"* ]]; then
  REUSE_LOCAL=1
elif [[ "$CHECK_ONLY" == 1 ]]; then
  fail "SYSTLAB_SLURM_CHECK_ONLY=1 needs a complete earlier run in $WORK"
else
  make_workdir "$LOCAL"; rm -f "$WORK/local.seconds"
fi

# expected number of submitted jobs: every job of the dry run except the target rule `all` (no script,
# handled by snakemake itself)
(cd "$DRY" && "$PY" -m snakemake -n --profile workflow/profiles/slurm --workflow-profile none "${TARGET_ARGS[@]}" \
  --configfile config/tiny.yaml) \
  >"$WORK/dry.log" 2>&1 || { tail -30 "$WORK/dry.log"; fail "dry run with the SLURM profile failed"; }
TOTAL=$(awk '$1=="total" {print $2; exit}' "$WORK/dry.log")
N_ALL=$(awk '$1=="all" {print $2; exit}' "$WORK/dry.log")
# training rules (they request a GPU): the classifiers and the paper-toy classifiers
N_TRAIN=$(awk '$1=="total" {exit} $1=="train" || $1=="paper_toy_train" {n += $2} END {print n + 0}' "$WORK/dry.log")
EXPECTED=$(( TOTAL - ${N_ALL:-0} ))
say "dry run: $TOTAL jobs ($N_TRAIN train), $EXPECTED to be submitted"

if [[ "$REUSE_LOCAL" == 1 ]]; then
  LOCAL_S=$(cat "$WORK/local.seconds")
  say "local run: reusing the complete run in $LOCAL (SYSTLAB_SLURM_REUSE_LOCAL=1; took ${LOCAL_S} s)"
else
  say "local run: snakemake --cores 2 $TARGETS --configfile config/tiny.yaml in $LOCAL"
  t0=$(date +%s)
  (cd "$LOCAL" && "$PY" -m snakemake --cores 2 "${TARGET_ARGS[@]}" --configfile config/tiny.yaml) >"$WORK/local.log" 2>&1 \
    || { tail -40 "$WORK/local.log"; fail "local run failed (log: $WORK/local.log)"; }
  LOCAL_S=$(( $(date +%s) - t0 )); echo "$LOCAL_S" >"$WORK/local.seconds"
fi

# while the SLURM run is going, snapshot the queue (job, rule, state, GPU request) every second
QUEUE_LOG="$WORK/squeue_snapshots.log"
( while true; do squeue -h -t all -O "JobID:10,State:12,tres-per-job:20,Comment:80" >>"$QUEUE_LOG" 2>/dev/null; sleep 1; done ) &
POLL_PID=$!

if [[ "$CHECK_ONLY" == 1 ]]; then
  [[ -s "$WORK/slurm.seconds" ]] || fail "SYSTLAB_SLURM_CHECK_ONLY=1 needs a complete earlier SLURM run in $CLUSTER"
  SLURM_S=$(cat "$WORK/slurm.seconds")
  say "SLURM run: checking the earlier run in $CLUSTER (took ${SLURM_S} s)"
else
  : >"$QUEUE_LOG"; rm -f "$WORK/slurm.seconds"
  say "SLURM run: snakemake --profile workflow/profiles/slurm $TARGETS --configfile config/tiny.yaml in $CLUSTER"
  t0=$(date +%s)
  (cd "$CLUSTER" && "$PY" -m snakemake --profile workflow/profiles/slurm --workflow-profile none "${TARGET_ARGS[@]}" \
      --configfile config/tiny.yaml --verbose --slurm-init-seconds-before-status-checks 2) >"$WORK/slurm.log" 2>&1 \
    || { tail -60 "$WORK/slurm.log"; fail "SLURM run failed (log: $WORK/slurm.log, $STATE/log/slurmctld.log)"; }
  SLURM_S=$(( $(date +%s) - t0 )); echo "$SLURM_S" >"$WORK/slurm.seconds"
fi
kill "$POLL_PID" 2>/dev/null || true; POLL_PID=""

# ---------------------------------------------------------------- 6. checks
# (a) every job went through sbatch and completed in SLURM
mapfile -t JOBIDS < <(grep -oE 'has been submitted with SLURM jobid [0-9]+' "$WORK/slurm.log" | awk '{print $NF}')
N_SUB=${#JOBIDS[@]}
[[ "$N_SUB" -eq "$EXPECTED" ]] || fail "$N_SUB jobs submitted with sbatch, expected $EXPECTED (log: $WORK/slurm.log)"
N_SBATCH=$(grep -c 'sbatch call: sbatch ' "$WORK/slurm.log" || true)
[[ "$N_SBATCH" -eq "$EXPECTED" ]] || fail "$N_SBATCH sbatch calls logged, expected $EXPECTED"
if grep -qE '^localrule (simulate|ingest|vary|train|score|templates|workspace|fit|figure|theory)' "$WORK/slurm.log"; then
  fail "some rules ran locally instead of through SLURM: $(grep -E '^localrule' "$WORK/slurm.log" | sort -u | tr '\n' ' ')"
fi
RUN_UUID=$(grep -m 1 -oE 'sbatch call: sbatch --parsable --job-name [^ ]+' "$WORK/slurm.log" | awk '{print $NF}')
TABLE="$WORK/slurm_jobs.tsv"
printf 'jobid\trule\tstate\texit\tgpu_request\n' >"$TABLE"
N_GPU=0; N_TRAIN_SEEN=0
for id in "${JOBIDS[@]}"; do
  info="$(scontrol show job "$id" 2>/dev/null)" || fail "slurmctld does not know job $id"
  name=$(grep -oE 'JobName=[^ ]+' <<<"$info" | cut -d= -f2)
  state=$(grep -oE 'JobState=[A-Z_]+' <<<"$info" | cut -d= -f2)
  code=$(grep -oE ' ExitCode=[0-9:]+' <<<"$info" | cut -d= -f2)
  comment=$(grep -oE 'Comment=[^ ]+' <<<"$info" | cut -d= -f2)
  rule=${comment#rule_}; rule=${rule%%_wildcards_*}
  tres=$(grep -oE 'TresPerJob=[^ ]+' <<<"$info" | cut -d= -f2- || true)
  printf '%s\t%s\t%s\t%s\t%s\n' "$id" "$comment" "$state" "$code" "${tres:--}" >>"$TABLE"
  [[ "$name" == "$RUN_UUID" ]] || fail "job $id has name '$name', not this run's $RUN_UUID"
  [[ "$state" == COMPLETED && "$code" == 0:0 ]] || fail "job $id ($comment) is $state with exit code $code"
  grep -qE "JobId=$id .*JobState=COMPLETED" "$STATE/log/jobcomp.log" || fail "job $id missing from SLURM's job completion log"
  if [[ "$rule" == train || "$rule" == paper_toy_train ]]; then
    N_TRAIN_SEEN=$((N_TRAIN_SEEN + 1))
    [[ "$tres" == *gpu:1* ]] || fail "training job $id ($comment) has no GPU request (TresPerJob='$tres')"
    N_GPU=$((N_GPU + 1))
  else
    [[ -z "$tres" || "$tres" != *gpu* ]] || fail "non-training job $id ($comment) requested a GPU ($tres)"
  fi
done
[[ "$N_TRAIN_SEEN" -eq "$N_TRAIN" ]] || fail "$N_TRAIN_SEEN training jobs in SLURM, expected $N_TRAIN"
# (b) the sbatch lines snakemake issued: --gpus=1 on exactly the training jobs
N_GPU_CALLS=$(grep 'sbatch call: ' "$WORK/slurm.log" | grep -c -- '--gpus=1' || true)
N_GPU_TRAIN_CALLS=$(grep 'sbatch call: ' "$WORK/slurm.log" | grep -E -- "--comment '?rule_(paper_toy_)?train" \
                    | grep -c -- '--gpus=1' || true)
[[ "$N_GPU_CALLS" -eq "$N_TRAIN" && "$N_GPU_TRAIN_CALLS" -eq "$N_TRAIN" ]] \
  || fail "sbatch --gpus=1 on $N_GPU_CALLS calls ($N_GPU_TRAIN_CALLS train), expected exactly the $N_TRAIN training jobs"
GPU_SEEN_RUNNING=$(grep -E 'RUNNING +gres:gpu:1' "$QUEUE_LOG" | awk '{print $1}' | sort -u | tr '\n' ' ' || true)
TRAIN_DEVICE=$(grep -rhoE '"device": *"[^"]+"' "$CLUSTER"/results/models/*/*/meta.json 2>/dev/null | sort -u | tr '\n' ' ' || true)

# (c) results equal the local run's, byte for byte
N_CMP=0; DIFFS=()
for sub in fits workspaces templates; do
  [[ -d "$LOCAL/results/$sub" ]] || fail "local run produced no results/$sub"
  while IFS= read -r f; do
    rel=${f#"$LOCAL/"}
    [[ -f "$CLUSTER/$rel" ]] || fail "$rel missing from the SLURM run"
    cmp -s "$f" "$CLUSTER/$rel" || DIFFS+=("$rel")
    N_CMP=$((N_CMP + 1))
  done < <(find "$LOCAL/results/$sub" -type f -name '*.json' | sort)
  extra=$(cd "$CLUSTER" && find "results/$sub" -type f -name '*.json' | sort | \
          while read -r r; do [[ -f "$LOCAL/$r" ]] || echo "$r"; done)
  [[ -z "$extra" ]] || fail "files only in the SLURM run: $extra"
done
[[ "$N_CMP" -gt 0 ]] || fail "no result files compared"
# informational: everything else the workflow writes (models, scores, samples, figures, logs)
OTHER_DIFF=$(cd "$LOCAL" && find results -type f ! -path 'results/fits/*' ! -path 'results/workspaces/*' \
             ! -path 'results/templates/*' | sort | while read -r r; do cmp -s "$r" "$CLUSTER/$r" || echo "$r"; done)
if [[ ${#DIFFS[@]} -gt 0 ]]; then
  for rel in "${DIFFS[@]}"; do diff <(python3 -m json.tool "$LOCAL/$rel") <(python3 -m json.tool "$CLUSTER/$rel") | head -10 || true; done
  fail "${#DIFFS[@]} of $N_CMP result files differ between local and SLURM runs: ${DIFFS[*]}"
fi

# ---------------------------------------------------------------- 7. summary
say "================================ summary ================================"
say "SLURM:             $SLURM_VERSION, node $HOST, gres gpu:fake:2 (no slurmdbd; status via squeue)"
say "GPU probe:         $PROBE_SUMMARY"
say "jobs:              $TOTAL in the DAG, $N_SUB submitted with sbatch (expected $EXPECTED), all COMPLETED 0:0"
say "GPU requests:      $N_GPU training job(s) with TresPerJob=gres:gpu:1, none elsewhere; sbatch --gpus=1 calls: $N_GPU_CALLS"
say "GPU seen running:  ${GPU_SEEN_RUNNING:-(no snapshot caught the training job running)}"
say "training device:   ${TRAIN_DEVICE:-?} (meta.json)"
say "identical:         $N_CMP fit/workspace/template JSON files byte-identical to the local run"
say "other differences (informational; ROOT files carry a UUID, logs timestamps):"
if [[ -n "$OTHER_DIFF" ]]; then
  echo "$OTHER_DIFF" | awk -F/ '{ext=$NF; sub(/^[^.]*/, "", ext); print $2 "/*" ext}' | sort | uniq -c | sed 's/^/[slurm_e2e]   /'
else say "  none"; fi
say "wall time:         local ${LOCAL_S} s, SLURM ${SLURM_S} s"
say "job table:         $TABLE"
column -t -s $'\t' "$TABLE" 2>/dev/null | sed 's/^/[slurm_e2e]   /' || sed 's/^/[slurm_e2e]   /' "$TABLE"
say "logs:              $WORK/{local,slurm}.log, $CLUSTER/.snakemake/slurm_logs/, $STATE/log/"
say "PASS"
