"""``DensePoseROIHeads``: detectron2's StandardROIHeads (box + keypoint) plus DensePose and refinement.

Structure and parameter names follow detectron2 (box head, keypoint head as
``StandardROIHeads`` builds them) and its DensePose project (``decoder``,
``densepose_head``, ``densepose_predictor``), so Keypoint R-CNN and DensePose R-CNN
checkpoints load unchanged. The mask head is never built.

Training, per image, after detectron2's proposal sampling and the box head:

* keypoints (refinement off): foreground proposals with visible keypoints, as detectron2;
* DensePose (refinement off): foreground proposals whose IoU with their matched ground
  truth is >= ``MODEL.ROI_DENSEPOSE_HEAD.FG_IOU_THRESHOLD`` and that carry DensePose
  points (``gt_densepose`` entry not None);
* refinement on: both branches need each other's features for the same ROIs, so both
  train on the foreground proposals with IoU >= FG_IOU_THRESHOLD (any annotation; the
  keypoint loss ignores invisible keypoints, the DensePose loss unannotated people).
  Running the costly DensePose head on every foreground proposal instead would roughly
  double the ROI-head cost for little gain.

With ``MODEL.ROI_BOX_HEAD.TRAIN_ON_PRED_BOXES`` the box head replaces the proposal boxes
first, so both branches train on predicted boxes. Images without proposals or
annotations give zero losses that are still connected to every branch parameter.

Loss keys: ``loss_cls``, ``loss_box_reg`` (box head), ``loss_keypoint``,
``loss_densepose_S``, ``loss_densepose_I``, ``loss_densepose_U``, ``loss_densepose_V``.
Inference adds ``pred_keypoints`` (N, 17, 3), ``pred_keypoint_heatmaps`` and
``pred_densepose`` (:class:`DensePoseOutputs`) to the detected instances.
"""

from __future__ import annotations

import torch
from detectron2.config import CfgNode, configurable
from detectron2.layers import ShapeSpec
from detectron2.modeling import ROI_HEADS_REGISTRY, StandardROIHeads
from detectron2.modeling.poolers import ROIPooler
from detectron2.modeling.roi_heads.keypoint_head import KRCNNConvDeconvUpsampleHead, keypoint_rcnn_inference
from detectron2.structures import Boxes, ImageList, Instances
from detectron2.structures.boxes import matched_pairwise_iou
from torch import nn
from torch.nn import functional as F

from app.backend.modeling.densepose import (
    DensePoseChartLoss,
    DensePoseChartPredictor,
    DensePoseFPNDecoder,
    DensePoseOutputs,
    build_densepose_head,
    check_person_threshold,
)
from app.backend.modeling.keypoint_loss import keypoint_loss
from app.backend.modeling.refinement import KeypointDensePoseRefinement


