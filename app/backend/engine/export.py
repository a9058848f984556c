"""Predictions as COCO results JSON, with DensePose in a compact, lossless-for-parts encoding.

One dict per detected person (COCO "results" format, loadable by ``COCO.loadRes``)::

    {"image_id": int, "file_name": str, "category_id": 1,
     "bbox": [x, y, w, h],                 # XYWH_ABS pixels of the frame
     "score": float,
     "keypoints": [x1, y1, s1, ..., x17, y17, s17],   # s = keypoint score (logit)
     "densepose": {"box_xyxy": [x0, y0, x1, y1], "size": [h, w],
                   "iuv_png": "<base64 PNG>"}}

``iuv_png`` is an 8-bit 3-channel PNG of size (h, w) covering ``box_xyxy``: channel 0 = fine
part I (0 = background, 1..24), channel 1 = round(U * 255), channel 2 = round(V * 255)
(DensePose's IUV image). Channels are stored in array order through OpenCV, so
``cv2.imdecode`` returns them as written (PIL would return them reversed). Parts are exact,
U/V are quantised to 1/255. :func:`decode_densepose` turns an entry back into a
:class:`DensePoseResult`.
"""

from __future__ import annotations

import base64

import cv2
import numpy as np

from app.backend.structures import FramePrediction
from app.backend.structures.body import PERSON_CATEGORY_ID
from app.backend.structures.densepose import DensePoseResult


def encode_densepose(result: DensePoseResult) -> dict:
    """DensePoseResult -> ``{"box_xyxy", "size", "iuv_png"}`` (see module docstring)."""
    ok, buf = cv2.imencode(".png", result.to_iuv_image())
    if not ok:
        raise ValueError("PNG encoding of the IUV image failed")
    h, w = result.labels.shape
    return {
        "box_xyxy": [round(float(v), 2) for v in result.box_xyxy],
        "size": [int(h), int(w)],
        "iuv_png": base64.b64encode(buf.tobytes()).decode("ascii"),
    }


def decode_densepose(entry: dict) -> DensePoseResult:
    """Inverse of :func:`encode_densepose` (U/V quantised to 1/255)."""
    raw = np.frombuffer(base64.b64decode(entry["iuv_png"]), np.uint8)
    iuv = cv2.imdecode(raw, cv2.IMREAD_UNCHANGED)
    if iuv is None or iuv.ndim != 3 or list(iuv.shape[:2]) != list(entry["size"]):
        raise ValueError("iuv_png is not a PNG of the stated size")
    uv = iuv[..., 1:3].transpose(2, 0, 1).astype(np.float32) / 255.0
    return DensePoseResult(labels=iuv[..., 0].copy(), uv=uv, box_xyxy=tuple(float(v) for v in entry["box_xyxy"]))


def frame_to_coco_results(pred: FramePrediction, image_id: int, file_name: str = "") -> list[dict]:
    """One COCO result dict per instance of ``pred`` (see module docstring)."""
    out = []
    for k in range(len(pred)):
        x0, y0, x1, y1 = (float(v) for v in pred.boxes[k])
        item = {
            "image_id": int(image_id),
            "file_name": file_name,
            "category_id": PERSON_CATEGORY_ID,
            "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
            "score": round(float(pred.scores[k]), 5),
        }
        if pred.keypoints is not None:
            item["keypoints"] = [round(float(v), 3) for v in pred.keypoints[k].reshape(-1)]
        if pred.densepose is not None and pred.densepose[k] is not None:
            item["densepose"] = encode_densepose(pred.densepose[k])
        out.append(item)
    return out
