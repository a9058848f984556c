"""Dataset dict -> model input: RGB and/or CSI, transforms applied to boxes, keypoints and DensePose alike.

Output of :class:`WiFiDensePoseDatasetMapper` (one dict per sample)::

    "image"      float32 tensor (3, H, W), values 0..255 in INPUT.FORMAT channel order
                 (image modality; CSI modality only with MODEL.TRANSFER.ENABLED, for the teacher)
    "csi"        float32 tensor (2, P*S, R, T): amplitude, sanitized phase (CSI modality)
    "height", "width", "image_id", "file_name", "csi_file"   from the dataset dict
    "instances"  Instances(image_size=(H, W)) with gt_boxes, gt_classes, gt_keypoints,
                 gt_densepose (DensePoseTargets), when training (or keep_annotations=True)

Frames: in image modality (H, W) is the transformed RGB frame (ResizeShortestEdge, optional
flip). In CSI modality (H, W) is MODEL.MTN.OUTPUT_SIZE: annotations (and the teacher's image)
are resized to it; INPUT.RANDOM_FLIP is ignored (with a warning), since CSI cannot be mirrored.

DensePose points are box-relative (0..256 over the box). Each point is taken to absolute
coordinates with the original box, transformed like any coordinate, and made relative to the
transformed box. Under a horizontal flip with INPUT.DENSEPOSE_FLIP 'mirror_charts' the part
becomes PART_FLIP[part] and U, V are kept (see ``app.backend.data.demo_body.MIRROR_RULE``);
the 256x256 coarse mask is mirrored with left/right labels swapped. With 'refuse' (the
default, right for real SMPL charts whose U/V do not mirror) the config is rejected.

Samples whose CSI the CSI policy rejects, or whose files cannot be read, give None and are
named once and counted (:class:`~app.backend.data.skipped.SkippedRecords`, the rule every pass
over a dataset follows); use :mod:`app.backend.data.loader` so that the loader skips them.
With ``skip_bad=False`` (inference on one record) they raise the reader's user-facing error.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import torch
from detectron2.config import configurable
from detectron2.data import detection_utils as utils
from detectron2.data import transforms as T
from detectron2.structures import Boxes, BoxMode, Instances

from app.backend.data.csi import as_params, csi_model_input
from app.backend.data.rle import RleError, decode_dp_masks
from app.backend.data.skipped import SkippedRecords, is_bad_record, record_name
from app.backend.errors import ConfigError, DatasetError, UserFacingError
from app.backend.structures.body import FINE_TO_COARSE, KEYPOINT_FLIP_MAP, KEYPOINT_NAMES, PART_FLIP
from app.backend.structures.box_grid import DP_GRID, abs_to_grid, grid_to_abs
from app.backend.structures.densepose_targets import DensePoseInstance, DensePoseTargets

logger = logging.getLogger(__name__)

_PART_FLIP = np.array(PART_FLIP, dtype=np.int64)
#: Coarse label (0..14) a coarse label becomes under a horizontal flip.
COARSE_FLIP = np.zeros(15, dtype=np.uint8)
for _fine, _coarse in enumerate(FINE_TO_COARSE):
    COARSE_FLIP[_coarse] = FINE_TO_COARSE[PART_FLIP[_fine]]
DENSEPOSE_FLIP_MODES = ("refuse", "mirror_charts")


def keypoint_hflip_indices() -> np.ndarray:
    """int64 (17,): index of the keypoint each keypoint becomes under a horizontal flip."""
    idx = list(range(len(KEYPOINT_NAMES)))
    for a, b in KEYPOINT_FLIP_MAP:
        ia, ib = KEYPOINT_NAMES.index(a), KEYPOINT_NAMES.index(b)
        idx[ia], idx[ib] = ib, ia
    return np.array(idx, dtype=np.int64)


def check_flip_config(cfg: Any, is_train: bool) -> None:
    """Raise ConfigError for flip settings that would corrupt the targets (see module docstring)."""
    mode = cfg.INPUT.DENSEPOSE_FLIP
    if mode not in DENSEPOSE_FLIP_MODES:
        raise ConfigError(f"INPUT.DENSEPOSE_FLIP must be one of {DENSEPOSE_FLIP_MODES}, got {mode!r}")
    flip = cfg.INPUT.RANDOM_FLIP if is_train else "none"
    if flip == "none":
        return
    if cfg.INPUT.MODALITY == "csi":
        logger.warning("INPUT.RANDOM_FLIP %r is ignored in CSI modality: CSI cannot be mirrored", flip)
        return
    if cfg.MODEL.DENSEPOSE_ON and flip == "vertical":
        raise ConfigError(
            "INPUT.RANDOM_FLIP 'vertical' cannot keep DensePose U/V charts valid; use 'none' or 'horizontal'"
        )
    if cfg.MODEL.DENSEPOSE_ON and mode == "refuse":
        raise ConfigError(
            "INPUT.RANDOM_FLIP 'horizontal' with DensePose on: U/V of real SMPL charts cannot be mirrored exactly. "
            "Set INPUT.RANDOM_FLIP 'none', or INPUT.DENSEPOSE_FLIP 'mirror_charts' if the dataset's charts are "
            "mirror-symmetric (the synthetic demo's are)"
        )


class WiFiDensePoseDatasetMapper:
    """Maps one detectron2 dataset dict to the model's input dict (see module docstring)."""

    @configurable
    def __init__(
        self,
        is_train: bool,
        *,
        augmentations: list[T.Augmentation | T.Transform],
        image_format: str,
        modality: str,
        load_image: bool,
        output_size: tuple[int, int] | None,
        csi_params: Any = None,
        densepose_on: bool = True,
        keypoint_on: bool = True,
        keep_annotations: bool | None = None,
        skip_bad: bool = True,
    ) -> None:
        """
        Args:
            is_train: training (annotations kept, train-time augmentations).
            augmentations: applied to the RGB frame in image modality.
            image_format: "BGR" or "RGB" channel order of ``"image"``.
            modality: "image" or "csi".
            load_image: also load the RGB frame in CSI modality (teacher for transfer).
            output_size: (H, W) frame of the annotations in CSI modality (MTN output).
            csi_params: config or ``CsiInputParams`` for ``csi_model_input``.
            keep_annotations: build ``"instances"`` (default: ``is_train``).
            skip_bad: return None for unreadable/rejected samples (else raise the error).
        """
        if modality not in ("image", "csi"):
            raise ConfigError(f"INPUT.MODALITY must be 'image' or 'csi', got {modality!r}")
        if modality == "csi" and output_size is None:
            raise ConfigError("CSI modality needs MODEL.MTN.OUTPUT_SIZE")
        self.is_train = is_train
        self.augmentations = T.AugmentationList(augmentations)
        self.image_format = image_format
        self.modality = modality
        self.load_image = modality == "image" or load_image
        self.output_size = tuple(int(v) for v in output_size) if output_size is not None else None
        self.csi_params = csi_params
        self.densepose_on = densepose_on
        self.keypoint_on = keypoint_on
        self.keep_annotations = is_train if keep_annotations is None else keep_annotations
        self.skip_bad = skip_bad
        #: records this mapper skipped, each named once (a record skipped every epoch counts once)
        self.skipped = SkippedRecords("training data" if is_train else "test data")
        self.hflip_indices = keypoint_hflip_indices()

    @classmethod
    def from_config(cls, cfg: Any, is_train: bool = True) -> dict:
        check_flip_config(cfg, is_train)
        if cfg.INPUT.CROP.ENABLED and cfg.MODEL.DENSEPOSE_ON:
            raise ConfigError("INPUT.CROP is not supported with DensePose on (box-relative DensePose targets)")
        csi = cfg.INPUT.MODALITY == "csi"
        return {
            "is_train": is_train,
            "augmentations": [] if csi else utils.build_augmentation(cfg, is_train),
            "image_format": cfg.INPUT.FORMAT,
            "modality": cfg.INPUT.MODALITY,
            "load_image": bool(csi and cfg.MODEL.TRANSFER.ENABLED),
            "output_size": tuple(cfg.MODEL.MTN.OUTPUT_SIZE) if csi else None,
            "csi_params": as_params(cfg) if csi else None,
            "densepose_on": cfg.MODEL.DENSEPOSE_ON,
            "keypoint_on": cfg.MODEL.KEYPOINT_ON,
        }

    # ------------------------------------------------------------------ loading
    def _reject(self, record: dict, reason: str, exc: Exception | None = None) -> None:
        if not self.skip_bad:
            if isinstance(exc, UserFacingError):
                raise exc
            raise DatasetError(f"{record_name(record)}: {reason}")
        self.skipped.skip(record, reason)

    def _read_image(self, record: dict) -> np.ndarray | None:
        path = record.get("file_name")
        if not path:
            self._reject(record, "no RGB frame (file_name) for the image input")
            return None
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            self._reject(record, f"cannot decode image {path}")
            return None
        if (image.shape[0], image.shape[1]) != (record["height"], record["width"]):
            self._reject(
                record, f"image is {image.shape[1]}x{image.shape[0]}, dataset says {record['width']}x{record['height']}"
            )
            return None
        return image[:, :, ::-1] if self.image_format == "RGB" else image

    def _read_csi(self, record: dict) -> np.ndarray | None:
        path = record.get("csi_file")
        if not path:
            self._reject(record, "no CSI file (csi_file) for the CSI input")
            return None
        try:
            x = csi_model_input(path, self.csi_params)
        except Exception as exc:
            if not is_bad_record(exc):
                raise
            self._reject(record, str(exc), exc)
            return None
        if not np.isfinite(x).all():
            self._reject(record, "CSI model input holds non-finite values")
            return None
        return x

    # ------------------------------------------------------------------ mapping
    def __call__(self, dataset_dict: dict) -> dict | None:
        record = dataset_dict
        out = {k: record.get(k) for k in ("image_id", "height", "width", "file_name", "csi_file")}
        h0, w0 = int(record["height"]), int(record["width"])
        image = self._read_image(record) if self.load_image else None
        if self.load_image and image is None:
            return None
        if self.modality == "csi":
            csi = self._read_csi(record)
            if csi is None:
                return None
            out["csi"] = torch.from_numpy(np.ascontiguousarray(csi, dtype=np.float32))
            oh, ow = self.output_size
            transforms = T.TransformList([T.ResizeTransform(h0, w0, oh, ow, interp=2)])
            if image is not None:
                image = transforms.apply_image(image)
            size = (oh, ow)
        else:
            aug = T.AugInput(image)
            transforms = self.augmentations(aug)
            image = aug.image
            size = image.shape[:2]
        if image is not None:
            out["image"] = torch.as_tensor(np.ascontiguousarray(image.transpose(2, 0, 1)), dtype=torch.float32)
        if self.keep_annotations and "annotations" in record:
            out["instances"] = self.annotations_to_instances(record["annotations"], transforms, size)
        return out

    def annotations_to_instances(
        self, annos: list[dict], transforms: T.TransformList, size: tuple[int, int]
    ) -> Instances:
        """Transformed annotations -> Instances with gt_boxes (XYXY_ABS), gt_classes, gt_keypoints, gt_densepose."""
        flipped = sum(isinstance(t, T.HFlipTransform) for t in transforms.transforms) % 2 == 1
        boxes, kps, dps = [], [], []
        for ann in annos:
            if ann.get("iscrowd", 0):
                continue
            box0 = BoxMode.convert(list(ann["bbox"]), ann["bbox_mode"], BoxMode.XYXY_ABS)
            box = transforms.apply_box(np.array([box0], dtype=np.float64))[0].clip(min=0)
            box = np.minimum(box, [size[1], size[0], size[1], size[0]])
            boxes.append(box)
            k = np.asarray(ann.get("keypoints") or [0.0] * 51, dtype=np.float64).reshape(-1, 3)
            kps.append(utils.transform_keypoint_annotations(k, transforms, size, self.hflip_indices))
            dps.append(self._densepose(ann, box0, box, transforms, flipped) if self.densepose_on else None)
        inst = Instances(size)
        inst.gt_boxes = Boxes(torch.as_tensor(np.array(boxes, dtype=np.float32).reshape(-1, 4)))
        inst.gt_classes = torch.zeros(len(boxes), dtype=torch.int64)
        if self.keypoint_on:
            inst.gt_keypoints = _keypoints(kps)
        if self.densepose_on:
            inst.gt_densepose = DensePoseTargets(dps)
        return inst[inst.gt_boxes.nonempty()]

    def _densepose(
        self, ann: dict, box0: list[float], box: np.ndarray, transforms: T.TransformList, flipped: bool
    ) -> DensePoseInstance | None:
        if not ann.get("dp_x"):
            return None
        ax, ay = grid_to_abs(np.asarray(ann["dp_x"], np.float64), np.asarray(ann["dp_y"], np.float64), box0)
        pts = transforms.apply_coords(np.stack([ax, ay], axis=1))
        x, y = abs_to_grid(pts[:, 0], pts[:, 1], box)
        keep = (x >= 0) & (x <= DP_GRID) & (y >= 0) & (y <= DP_GRID)
        i = np.asarray(ann["dp_I"], np.int64)
        if flipped:
            i = _PART_FLIP[i]
        segm = None
        if ann.get("dp_masks") is not None:
            try:
                segm = decode_dp_masks(ann["dp_masks"])
            except RleError as exc:
                logger.warning("annotation %s: dp_masks ignored (%s)", ann.get("id"), exc)
            if segm is not None and flipped:
                segm = COARSE_FLIP[segm[:, ::-1]]
        return DensePoseInstance(
            x=torch.as_tensor(np.clip(x[keep], 0, 255.999), dtype=torch.float32),
            y=torch.as_tensor(np.clip(y[keep], 0, 255.999), dtype=torch.float32),
            i=torch.as_tensor(i[keep], dtype=torch.int64),
            u=torch.as_tensor(np.asarray(ann["dp_U"], np.float32)[keep]),
            v=torch.as_tensor(np.asarray(ann["dp_V"], np.float32)[keep]),
            segm=None if segm is None else torch.from_numpy(np.ascontiguousarray(segm)),
        )


def _keypoints(kps: list[np.ndarray]) -> Any:
    from detectron2.structures import Keypoints

    arr = np.array(kps, dtype=np.float32).reshape(-1, len(KEYPOINT_NAMES), 3)
    return Keypoints(torch.as_tensor(arr))
