"""The DensePose branch: head, predictor, FPN decoder, chart losses and output structures."""

from app.backend.modeling.densepose.head import (
    ROI_DENSEPOSE_HEAD_REGISTRY,
    DensePoseChartPredictor,
    DensePoseFPNDecoder,
    DensePoseV1ConvXHead,
    build_densepose_head,
)
from app.backend.modeling.densepose.losses import DensePoseChartLoss
from app.backend.modeling.densepose.outputs import DensePoseOutputs, check_person_threshold, densepose_to_results

__all__ = [
    "ROI_DENSEPOSE_HEAD_REGISTRY",
    "DensePoseChartLoss",
    "DensePoseChartPredictor",
    "DensePoseFPNDecoder",
    "DensePoseOutputs",
    "DensePoseV1ConvXHead",
    "build_densepose_head",
    "check_person_threshold",
    "densepose_to_results",
]
