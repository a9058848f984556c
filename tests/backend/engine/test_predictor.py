"""Predictor: records, CSI files and arrays, images; from a worker thread; bad weights."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backend.engine.predictor import Predictor
from app.backend.errors import CheckpointError, UserFacingError
from app.backend.structures import FramePrediction
from app.backend.vis import OverlayOptions


@pytest.fixture
def predictor(tiny_cfg) -> Predictor:
    return Predictor(tiny_cfg("pred"), "")


def test_predict_record_draws_on_the_rgb_frame(tiny_cfg, demo_dataset_dir: Path) -> None:
    from app.backend.data import load_coco_densepose_json

    predictor = Predictor(tiny_cfg("pred", MODEL__ROI_HEADS__SCORE_THRESH_TEST=0.0), "")  # an untrained model finds someone
    record = load_coco_densepose_json(demo_dataset_dir / "val.json")[0]
    frame = cv2.imread(record["file_name"], cv2.IMREAD_COLOR)
    bare = predictor.predict_record(record, OverlayOptions(score_threshold=2.0))  # nobody drawn
    out = predictor.predict_record(record, OverlayOptions(score_threshold=0.0, show_keypoints=False, opacity=0.0))
    assert isinstance(out.prediction, FramePrediction) and len(out.prediction) > 0
    assert out.prediction.image_size == frame.shape[:2] == (record["height"], record["width"])
    assert np.array_equal(bare.overlay, frame)  # the overlay's canvas is the RGB frame itself
    changed = np.any(out.overlay != frame, axis=2)
    drawn = np.zeros_like(changed)
    for x0, y0, x1, y1 in np.round(out.prediction.boxes).astype(int):
        drawn[max(0, y0 - 30) : y1 + 3, max(0, x0 - 3) : x1 + 3] = True  # each box with its label above it
    assert changed.any() and not (changed & ~drawn).any()  # drawn where the model found people, nowhere else
    assert out.mtn_image is not None and out.mtn_image.shape == (64, 64, 3)


def test_predict_csi_file_and_array_agree_and_run_in_a_thread(predictor: Predictor, demo_dataset_dir: Path) -> None:
    from app.backend.data.csi import csi_model_input

    path = sorted((demo_dataset_dir / "csi" / "val").glob("*.npz"))[0]
    results: list = []
    worker = threading.Thread(target=lambda: results.append(predictor.predict_csi(path)))
    worker.start()
    worker.join(120)
    assert results, "prediction from a worker thread did not finish"
    from_array = predictor.predict_csi(csi_model_input(path, predictor.cfg))
    np.testing.assert_allclose(results[0].prediction.boxes, from_array.prediction.boxes, atol=1e-4)
    assert results[0].overlay.shape == (64, 64, 3)


def test_wrong_modality_and_bad_weights_are_user_errors(predictor: Predictor, tiny_cfg, tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="CSI"):
        predictor.predict_image(np.zeros((32, 32, 3), np.uint8))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"nope")
    with pytest.raises(CheckpointError):
        Predictor(tiny_cfg("bad"), str(bad))
