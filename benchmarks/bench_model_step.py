"""One training step of our full model vs a plain detectron2 Keypoint R-CNN, side by side.

Ours: CombinedModel in CSI modality from ``--config`` (default: the paper config:
MTN + R50-FPN + RPN + box + keypoint + DensePose heads + refinement units).
Baseline: detectron2's own GeneralizedRCNN from the model-zoo
``keypoint_rcnn_R_50_FPN_1x.yaml`` with the same backbone (depth, norms, frozen stages, FPN width),
input size and batch, fed an image instead of CSI.

A step = forward + backward + SGD update, on the same synthetic people (2 per frame,
with keypoints and ~100 DensePose points each). Goal: ours <= 1.5x the baseline.

Usage::

    .venv/bin/python benchmarks/bench_model_step.py --device cpu --size 128 128 --batch 2 --iters 3
    .venv/bin/python benchmarks/bench_model_step.py --device cuda --amp --size 720 1280 --batch 2 --iters 20

On CUDA it also reports s/iter of the paper setting (R50-FPN, 720x1280, batch 2) in fp32
and with AMP, for both models.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectron2.config import get_cfg as d2_get_cfg
from detectron2.model_zoo import get_config_file
from detectron2.modeling import build_model as d2_build_model
from detectron2.structures import Boxes, Instances, Keypoints
from detectron2.utils.events import EventStorage

from app.backend.config import CONFIGS_DIR, load_config
from app.backend.modeling import build_model
from app.backend.structures import DensePoseInstance, DensePoseTargets


def people(h: int, w: int, seed: int) -> Instances:
    """Two synthetic people per frame in (h, w) pixel space, with keypoints and DensePose."""
    g = torch.Generator().manual_seed(seed)
    boxes = torch.tensor([[0.10 * w, 0.15 * h, 0.40 * w, 0.95 * h], [0.55 * w, 0.10 * h, 0.85 * w, 0.90 * h]])
    kps, dps = [], []
    for x0, y0, x1, y1 in boxes.tolist():
        kp = torch.rand(17, 3, generator=g)
        kp[:, 0] = x0 + kp[:, 0] * (x1 - x0)
        kp[:, 1] = y0 + kp[:, 1] * (y1 - y0)
        kp[:, 2] = 2
        kps.append(kp)
        k = 100
        segm = torch.zeros(256, 256, dtype=torch.uint8)
        segm[20:236, 60:196] = 2
        dps.append(
            DensePoseInstance(
                x=60 + torch.rand(k, generator=g) * 136,
                y=20 + torch.rand(k, generator=g) * 216,
                i=torch.randint(1, 25, (k,), generator=g),
                u=torch.rand(k, generator=g),
                v=torch.rand(k, generator=g),
                segm=segm,
            )
        )
    inst = Instances((h, w))
    inst.gt_boxes = Boxes(boxes)
    inst.gt_classes = torch.zeros(2, dtype=torch.long)
    inst.gt_keypoints = Keypoints(torch.stack(kps))
    inst.gt_densepose = DensePoseTargets(dps)
    return inst


#: Extra runs of our model with ``--breakdown``: what each part costs.
VARIANTS = {
    "no refinement": ["MODEL.ROI_KP_DP_REFINE.ENABLED", "False"],
    "no DensePose decoder": ["MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON", "False"],
    "no DensePose branch": ["MODEL.DENSEPOSE_ON", "False"],
}


def build_pair(args: argparse.Namespace, size: tuple[int, int], extra: list[str] | None = None):
    h, w = size
    opts = ["MODEL.DEVICE", args.device, "MODEL.MTN.OUTPUT_SIZE", f"[{h}, {w}]", "MODEL.TRANSFER.ENABLED", "False"]
    cfg = load_config(Path(args.config), [*opts, *args.opts, *(extra or [])])
    torch.manual_seed(0)
    ours = build_model(cfg).train()

    bcfg = d2_get_cfg()
    bcfg.merge_from_file(get_config_file("COCO-Keypoints/keypoint_rcnn_R_50_FPN_1x.yaml"))
    bcfg.MODEL.WEIGHTS = ""
    bcfg.MODEL.DEVICE = args.device
    for key in ("DEPTH", "NORM", "RES2_OUT_CHANNELS", "STRIDE_IN_1X1", "NUM_GROUPS", "WIDTH_PER_GROUP"):
        setattr(bcfg.MODEL.RESNETS, key, getattr(cfg.MODEL.RESNETS, key))
    bcfg.MODEL.BACKBONE.FREEZE_AT = cfg.MODEL.BACKBONE.FREEZE_AT
    bcfg.MODEL.FPN.NORM = cfg.MODEL.FPN.NORM
    bcfg.MODEL.FPN.OUT_CHANNELS = cfg.MODEL.FPN.OUT_CHANNELS
    bcfg.MODEL.ANCHOR_GENERATOR.SIZES = cfg.MODEL.ANCHOR_GENERATOR.SIZES
    bcfg.MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS = cfg.MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS
    bcfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE = cfg.MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE
    bcfg.MODEL.RPN.POST_NMS_TOPK_TRAIN = cfg.MODEL.RPN.POST_NMS_TOPK_TRAIN
    bcfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN = cfg.MODEL.RPN.PRE_NMS_TOPK_TRAIN
    torch.manual_seed(0)
    base = d2_build_model(bcfg).train()

    batch_ours, batch_base = [], []
    for b in range(args.batch):
        inst = people(h, w, seed=b)
        batch_ours.append({"csi": torch.randn(2, 150, 3, 3), "instances": inst, "height": h, "width": w})
        plain = Instances((h, w), gt_boxes=inst.gt_boxes, gt_classes=inst.gt_classes, gt_keypoints=inst.gt_keypoints)
        batch_base.append({"image": torch.rand(3, h, w) * 255, "instances": plain, "height": h, "width": w})
    return ours, batch_ours, base, batch_base


def time_steps(model, batch, args: argparse.Namespace, amp: bool) -> float:
    """Mean seconds per training step (forward + backward + SGD update) after warm-up."""
    dev = torch.device(args.device)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    scaler = torch.amp.GradScaler(dev.type, enabled=amp and dev.type == "cuda")
    dtype = torch.float16 if dev.type == "cuda" else torch.bfloat16

    def step() -> None:
        with torch.autocast(dev.type, dtype=dtype, enabled=amp):
            losses = model(batch)
        total = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        scaler.scale(total).backward()
        scaler.step(opt)
        scaler.update()

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    with EventStorage() as storage:
        for i in range(args.warmup):
            storage.iter = i
            step()
        sync()
        start = time.perf_counter()
        for i in range(args.iters):
            storage.iter = args.warmup + i
            step()
        sync()
    return (time.perf_counter() - start) / args.iters


def compare(
    args: argparse.Namespace, size: tuple[int, int], amp: bool, extra: list[str] | None = None
) -> tuple[float, float]:
    ours, batch_ours, base, batch_base = build_pair(args, size, extra)
    t_base = time_steps(base, batch_base, args, amp)
    t_ours = time_steps(ours, batch_ours, args, amp)
    del ours, base
    if args.device == "cuda":
        torch.cuda.empty_cache()
    return t_ours, t_base


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--amp", action="store_true", help="autocast (fp16 on CUDA, bf16 on CPU)")
    p.add_argument("--size", type=int, nargs=2, default=[128, 128], metavar=("H", "W"))
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--config", default=str(CONFIGS_DIR / "wifi_densepose_R50_FPN_paper.yaml"))
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument(
        "--breakdown", action="store_true", help="also time our model without refinement / decoder / DensePose"
    )
    p.add_argument("--opts", nargs="*", default=[], help="config overrides KEY VALUE ... for our model")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda but no CUDA device is available")
    size = (args.size[0], args.size[1])
    device_name = torch.cuda.get_device_name() if args.device == "cuda" else f"cpu x{torch.get_num_threads()} threads"
    print(f"config {Path(args.config).name}, device {device_name}, batch {args.batch}, iters {args.iters}")
    t_ours, t_base = compare(args, size, args.amp)
    prec = "amp" if args.amp else "fp32"
    print(
        f"{size[0]}x{size[1]} batch {args.batch} {prec}: ours {t_ours:.3f} s/iter | keypoint R-CNN {t_base:.3f} s/iter"
        f" | ratio {t_ours / t_base:.2f}x (goal <= 1.5x)",
        flush=True,
    )
    if args.breakdown:
        for name, extra in VARIANTS.items():
            t_var, t_b = compare(args, size, args.amp, extra)
            print(
                f"  ours, {name}: {t_var:.3f} s/iter (baseline in that run {t_b:.3f}) ratio {t_var / t_b:.2f}x",
                flush=True,
            )
    if args.device == "cuda":
        paper = argparse.Namespace(**{**vars(args), "batch": 2, "opts": []})
        for amp in (False, True):
            if size == (720, 1280) and args.batch == 2 and amp == args.amp and not args.opts:
                continue  # measured above
            t_ours, t_base = compare(paper, (720, 1280), amp)
            prec = "amp" if amp else "fp32"
            print(
                f"paper setting R50-FPN 720x1280 batch 2 {prec}: ours {t_ours:.3f} s/iter | "
                f"keypoint R-CNN {t_base:.3f} s/iter | ratio {t_ours / t_base:.2f}x",
                flush=True,
            )


if __name__ == "__main__":
    main()
