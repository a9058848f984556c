"""Tiny configs and hand-built synthetic frames for the model tests (fast on 2 CPU cores)."""

from __future__ import annotations

import pytest
import torch
from detectron2.structures import Boxes, Instances, Keypoints

from app.backend.config import CONFIGS_DIR, load_config
from app.backend.structures import DensePoseInstance, DensePoseTargets
from tests.tiny_config import tiny_opts

SIZE = 64

#: The tests' tiny config shrunk further: every branch present, every width tiny.
TINY_OPTS = tiny_opts(
    MODEL__MTN__OUTPUT_SIZE=[SIZE, SIZE],
    MODEL__MTN__CONV_CHANNELS=[8, 16],
    MODEL__MTN__DECONV_CHANNELS=[16, 16, 8, 8],
    MODEL__FPN__OUT_CHANNELS=32,
    MODEL__RPN__PRE_NMS_TOPK_TRAIN=200,
    MODEL__RPN__POST_NMS_TOPK_TRAIN=50,
    MODEL__RPN__PRE_NMS_TOPK_TEST=100,
    MODEL__RPN__POST_NMS_TOPK_TEST=30,
    MODEL__ROI_HEADS__BATCH_SIZE_PER_IMAGE=32,
    MODEL__ROI_BOX_HEAD__FC_DIM=64,
    MODEL__ROI_KEYPOINT_HEAD__CONV_DIMS=(32, 32),
    MODEL__ROI_DENSEPOSE_HEAD__DECODER_CONV_DIMS=32,
    MODEL__ROI_DENSEPOSE_HEAD__DECODER_NUM_CLASSES=32,
    MODEL__ROI_DENSEPOSE_HEAD__CONV_HEAD_DIM=32,
    MODEL__ROI_KP_DP_REFINE__CONV_DIM=32,
    # the paper's CSI path (global normalisation, no MTN part loss, MTN trained end to end); tests of the demo's
    # additions turn them on explicitly
    INPUT__CSI__NORMALIZATION="global",
    MODEL__LOSS_WEIGHTS__MTN_PARTS=0.0,
    MODEL__MTN__DETECTOR_GRAD_SCALE=1.0,
)


def tiny_cfg(*extra: str):
    """demo_cpu.yaml + :data:`TINY_OPTS` + ``extra`` KEY VALUE pairs."""
    return load_config(CONFIGS_DIR / "demo_cpu.yaml", [*TINY_OPTS, *extra])


def person(box: tuple[float, float, float, float], *, densepose: bool = True, seed: int = 0) -> tuple:
    """(box XYXY, keypoints (17, 3), DensePoseInstance | None) of one synthetic person in ``box``."""
    g = torch.Generator().manual_seed(seed)
    x0, y0, x1, y1 = box
    kp = torch.rand(17, 3, generator=g)
    kp[:, 0] = x0 + kp[:, 0] * (x1 - x0)
    kp[:, 1] = y0 + kp[:, 1] * (y1 - y0)
    kp[:, 2] = 2.0
    dp = None
    if densepose:
        k = 40
        ys, xs = torch.meshgrid(torch.arange(256), torch.arange(256), indexing="ij")
        segm = ((xs - 128).abs() < 70) & ((ys - 128).abs() < 110)
        segm = segm.to(torch.uint8) * (1 + (ys // 20).clamp(max=13)).to(torch.uint8)
        px = 70 + torch.rand(k, generator=g) * 116
        py = 30 + torch.rand(k, generator=g) * 196
        part = (1 + (py / 256 * 24).long()).clamp(1, 24)
        dp = DensePoseInstance(
            x=px, y=py, i=part, u=torch.rand(k, generator=g), v=torch.rand(k, generator=g), segm=segm
        )
    return box, kp, dp


def frame(people: list[tuple], *, size: int = SIZE, seed: int = 0, image: bool = False) -> dict:
    """One model input in CSI modality: random CSI + hand-built Instances at the MTN output size."""
    g = torch.Generator().manual_seed(seed)
    inst = Instances((size, size))
    n = len(people)
    inst.gt_boxes = Boxes(torch.tensor([p[0] for p in people], dtype=torch.float32).reshape(n, 4))
    inst.gt_classes = torch.zeros(n, dtype=torch.long)
    inst.gt_keypoints = Keypoints(torch.stack([p[1] for p in people]) if n else torch.zeros(0, 17, 3))
    inst.gt_densepose = DensePoseTargets([p[2] for p in people])
    out = {
        "csi": torch.randn(2, 150, 3, 3, generator=g),
        "instances": inst,
        "height": size,
        "width": size,
        "image_id": seed,
    }
    if image:
        out["image"] = torch.rand(3, size, size, generator=g) * 255
    return out


@pytest.fixture
def two_frames() -> list[dict]:
    """Two frames: one person and two people, all with keypoints and DensePose."""
    return [
        frame([person((10, 6, 40, 58), seed=1)], seed=1),
        frame([person((4, 4, 28, 60), seed=2), person((34, 8, 60, 62), seed=3)], seed=2),
    ]


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models run ~5x faster on one thread than on two busy cores (no OpenMP spinning)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
