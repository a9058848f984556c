"""DensePoseCOCOEvaluator in detectron2's protocol: process(inputs, outputs) then evaluate()."""

from __future__ import annotations

import json
import uuid

import pytest
from detectron2.data import DatasetCatalog

from app.backend.config import get_cfg
from app.backend.evaluation import DensePoseCOCOEvaluator, prediction_from_ground_truth


@pytest.fixture
def dataset_name(records):
    name = f"test_eval_{uuid.uuid4().hex[:8]}"
    DatasetCatalog.register(name, lambda: records)
    yield name
    DatasetCatalog.remove(name)


def test_evaluator_protocol_and_json(records, dataset_name, tmp_path):
    cfg = get_cfg()
    assert cfg.TEST.DENSEPOSE.GEODESIC_DIR == ""
    ev = DensePoseCOCOEvaluator(dataset_name, cfg, output_dir=str(tmp_path))
    ev.reset()
    for r in records:
        inputs = [{"image_id": r["image_id"], "height": r["height"], "width": r["width"]}]
        ev.process(inputs, [{"prediction": prediction_from_ground_truth(r)}])
    res = ev.evaluate()
    assert set(res) == {"bbox", "keypoints", "densepose"}
    assert res["bbox"]["AP"] == pytest.approx(100.0)
    assert res["densepose"]["dp_part_acc"] == pytest.approx(100.0)
    assert "GPS_AP" not in res["densepose"]
    saved = json.loads((tmp_path / "evaluation_results.json").read_text())
    assert saved["dataset"] == dataset_name
    assert saved["results"]["densepose"]["dp_uv_err"] == pytest.approx(0.0, abs=1e-6)


def test_reset_clears_and_partial_images(records, dataset_name):
    ev = DensePoseCOCOEvaluator(dataset_name, output_dir=None)
    r = records[0]
    ev.process(
        [{"image_id": 1, "height": 200, "width": 240}], [{"prediction": prediction_from_ground_truth(r)}]
    )
    ev.reset()
    ev.process(
        [{"image_id": 2, "height": 200, "width": 240}],
        [{"prediction": prediction_from_ground_truth(records[1])}],
    )
    res = ev.evaluate()
    assert res["bbox"]["AP"] == pytest.approx(100.0), "only image 2 is evaluated"
    assert res["densepose"]["dp_num_points"] == 88
