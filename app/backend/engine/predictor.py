"""Inference for the app, the CLI and the live preview: model outputs as FramePrediction + overlays.

:class:`InferenceRunner` runs any model instance (also the one being trained, e.g. by the
preview hook) on mapped inputs; :class:`Predictor` loads a checkpoint once and serves
single records, BGR images or CSI files, from any thread (calls are serialised by a lock).
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from detectron2.config import CfgNode
from torch.nn.parallel import DistributedDataParallel

from app.backend.checkpoint import AtomicCheckpointer
from app.backend.data import WiFiDensePoseDatasetMapper
from app.backend.data.csi import csi_model_input
from app.backend.errors import UserFacingError
from app.backend.modeling import build_model, to_frame_prediction
from app.backend.structures import FramePrediction
from app.backend.vis import render_overlay


@dataclass
class InferenceOutput:
    """One frame's result.

    Attributes:
        prediction: people found, coordinates in the frame's (height, width).
        overlay: BGR uint8 (H, W, 3): the prediction drawn on the RGB frame when the input
            has one, else on the MTN output (CSI modality).
        mtn_image: BGR uint8 (h, w, 3) view of the MTN output (CSI modality), else None.
    """

    prediction: FramePrediction
    overlay: np.ndarray
    mtn_image: np.ndarray | None = None


def mtn_to_bgr(tensor: torch.Tensor, input_format: str = "BGR") -> np.ndarray:
    """MTN output (3, H, W) float -> BGR uint8 (H, W, 3), min-max stretched over the whole tensor."""
    x = tensor.detach().float().cpu().numpy()
    lo, hi = float(x.min()), float(x.max())
    img = ((x - lo) / (hi - lo + 1e-6) * 255.0).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
    if input_format == "RGB":
        img = img[:, :, ::-1]
    return np.ascontiguousarray(img)


class InferenceRunner:
    """Runs ``model`` in eval mode on mapped inputs and renders overlays.

    Args:
        cfg: the model's config (INPUT.MODALITY, INPUT.FORMAT, the mapper's settings).
        model: a built model (a DDP wrapper is unwrapped); its train/eval mode is restored.
    """

    def __init__(self, cfg: CfgNode, model: torch.nn.Module) -> None:
        self.cfg = cfg
        self.model = model.module if isinstance(model, DistributedDataParallel) else model
        self._mapper = None

    def map_record(self, record: dict) -> dict:
        """A detectron2 dataset dict -> the model's input dict (test-time mapper).

        Raises:
            UserFacingError: the record's files cannot be read (the reader's error: CsiFormatError,
                DatasetError, ...); callers skip such records by :mod:`app.backend.data.skipped`'s rule.
        """
        if self._mapper is None:
            self._mapper = WiFiDensePoseDatasetMapper(self.cfg, is_train=False, skip_bad=False)
        return self._mapper(copy.deepcopy(record))

    @torch.no_grad()
    def run(
        self,
        inputs: Sequence[dict],
        records: Sequence[dict] | None = None,
        options: Any = None,
        frames: Sequence[np.ndarray | None] | None = None,
    ) -> list[InferenceOutput]:
        """Predict a batch of mapped inputs.

        Overlays are drawn on ``frames[k]`` (BGR uint8) when given, else on the RGB frame of
        ``records[k]["file_name"]``, else on the input image or the MTN output.
        """
        inputs = list(inputs)
        was_training = self.model.training
        self.model.eval()
        try:
            outputs = self.model(inputs)
            mtn = self.model.translate(inputs) if self.cfg.INPUT.MODALITY == "csi" else None
        finally:
            self.model.train(was_training)
        result = []
        for k, (inp, out) in enumerate(zip(inputs, outputs)):
            pred = to_frame_prediction(out["instances"].to("cpu"))
            mtn_img = None if mtn is None else mtn_to_bgr(mtn[k], self.cfg.INPUT.FORMAT)
            frame = frames[k] if frames is not None else None
            if frame is None:
                frame = _read_frame(records[k] if records is not None else inp)
            if frame is None:
                frame = _frame_from_input(inp, mtn_img, self.cfg.INPUT.FORMAT)
            if frame.shape[:2] != tuple(pred.image_size):
                frame = cv2.resize(frame, (int(pred.image_size[1]), int(pred.image_size[0])))
            result.append(InferenceOutput(pred, render_overlay(frame, pred, options), mtn_img))
        return result


def _read_frame(record: dict) -> np.ndarray | None:
    path = record.get("file_name")
    if path and os.path.isfile(path):
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        return img
    return None


def _frame_from_input(inp: dict, mtn_img: np.ndarray | None, input_format: str) -> np.ndarray:
    if "image" in inp:
        img = inp["image"].permute(1, 2, 0).cpu().numpy().clip(0, 255).astype(np.uint8)
        return np.ascontiguousarray(img[:, :, ::-1] if input_format == "RGB" else img)
    if mtn_img is not None:
        return mtn_img
    return np.zeros((int(inp.get("height", 64)), int(inp.get("width", 64)), 3), np.uint8)


class Predictor:
    """Load a trained model once and predict frames from any thread.

    Args:
        cfg: config of the trained model (e.g. OUTPUT_DIR/config.yaml).
        weights: checkpoint path (.pth, or a model-zoo .pkl); "" keeps random weights.

    Raises:
        CheckpointError: the weights cannot be read.
    """

    def __init__(self, cfg: CfgNode, weights: str = "") -> None:
        self.cfg = cfg.clone()
        self.cfg.defrost()
        if weights:
            self.cfg.MODEL.WEIGHTS = str(weights)
        self.cfg.freeze()
        model = build_model(self.cfg)
        if self.cfg.MODEL.WEIGHTS:
            AtomicCheckpointer(model, min_loaded_fraction=self.cfg.MODEL.MIN_LOADED_FRACTION).load(self.cfg.MODEL.WEIGHTS)
        model.eval()
        self.model = model
        self._runner = InferenceRunner(self.cfg, model)
        self._lock = threading.Lock()

    def predict_record(self, record: dict, options: Any = None) -> InferenceOutput:
        """A detectron2 dataset dict (``file_name``/``csi_file``, ``height``, ``width``)."""
        with self._lock:
            inp = self._runner.map_record(record)
            return self._runner.run([inp], [record], options)[0]

    def predict_image(self, image_bgr: np.ndarray, options: Any = None) -> InferenceOutput:
        """An RGB frame, BGR uint8 (H, W, 3); image modality only. Coordinates in (H, W)."""
        if self.cfg.INPUT.MODALITY != "image":
            raise UserFacingError("this model takes CSI input (INPUT.MODALITY 'csi'); give it CSI files")
        from detectron2.data import transforms as T

        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise UserFacingError(f"expected a BGR uint8 image (H, W, 3), got {image_bgr.dtype} {image_bgr.shape}")
        h, w = image_bgr.shape[:2]
        img = image_bgr[:, :, ::-1] if self.cfg.INPUT.FORMAT == "RGB" else image_bgr
        aug = T.ResizeShortestEdge([self.cfg.INPUT.MIN_SIZE_TEST] * 2, self.cfg.INPUT.MAX_SIZE_TEST)
        resized = aug.get_transform(img).apply_image(img)
        inp = {"image": torch.as_tensor(np.ascontiguousarray(resized.transpose(2, 0, 1)).astype("float32")), "height": h, "width": w}
        with self._lock:
            return self._runner.run([inp], [{}], options, frames=[image_bgr])[0]

    def predict_csi(
        self, source: str | os.PathLike | np.ndarray, image_size: tuple[int, int] | None = None, options: Any = None
    ) -> InferenceOutput:
        """A CSI file (any format ``read_csi`` reads) or a model input float32 (2, P*S, R, T).

        Coordinates refer to ``image_size`` (height, width), default MODEL.MTN.OUTPUT_SIZE;
        the overlay is drawn on the MTN output.
        """
        if self.cfg.INPUT.MODALITY != "csi":
            raise UserFacingError("this model takes RGB images (INPUT.MODALITY 'image'); give it image files")
        x = np.asarray(source, np.float32) if isinstance(source, np.ndarray) else csi_model_input(source, self.cfg)
        h, w = image_size or tuple(self.cfg.MODEL.MTN.OUTPUT_SIZE)
        inp = {"csi": torch.as_tensor(x), "height": int(h), "width": int(w)}
        with self._lock:
            return self._runner.run([inp], [{}], options)[0]
