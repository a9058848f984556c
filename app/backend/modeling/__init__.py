"""The model: MTN, CombinedModel, DensePoseROIHeads, DensePose branch, refinement and transfer.

Importing this package registers ``CombinedModel`` (META_ARCH_REGISTRY),
``DensePoseROIHeads`` (ROI_HEADS_REGISTRY), ``MLPConvMTN`` (MTN_REGISTRY) and
``DensePoseV1ConvXHead`` (ROI_DENSEPOSE_HEAD_REGISTRY).

Usage::

    from app.backend.modeling import build_model, to_frame_prediction
    model = build_model(cfg)                      # on cfg.MODEL.DEVICE
    model.eval()
    with torch.no_grad():
        out = model([{"csi": csi, "height": 480, "width": 640}])
    pred = to_frame_prediction(out[0]["instances"])
"""

from __future__ import annotations

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.modeling import build_model as _d2_build_model
from detectron2.structures import Instances
from torch import nn

from app.backend.modeling.densepose import (
    ROI_DENSEPOSE_HEAD_REGISTRY,
    DensePoseChartLoss,
    DensePoseChartPredictor,
    DensePoseOutputs,
    DensePoseV1ConvXHead,
    densepose_to_results,
)
from app.backend.modeling.meta_arch import CombinedModel
from app.backend.modeling.mtn import MTN_REGISTRY, MLPConvMTN, build_mtn
from app.backend.modeling.refinement import KeypointDensePoseRefinement
from app.backend.modeling.roi_heads import DensePoseROIHeads
from app.backend.modeling.transfer import FeatureTransfer, build_transfer
from app.backend.structures import FramePrediction


def build_model(cfg: CfgNode) -> nn.Module:
    """The model named by ``MODEL.META_ARCHITECTURE`` (ours registered), on ``MODEL.DEVICE``, in train mode."""
    return _d2_build_model(cfg)


def to_frame_prediction(instances: Instances) -> FramePrediction:
    """Numpy :class:`FramePrediction` of one image's predicted ``Instances`` (after postprocessing).

    Boxes XYXY_ABS float32 (N, 4), scores (N,), keypoints (N, 17, 3) (x, y, score logit)
    when predicted, DensePose as one :class:`DensePoseResult` (or None) per instance.
    """
    inst = instances.to("cpu")
    boxes = (
        inst.pred_boxes.tensor.detach().numpy().astype(np.float32)
        if inst.has("pred_boxes")
        else np.zeros((0, 4), np.float32)
    )
    scores = inst.scores.detach().numpy().astype(np.float32) if inst.has("scores") else np.ones(len(boxes), np.float32)
    keypoints = inst.pred_keypoints.detach().numpy().astype(np.float32) if inst.has("pred_keypoints") else None
    densepose = None
    if inst.has("pred_densepose"):
        densepose = densepose_to_results(inst.pred_densepose, torch.from_numpy(boxes))
    h, w = inst.image_size
    return FramePrediction(
        image_size=(int(h), int(w)), boxes=boxes, scores=scores, keypoints=keypoints, densepose=densepose
    )


__all__ = [
    "MTN_REGISTRY",
    "ROI_DENSEPOSE_HEAD_REGISTRY",
    "CombinedModel",
    "DensePoseChartLoss",
    "DensePoseChartPredictor",
    "DensePoseOutputs",
    "DensePoseROIHeads",
    "DensePoseV1ConvXHead",
    "FeatureTransfer",
    "KeypointDensePoseRefinement",
    "MLPConvMTN",
    "build_model",
    "build_mtn",
    "build_transfer",
    "densepose_to_results",
    "to_frame_prediction",
]
