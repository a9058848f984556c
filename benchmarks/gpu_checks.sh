#!/usr/bin/env bash
# All GPU checks in one script, for a lent CUDA machine (CI never has one).
#
# It expects, next to the repo (both ignored by git, carried to the machine):
#   .gpu_site/  pure-Python packages copied from .venv (detectron2, fvcore, iopath,
#               yacs, omegaconf, hydra, antlr4, termcolor)
#   .gpu_whl/   cp312 wheels of pycocotools and csiread
# and the machine's own torch/torchvision/OpenCV. Writes logs to $OUT (or ./gpu_out).
#
#   1. one training step, ours vs plain keypoint R-CNN: paper setting fp32 and AMP
#   2. the demo trained on CUDA with AMP, evaluated on its val split
#   3. inference latency per frame (CSI modality, demo model)
set -uo pipefail
OUT=${OUT:-./gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .gpu_whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/.gpu_site:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, torchvision, detectron2; print('torch', torch.__version__, 'tv', torchvision.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$OUT/gpu.txt"

echo "== 1. model step benchmark (paper setting)" | tee "$OUT/bench_model_step.txt"
timeout 170 python3 benchmarks/bench_model_step.py --device cuda --size 720 1280 --batch 2 --iters 12 --warmup 3 2>&1 \
  | grep -v Warning | tee -a "$OUT/bench_model_step.txt"

echo "== 2. demo training on CUDA (AMP)" | tee "$OUT/train.txt"
DEMO=/tmp/demo
timeout 60 python3 main.py demo-data --out "$DEMO" --train 300 --val 60 --seed 0 2>&1 | tail -2 | tee -a "$OUT/train.txt"
start=$(date +%s)
timeout ${TRAIN_TIMEOUT:-200} python3 main.py train --config-file resources/configs/demo_cpu.yaml \
  MODEL.DEVICE cuda SOLVER.AMP.ENABLED True DATASETS.DEMO.ROOT "$DEMO" OUTPUT_DIR /tmp/demo_out \
  SOLVER.MAX_ITER ${TRAIN_ITERS:-2000} SOLVER.STEPS "(1600,)" TEST.EVAL_PERIOD 500 SOLVER.IMS_PER_BATCH 8 DATALOADER.NUM_WORKERS 4 \
  SOLVER.CHECKPOINT_PERIOD 1000 UI.PREVIEW_PERIOD 0 2>&1 | grep -E "eta|iter:|AP|part_acc|uv_err|error|Error|copypaste" | tail -40 | tee -a "$OUT/train.txt"
echo "train wall: $(( $(date +%s) - start )) s" | tee -a "$OUT/train.txt"
cp /tmp/demo_out/metrics.json "$OUT/metrics.json" 2>/dev/null

echo "== 3. inference latency" | tee "$OUT/infer.txt"
timeout 90 python3 - <<'PY' 2>&1 | grep -v Warning | tee -a "$OUT/infer.txt"
import glob, time, torch
from app.backend.config import load_config
from app.backend.engine.predictor import Predictor
cfg = load_config("/tmp/demo_out/config.yaml") if glob.glob("/tmp/demo_out/config.yaml") else load_config("resources/configs/demo_cpu.yaml")
weights = "/tmp/demo_out/model_final.pth" if glob.glob("/tmp/demo_out/model_final.pth") else ""
cfg.defrost(); cfg.MODEL.DEVICE = "cuda"; cfg.freeze()
p = Predictor(cfg, weights)
files = sorted(glob.glob("/tmp/demo/csi/val/*.npz"))[:60]
for f in files[:5]:
    p.predict_csi(f)
torch.cuda.synchronize(); t = time.perf_counter()
for f in files:
    out = p.predict_csi(f)
torch.cuda.synchronize(); dt = (time.perf_counter() - t) / len(files)
print(f"CSI-modality demo model on {torch.cuda.get_device_name()}: {dt * 1000:.1f} ms/frame end to end (read + sanitize + MTN + detector + DensePose results + overlay), {len(files)} frames")
PY
ls -la "$OUT"
