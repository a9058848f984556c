#!/usr/bin/env bash
# One timed as-is run of the demo recipe, resources/configs/demo_cpu.yaml, and its table row.
#
# Usage:
#   benchmarks/demo_asis_run.sh [avx2|native] [KEY VALUE ...]
#
#   avx2 (default): the path of a CPU without native bfloat16 (a laptop, an AMD EPYC without
#                   AVX-512): bfloat16 off and every CPU kernel restricted to AVX2
#                   (WDS_CPU_BF16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2)
#   native:         this machine's own path (WDS_CPU_BF16=auto: bfloat16 autocast where the CPU
#                   has AVX512-BF16 or AMX, float32 elsewhere)
#   KEY VALUE ...:  config overrides, only to check the script itself (e.g. SOLVER.MAX_ITER 20
#                   SOLVER.MTN_PRETRAIN.ITERS 20); a timed run passes none
#
# The run is `python main.py train --config-file resources/configs/demo_cpu.yaml` with nothing
# else on its command line, started in a fresh folder (RUNS_DIR, default ./output/asis_runs/<time>),
# so the config's OUTPUT_DIR ./output/demo_cpu lands there and no earlier run is resumed or
# overwritten. The demo dataset is made first if it is missing (not timed). The wall time is the
# whole `train` command: start-up, sample reading or cache, CSI statistics, MTN pretraining,
# training, evaluations and checkpoints. The output says whether the training cache was cold
# (the samples read and cached in this run) or warm (opened from an earlier run's cache).
# OMP_WAIT_POLICY is passed through as it is set; the output shows the value the run saw. Run it
# alone on the machine: `uptime` before and after is printed with it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$REPO/.venv/bin/python}"
PATH_KIND="avx2"
if [[ $# -gt 0 && ( "$1" == "avx2" || "$1" == "native" ) ]]; then
    PATH_KIND="$1"
    shift
fi

case "$PATH_KIND" in
    avx2)
        export WDS_CPU_BF16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2
        ;;
    native)
        export WDS_CPU_BF16=auto
        unset ONEDNN_MAX_CPU_ISA ATEN_CPU_CAPABILITY
        ;;
esac

RUN_DIR="${RUNS_DIR:-$REPO/output/asis_runs}/$(date -u +%Y%m%dT%H%M%SZ)-$PATH_KIND"
mkdir -p "$RUN_DIR"

echo "demo_asis_run: path $PATH_KIND, run folder $RUN_DIR"
"$PY" "$REPO/main.py" demo-data --if-missing
MACHINE="$("$PY" "$REPO/benchmarks/machine_info.py")"
LSCPU_MODEL="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n1)"
UPTIME_BEFORE="$(uptime)"
echo "$MACHINE"
echo "uptime before: $UPTIME_BEFORE"

START=$(date +%s.%N)
set +e
(cd "$RUN_DIR" && "$PY" "$REPO/main.py" train --config-file "$REPO/resources/configs/demo_cpu.yaml" "$@") 2>&1 | tee "$RUN_DIR/train.log"
STATUS=${PIPESTATUS[0]}
set -e
END=$(date +%s.%N)
UPTIME_AFTER="$(uptime)"
echo "uptime after: $UPTIME_AFTER"
if [[ $STATUS -ne 0 ]]; then
    echo "error: the training run exited with status $STATUS (log: $RUN_DIR/train.log)" >&2
    exit "$STATUS"
fi

"$PY" - "$RUN_DIR" "$START" "$END" "$PATH_KIND" "$LSCPU_MODEL" "$MACHINE" <<'EOF'
import json
import sys
from pathlib import Path

import yaml

run_dir, start, end, path_kind, model, machine = sys.argv[1:7]
out = Path(run_dir) / "output" / "demo_cpu"
max_iter = int(yaml.safe_load((out / "config.yaml").read_text())["SOLVER"]["MAX_ITER"])
wall_min = (float(end) - float(start)) / 60.0
rows = []
for line in (out / "metrics.json").read_text().splitlines():
    try:
        row = json.loads(line)
    except ValueError:
        continue
    if "bbox/AP50" in row:
        rows.append(row)
if not rows:
    sys.exit("error: no evaluation in metrics.json")
log = (Path(run_dir) / "train.log").read_text(errors="replace")
loop = "float32" if "training in float32" in log else "bfloat16 autocast"
cache = "warm (read from the cache)" if "training samples from the cache" in log else "cold (built in this run)"
path = {
    "avx2": "no bfloat16, AVX2 (WDS_CPU_BF16=0 ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2)",
    "native": "native (WDS_CPU_BF16=auto)",
}[path_kind]
print()
print(f"path: {path}; loop: {loop}; training cache: {cache}")
print(f"lscpu model: {model}")
print(f"machine: {machine}")
print()
print("| iteration | box AP50 | keypoint AP50 | part accuracy | wall | path | CPU |")
print("|---|---|---|---|---|---|---|")
for i, row in enumerate(rows):
    wall = f"{wall_min:.1f} min" if i == len(rows) - 1 else ""
    print(
        f"| {min(row['iteration'] + 1, max_iter)} | {row['bbox/AP50']:.1f} | {row['keypoints/AP50']:.1f} | "
        f"{row['densepose/dp_part_acc']:.1f} % | {wall} | {path_kind} ({loop}) | {model} |"
    )
targets = rows[-1]["bbox/AP50"] >= 50 and rows[-1]["keypoints/AP50"] >= 30 and rows[-1]["densepose/dp_part_acc"] >= 50
limit = 20.0 if path_kind == "avx2" else 12.0
print(f"\ntargets (box AP50 >= 50, keypoint AP50 >= 30, part accuracy >= 50 %): {'met' if targets else 'NOT met'}; "
      f"wall {wall_min:.1f} min against {limit:.0f} min: {'within' if wall_min <= limit else 'OVER'}")
EOF