@ROI_HEADS_REGISTRY.register()
class DensePoseROIHeads(StandardROIHeads):
    """Box, keypoint and DensePose heads with the optional keypoint/DensePose refinement unit."""

    @configurable
    def __init__(
        self,
        *,
        densepose_in_features: list[str] | None = None,
        densepose_pooler: ROIPooler | None = None,
        densepose_decoder: nn.Module | None = None,
        densepose_head: nn.Module | None = None,
        densepose_predictor: nn.Module | None = None,
        densepose_loss: DensePoseChartLoss | None = None,
        densepose_fg_iou_threshold: float = 0.7,
        densepose_min_score: float = 0.0,
        densepose_person_threshold: float = 0.5,
        kp_dp_refine: KeypointDensePoseRefinement | None = None,
        **kwargs,
    ):
        """
        Args:
            densepose_*: the DensePose branch (all None = DensePose off). ``densepose_decoder``
                is registered as ``decoder`` (DensePose's name).
            densepose_fg_iou_threshold: minimum IoU of a proposal with its ground truth to
                train DensePose (and both branches when refining).
            densepose_min_score: inference: detections below this score get no DensePose
                result (``pred_densepose.valid`` False).
            densepose_person_threshold: inference: P(person) at which a pixel of the coarse
                segmentation is the person's (``pred_densepose.person_threshold``).
            kp_dp_refine: the refinement unit, or None (plain heads).
            kwargs: StandardROIHeads arguments.
        """
        super().__init__(**kwargs)
        self.densepose_on = densepose_head is not None
        if self.densepose_on:
            self.densepose_in_features = densepose_in_features
            self.densepose_pooler = densepose_pooler
            self.decoder = densepose_decoder
            self.densepose_head = densepose_head
            self.densepose_predictor = densepose_predictor
            self.densepose_loss = densepose_loss
            self.densepose_fg_iou_threshold = densepose_fg_iou_threshold
            self.densepose_min_score = densepose_min_score
            self.densepose_person_threshold = densepose_person_threshold
        self.kp_dp_refine = kp_dp_refine

    @classmethod
    def from_config(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        ret = super().from_config(cfg, input_shape)
        ret.update(cls._init_densepose_head(cfg, input_shape))
        ret.update(cls._init_kp_dp_rf_head(cfg, input_shape))
        return ret

    @classmethod
    def _init_mask_head(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        """The mask head is off in this model (DensePose's coarse segmentation replaces it)."""
        return {}

    @classmethod
    def _init_densepose_head(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        if not cfg.MODEL.DENSEPOSE_ON:
            return {}
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        check_person_threshold(h.PERSON_THRESHOLD)
        in_features = list(cfg.MODEL.ROI_HEADS.IN_FEATURES)
        decoder = None
        if h.DECODER_ON:
            decoder = DensePoseFPNDecoder(cfg, {f: input_shape[f] for f in in_features})
            scales: tuple[float, ...] = (1.0 / input_shape[in_features[0]].stride,)
            in_channels = decoder.out_channels
        else:
            scales = tuple(1.0 / input_shape[f].stride for f in in_features)
            in_channels = input_shape[in_features[0]].channels
        pooler = ROIPooler(
            output_size=h.POOLER_RESOLUTION,
            scales=scales,
            sampling_ratio=h.POOLER_SAMPLING_RATIO,
            pooler_type=h.POOLER_TYPE,
        )
        head = build_densepose_head(cfg, in_channels)
        return {
            "densepose_in_features": in_features,
            "densepose_pooler": pooler,
            "densepose_decoder": decoder,
            "densepose_head": head,
            "densepose_predictor": DensePoseChartPredictor(cfg, head.n_out_channels),
            "densepose_loss": DensePoseChartLoss(cfg),
            "densepose_fg_iou_threshold": h.FG_IOU_THRESHOLD,
            "densepose_min_score": h.MIN_SCORE,
            "densepose_person_threshold": h.PERSON_THRESHOLD,
        }

    @classmethod
    def _init_kp_dp_rf_head(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        """The refinement unit; only when it, keypoints and DensePose are all on."""
        m = cfg.MODEL
        if not (m.ROI_KP_DP_REFINE.ENABLED and m.KEYPOINT_ON and m.DENSEPOSE_ON):
            return {}
        if m.ROI_KEYPOINT_HEAD.NAME != "KRCNNConvDeconvUpsampleHead":
            raise ValueError("MODEL.ROI_KP_DP_REFINE needs the KRCNNConvDeconvUpsampleHead keypoint head")
        kp_channels = m.ROI_KEYPOINT_HEAD.CONV_DIMS[-1]
        dp_channels = m.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM if m.ROI_DENSEPOSE_HEAD.NUM_STACKED_CONVS else None
        if dp_channels is None:
            raise ValueError("MODEL.ROI_KP_DP_REFINE needs at least one DensePose head conv")
        return {"kp_dp_refine": KeypointDensePoseRefinement(cfg, kp_channels, dp_channels)}

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        images: ImageList,
        features: dict[str, torch.Tensor],
        proposals: list[Instances],
        targets: list[Instances] | None = None,
    ) -> tuple[list[Instances], dict[str, torch.Tensor]]:
        del images
        if not self.training:
            pred_instances = self._forward_box(features, proposals)
            return self.forward_with_given_boxes(features, pred_instances), {}
        assert targets is not None, "'targets' argument is required during training"
        proposals = self.label_and_sample_proposals(proposals, targets)
        losses = self._forward_box(features, proposals)
        if self.kp_dp_refine is not None:
            losses.update(self._forward_refined(features, proposals))
        else:
            losses.update(self._forward_keypoint(features, proposals))
            losses.update(self._forward_densepose(features, proposals))
        return proposals, losses

    def forward_with_given_boxes(
        self, features: dict[str, torch.Tensor], instances: list[Instances]
    ) -> list[Instances]:
        """Keypoints and DensePose for known boxes (``pred_boxes``, ``pred_classes``)."""
        assert not self.training
        if self.kp_dp_refine is not None:
            return self._forward_refined(features, instances)
        instances = self._forward_keypoint(features, instances)
        return self._forward_densepose(features, instances)

    # ------------------------------------------------------------------ DensePose

    def _select_densepose_rois(self, proposals: list[Instances], require_densepose: bool) -> list[Instances]:
        """Foreground proposals with IoU >= threshold (and DensePose points if required).

        One ``nonzero`` per image (the number of ROIs is data-dependent), then every field is
        indexed with the same index tensor: indexing an ``Instances`` by a boolean mask would
        synchronise once per field.
        """
        out = []
        for p in proposals:
            if len(p) == 0 or not p.has("gt_boxes"):
                out.append(p[:0] if len(p) else p)
                continue
            if require_densepose and not p.has("gt_densepose"):
                out.append(p[:0])
                continue
            keep = (p.gt_classes != -1) & (p.gt_classes != self.num_classes)  # foreground
            keep &= matched_pairwise_iou(p.gt_boxes, p.proposal_boxes) >= self.densepose_fg_iou_threshold
            if require_densepose:
                keep &= p.gt_densepose.has_annotation().to(keep.device)
            out.append(p[keep.nonzero().squeeze(1)])
        return out

    def _densepose_features(
        self, features: dict[str, torch.Tensor], boxes: list[Boxes]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Head features (R, D, P, P) for ``boxes``, and a zero scalar tied to the decoder/inputs."""
        feats = [features[f] for f in self.densepose_in_features]
        if self.decoder is not None:
            feats = [self.decoder(feats)]
        anchor = sum(f.sum() for f in feats) * 0 if self.training else torch.zeros((), device=feats[0].device)
        return self.densepose_head(self.densepose_pooler(feats, boxes)), anchor

    def _densepose_losses(
        self, rois: list[Instances], outputs: DensePoseOutputs, anchor: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        losses = self.densepose_loss(rois, outputs)
        losses["loss_densepose_S"] = losses["loss_densepose_S"] + anchor
        return losses

    def _attach_densepose(self, instances: list[Instances], outputs: DensePoseOutputs) -> None:
        for inst, out in zip(instances, outputs.split([len(i) for i in instances])):
            if self.densepose_min_score > 0 and inst.has("scores"):
                out.valid = inst.scores >= self.densepose_min_score
            out.person_threshold = self.densepose_person_threshold
            inst.pred_densepose = out

    def _forward_densepose(self, features: dict[str, torch.Tensor], instances: list[Instances]):
        """Training: dict of DensePose losses. Inference: sets ``pred_densepose`` on ``instances``."""
        if not self.densepose_on:
            return {} if self.training else instances
        if self.training:
            rois = self._select_densepose_rois(instances, require_densepose=True)
            head, anchor = self._densepose_features(features, [r.proposal_boxes for r in rois])
            return self._densepose_losses(rois, self.densepose_predictor(head), anchor)
        head, _ = self._densepose_features(features, [i.pred_boxes for i in instances])
        self._attach_densepose(instances, self.densepose_predictor(head))
        return instances

    # ------------------------------------------------------------------ refinement

    def _keypoint_features(self, features: dict[str, torch.Tensor], boxes: list[Boxes]) -> torch.Tensor:
        """Keypoint head conv stack output (R, C_kp, P, P), before its ``score_lowres`` FCN."""
        x = self.keypoint_pooler([features[f] for f in self.keypoint_in_features], boxes)
        for name, layer in self.keypoint_head.named_children():
            if name != "score_lowres":
                x = layer(x)
        return x

    def _keypoint_logits(self, x: torch.Tensor) -> torch.Tensor:
        """The keypoint FCN: ``score_lowres`` deconv + bilinear x up_scale -> (R, K, 56, 56)."""
        head: KRCNNConvDeconvUpsampleHead = self.keypoint_head
        return F.interpolate(head.score_lowres(x), scale_factor=head.up_scale, mode="bilinear", align_corners=False)

    def _forward_refined(self, features: dict[str, torch.Tensor], instances: list[Instances]):
        """Both branches on the same ROIs, combined and refined (see module docstring)."""
        if self.training:
            rois = self._select_densepose_rois(instances, require_densepose=False)
            boxes = [r.proposal_boxes for r in rois]
        else:
            rois = instances
            boxes = [r.pred_boxes for r in rois]
        kp_feat = self._keypoint_features(features, boxes)
        dp_feat, anchor = self._densepose_features(features, boxes)
        kp_feat, dp_feat = self.kp_dp_refine(kp_feat, dp_feat)
        kp_logits = self._keypoint_logits(kp_feat)
        dp_out = self.densepose_predictor(dp_feat)
        if self.training:
            head = self.keypoint_head
            normalizer = None if head.loss_normalizer == "visible" else len(rois) * head.loss_normalizer
            # rows of images without keypoint annotations weigh 0 (no boolean indexing, no sync)
            kp_loss = keypoint_loss(kp_logits, rois, normalizer=normalizer)
            losses = {"loss_keypoint": kp_loss * head.loss_weight}
            losses.update(self._densepose_losses(rois, dp_out, anchor))
            return losses
        keypoint_rcnn_inference(kp_logits, instances)
        self._attach_densepose(instances, dp_out)
        return instances
