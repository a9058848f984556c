"""Predictor: records, CSI files and arrays, images; from a worker thread; bad weights."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from app.backend.engine.predictor import Predictor
from app.backend.errors import CheckpointError, UserFacingError
from app.backend.structures import FramePrediction


@pytest.fixture
def predictor(tiny_cfg) -> Predictor:
    return Predictor(tiny_cfg("pred"), "")


def test_predict_record_draws_on_the_rgb_frame(predictor: Predictor, demo_dataset_dir: Path) -> None:
    data = json.loads((demo_dataset_dir / "val.json").read_text())
    from app.backend.data import load_coco_densepose_json

    record = load_coco_densepose_json(demo_dataset_dir / "val.json")[0]
    out = predictor.predict_record(record)
    img = data["images"][0]
    assert isinstance(out.prediction, FramePrediction)
    assert out.prediction.image_size == (img["height"], img["width"])
    assert out.overlay.shape == (img["height"], img["width"], 3) and out.overlay.dtype == np.uint8
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
