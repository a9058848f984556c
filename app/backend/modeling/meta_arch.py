"""``CombinedModel``: (CSI -> MTN ->) backbone -> RPN -> DensePoseROIHeads, one model for both modalities.

Inputs: a list of dicts as the mappers produce them (see the team contracts):

* image modality (``INPUT.MODALITY 'image'``): ``"image"`` float tensor (3, H, W) in
  ``INPUT.FORMAT`` channel order, 0..255. Normalised as detectron2's GeneralizedRCNN does
  (``(x - PIXEL_MEAN) / PIXEL_STD``), so image checkpoints behave identically.
* CSI modality: ``"csi"`` float32 tensor (2, P*S, R, T) (amplitude, sanitized phase), not
  normalised. The model normalises it with the buffers ``csi_mean`` / ``csi_std`` (2,)
  (from ``INPUT.CSI.AMP_MEAN/AMP_STD/PHASE_MEAN/PHASE_STD``; a STD <= 0 at build time
  means "not computed yet": 0/1 is used until the trainer calls :meth:`set_csi_stats`).
  The buffers are saved in checkpoints. The MTN turns it into (N, 3, H, W) with
  (H, W) = ``MODEL.MTN.OUTPUT_SIZE``, which becomes the ``ImageList``.
  ``"image"`` (the paired RGB frame) is only needed for the transfer loss.

Pixel normalisation is NOT applied to the MTN output: PIXEL_MEAN/STD describe uint8
camera images, while the MTN output is learned and ends in a linear conv, so any fixed
affine map would be absorbed by that layer and would only rescale its gradients (by
1/PIXEL_STD, ~1/58). The backbone still sees a well-scaled input because the MTN learns
the scale its loss asks for (with the transfer loss: the teacher's feature statistics),
and the paper configs use a BN/GN backbone that normalises after the stem.

Training returns the loss dict with the weights applied here (detectron2's trainer sums
it unweighted): ``loss_rpn_cls``, ``loss_rpn_loc``, ``loss_cls``, ``loss_box_reg`` (x1),
``loss_keypoint`` (x ``MODEL.LOSS_WEIGHTS.KEYPOINT``), ``loss_densepose_S/I/U/V``
(x ``MODEL.LOSS_WEIGHTS.DENSEPOSE``), ``loss_transfer`` (x ``MODEL.LOSS_WEIGHTS.TRANSFER``,
only with ``MODEL.TRANSFER.ENABLED`` in CSI modality), ``loss_mtn_parts``
(x ``MODEL.LOSS_WEIGHTS.MTN_PARTS``, CSI modality, only when that weight is > 0; see
:mod:`app.backend.modeling.mtn_target`).

Inference returns ``[{"instances": Instances}]`` rescaled to each input's
``height``/``width`` (default: the model input size), with ``pred_boxes``, ``scores``,
``pred_classes``, ``pred_keypoints`` (N, 17, 3) and ``pred_densepose``
(:class:`DensePoseOutputs`, box-relative so it survives the rescaling).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from detectron2.config import CfgNode, configurable
from detectron2.data.detection_utils import convert_image_to_rgb
from detectron2.modeling import META_ARCH_REGISTRY, Backbone, build_backbone, build_proposal_generator, build_roi_heads
from detectron2.modeling.postprocessing import detector_postprocess
from detectron2.structures import ImageList, Instances
from detectron2.utils.events import get_event_storage
from torch import nn
from torch.nn import functional as F

from app.backend.modeling.mtn import build_mtn
from app.backend.modeling.mtn_target import part_target_loss
from app.backend.modeling.transfer import FeatureTransfer, build_transfer

MODALITIES = ("csi", "image")


@META_ARCH_REGISTRY.register()
class CombinedModel(nn.Module):
    """Image or CSI input -> DensePose R-CNN with keypoints (and the MTN / transfer in CSI modality)."""

    @configurable
    def __init__(
        self,
        *,
        backbone: Backbone,
        proposal_generator: nn.Module,
        roi_heads: nn.Module,
        pixel_mean: Sequence[float],
        pixel_std: Sequence[float],
        input_format: str = "BGR",
        vis_period: int = 0,
        modality: str = "image",
        mtn: nn.Module | None = None,
        csi_stats: Sequence[float] = (0.0, 1.0, 0.0, 1.0),
        csi_feature_shape: Sequence[int] | None = None,
        loss_weights: dict[str, float] | None = None,
        transfer: FeatureTransfer | None = None,
        mtn_detector_grad_scale: float = 1.0,
        mtn_parts_body_weight: float = 1.0,
    ):
        """
        Args:
            backbone, proposal_generator, roi_heads, pixel_mean, pixel_std, input_format,
                vis_period: as detectron2's GeneralizedRCNN.
            modality: 'image' or 'csi'.
            mtn: the modality translation network (required for 'csi').
            csi_stats: (amp_mean, amp_std, phase_mean, phase_std) initial CSI normalisation.
            csi_feature_shape: (2, P*S, R, T) for a mean/std per input value (buffers
                ``csi_feature_mean``/``csi_feature_std``, set by :meth:`set_csi_feature_stats`)
                instead of ``csi_stats``; None = the global normalisation.
            loss_weights: loss-name prefix -> weight, e.g. {"loss_densepose": 0.6}.
            transfer: the frozen-teacher transfer loss (CSI modality only), or None.
            mtn_detector_grad_scale: factor on the gradient the detector's losses send back into
                the MTN (1 = end to end as in the paper, 0 = the MTN learns from its own losses only).
            mtn_parts_body_weight: weight of body pixels relative to background in ``loss_mtn_parts``.
        """
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"INPUT.MODALITY must be one of {MODALITIES}, got {modality!r}")
        if modality == "csi" and mtn is None:
            raise ValueError("CSI modality needs an MTN")
        self.modality = modality
        self.backbone = backbone
        self.proposal_generator = proposal_generator
        self.roi_heads = roi_heads
        self.input_format = input_format
        self.vis_period = vis_period
        self.register_buffer("pixel_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(-1, 1, 1), False)
        self.register_buffer("pixel_std", torch.tensor(pixel_std, dtype=torch.float32).view(-1, 1, 1), False)
        if modality == "csi":
            self.mtn = mtn
            self.register_buffer("csi_mean", torch.zeros(2))
            self.register_buffer("csi_std", torch.ones(2))
            self.set_csi_stats(*csi_stats)
            if csi_feature_shape is not None:
                shape = tuple(int(v) for v in csi_feature_shape)
                self.register_buffer("csi_feature_mean", torch.zeros(shape))
                self.register_buffer("csi_feature_std", torch.ones(shape))
        self.loss_weights = dict(loss_weights or {})
        self.transfer = transfer if modality == "csi" else None
        self.mtn_detector_grad_scale = float(mtn_detector_grad_scale)
        self.mtn_parts_body_weight = float(mtn_parts_body_weight)

    @classmethod
    def from_config(cls, cfg: CfgNode) -> dict:
        backbone = build_backbone(cfg)
        modality = cfg.INPUT.MODALITY
        c = cfg.INPUT.CSI
        ret = {
            "backbone": backbone,
            "proposal_generator": build_proposal_generator(cfg, backbone.output_shape()),
            "roi_heads": build_roi_heads(cfg, backbone.output_shape()),
            "input_format": cfg.INPUT.FORMAT,
            "vis_period": cfg.VIS_PERIOD,
            "pixel_mean": cfg.MODEL.PIXEL_MEAN,
            "pixel_std": cfg.MODEL.PIXEL_STD,
            "modality": modality,
            "mtn_detector_grad_scale": cfg.MODEL.MTN.DETECTOR_GRAD_SCALE,
            "mtn_parts_body_weight": cfg.MODEL.MTN.PARTS_BODY_WEIGHT,
            "loss_weights": {
                "loss_densepose": cfg.MODEL.LOSS_WEIGHTS.DENSEPOSE,
                "loss_keypoint": cfg.MODEL.LOSS_WEIGHTS.KEYPOINT,
                "loss_transfer": cfg.MODEL.LOSS_WEIGHTS.TRANSFER,
                "loss_mtn_parts": cfg.MODEL.LOSS_WEIGHTS.MTN_PARTS,
            },
        }
        if modality == "csi":
            amp_ok, ph_ok = c.AMP_STD > 0, c.PHASE_STD > 0
            ret["mtn"] = build_mtn(cfg)
            if c.NORMALIZATION == "feature":
                ret["csi_feature_shape"] = (2, c.PACKETS_PER_SAMPLE * c.NUM_SUBCARRIERS, c.NUM_RX, c.NUM_TX)
            elif c.NORMALIZATION != "global":
                raise ValueError(f"INPUT.CSI.NORMALIZATION must be 'global' or 'feature', got {c.NORMALIZATION!r}")
            ret["csi_stats"] = (
                c.AMP_MEAN if amp_ok else 0.0,
                c.AMP_STD if amp_ok else 1.0,
                c.PHASE_MEAN if ph_ok else 0.0,
                c.PHASE_STD if ph_ok else 1.0,
            )
            if cfg.MODEL.TRANSFER.ENABLED:
                ret["transfer"] = build_transfer(cfg)
        return ret

    @property
    def device(self) -> torch.device:
        return self.pixel_mean.device

    def _apply(self, fn: Callable, *args, **kwargs):
        """Also move/convert the (non-submodule) transfer teacher with the model."""
        super()._apply(fn, *args, **kwargs)
        if getattr(self, "transfer", None) is not None:
            self.transfer.apply_(fn)
        return self

    def set_csi_stats(self, amp_mean: float, amp_std: float, phase_mean: float, phase_std: float) -> None:
        """Set the CSI normalisation (stds must be > 0); saved with the model's state_dict."""
        if self.modality != "csi":
            raise ValueError("CSI statistics only apply to the CSI modality")
        if not (amp_std > 0 and phase_std > 0):
            raise ValueError(f"CSI stds must be > 0, got amplitude {amp_std}, phase {phase_std}")
        with torch.no_grad():
            self.csi_mean.copy_(torch.tensor([amp_mean, phase_mean], dtype=torch.float32))
            self.csi_std.copy_(torch.tensor([amp_std, phase_std], dtype=torch.float32))

    def set_csi_feature_stats(self, mean, std) -> None:
        """Set the per-value CSI normalisation: arrays of shape (2, P*S, R, T), stds > 0."""
        if getattr(self, "csi_feature_mean", None) is None:
            raise ValueError("this model normalises CSI globally (INPUT.CSI.NORMALIZATION 'global')")
        mean_t = torch.as_tensor(mean, dtype=torch.float32)
        std_t = torch.as_tensor(std, dtype=torch.float32)
        if mean_t.shape != self.csi_feature_mean.shape or std_t.shape != self.csi_feature_std.shape:
            raise ValueError(f"CSI feature stats must have shape {tuple(self.csi_feature_mean.shape)}")
        if not (bool(torch.isfinite(mean_t).all()) and bool((std_t > 0).all())):
            raise ValueError("CSI feature stats must be finite with positive stds")
        with torch.no_grad():
            self.csi_feature_mean.copy_(mean_t)
            self.csi_feature_std.copy_(std_t)

    # ------------------------------------------------------------------ inputs

    def translate(self, batched_inputs: list[dict]) -> torch.Tensor:
        """MTN output (N, 3, H, W) for the inputs' ``"csi"`` (CSI modality only)."""
        if self.modality != "csi":
            raise ValueError("translate() needs the CSI modality (the image model has no MTN)")
        csi = torch.stack([x["csi"] for x in batched_inputs]).to(self.device, torch.float32)
        if getattr(self, "csi_feature_mean", None) is not None:
            csi = (csi - self.csi_feature_mean) / self.csi_feature_std
        else:
            csi = (csi - self.csi_mean.view(1, 2, 1, 1, 1)) / self.csi_std.view(1, 2, 1, 1, 1)
        return self.mtn(csi)

    def preprocess_image(self, batched_inputs: list[dict]) -> ImageList:
        """The normalised, padded batch the backbone sees (MTN output in CSI modality)."""
        if self.modality == "csi":
            return self._pad_translation(self.translate(batched_inputs))
        images = [(x["image"].to(self.device) - self.pixel_mean) / self.pixel_std for x in batched_inputs]
        return ImageList.from_tensors(images, self.backbone.size_divisibility)

    def _pad_translation(self, x: torch.Tensor) -> ImageList:
        """The MTN output (N, 3, H, W) zero-padded right/bottom to the backbone's size divisibility, as ImageList does."""
        h, w = x.shape[-2:]
        d = max(int(self.backbone.size_divisibility), 1)
        return ImageList(F.pad(x, (0, (-w) % d, 0, (-h) % d)), [(int(h), int(w))] * x.shape[0])

    # ------------------------------------------------------------------ forward

    def forward(self, batched_inputs: list[dict]):
        """Training: weighted loss dict. Inference: ``[{"instances": Instances}]`` (see module docs)."""
        if not self.training:
            return self.inference(batched_inputs)
        gt_instances = (
            [x["instances"].to(self.device) for x in batched_inputs] if "instances" in batched_inputs[0] else None
        )
        mtn_losses = {}
        if self.modality == "csi":
            translated = self.translate(batched_inputs)
            if self.loss_weights.get("loss_mtn_parts", 0.0) > 0 and gt_instances is not None:
                mtn_losses["loss_mtn_parts"] = part_target_loss(translated, gt_instances, self.mtn_parts_body_weight)
            if self.mtn_detector_grad_scale != 1.0:  # same values forward, scaled gradient backward
                s = self.mtn_detector_grad_scale
                translated = translated * s + translated.detach() * (1.0 - s) if s else translated.detach()
            images = self._pad_translation(translated)
        else:
            images = self.preprocess_image(batched_inputs)
        features = self.backbone(images.tensor)
        proposals, proposal_losses = self.proposal_generator(images, features, gt_instances)
        _, detector_losses = self.roi_heads(images, features, proposals, gt_instances)
        losses = {**detector_losses, **proposal_losses, **mtn_losses}
        if self.transfer is not None:
            losses["loss_transfer"] = self.transfer.loss(features, batched_inputs)
        if self.vis_period > 0:
            storage = get_event_storage()
            if storage.iter % self.vis_period == 0:
                self.visualize_training(batched_inputs, images, proposals)
        return self.weight_losses(losses)

    def weight_losses(self, losses: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Multiply each loss by the weight of the longest matching prefix in ``loss_weights``."""
        out = {}
        for name, value in losses.items():
            prefixes = [p for p in self.loss_weights if name.startswith(p)]
            out[name] = value * self.loss_weights[max(prefixes, key=len)] if prefixes else value
        return out

    def inference(
        self, batched_inputs: list[dict], detected_instances: list[Instances] | None = None, do_postprocess: bool = True
    ) -> list:
        """As GeneralizedRCNN.inference; ``detected_instances`` skips the box detection."""
        assert not self.training
        images = self.preprocess_image(batched_inputs)
        features = self.backbone(images.tensor)
        if detected_instances is None:
            proposals, _ = self.proposal_generator(images, features, None)
            results, _ = self.roi_heads(images, features, proposals, None)
        else:
            results = self.roi_heads.forward_with_given_boxes(features, [x.to(self.device) for x in detected_instances])
        if not do_postprocess:
            return results
        out = []
        for res, inp, size in zip(results, batched_inputs, images.image_sizes):
            out.append({"instances": detector_postprocess(res, inp.get("height", size[0]), inp.get("width", size[1]))})
        return out

    # ------------------------------------------------------------------ visualisation

    def _display_image(self, batched_inputs: list[dict], images: ImageList, k: int) -> np.ndarray:
        """RGB uint8 (H, W, 3) of input ``k``: the camera frame, or the MTN output min-max scaled."""
        if self.modality == "image":
            return convert_image_to_rgb(batched_inputs[k]["image"].permute(1, 2, 0), self.input_format)
        h, w = images.image_sizes[k]
        x = images.tensor[k, :, :h, :w].detach().float()
        x = (x - x.min()) / (x.max() - x.min()).clamp(min=1e-6) * 255.0
        return x.permute(1, 2, 0).to(torch.uint8).cpu().numpy()

    def visualize_training(self, batched_inputs: list[dict], images: ImageList, proposals: list[Instances]) -> None:
        """Put GT boxes (left) and the top-20 proposals (right) on the first input into EventStorage.

        CSI modality draws on the MTN output (what the backbone saw), image modality on the frame.
        """
        from detectron2.utils.visualizer import Visualizer

        storage = get_event_storage()
        img = self._display_image(batched_inputs, images, 0)
        gt = batched_inputs[0].get("instances")
        left = Visualizer(img, None).overlay_instances(
            boxes=gt.gt_boxes.tensor.cpu().numpy() if gt is not None else None
        )
        top = proposals[0].proposal_boxes[:20].tensor.detach().cpu().numpy()
        right = Visualizer(img, None).overlay_instances(boxes=top)
        vis = np.concatenate([left.get_image(), right.get_image()], axis=1).transpose(2, 0, 1)
        what = "MTN output" if self.modality == "csi" else "image"
        storage.put_image(f"Left: GT bounding boxes; Right: predicted proposals ({what})", vis)
