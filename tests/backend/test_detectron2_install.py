"""detectron2 works as installed (pure Python from pb1-detectron2, or the official build)."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def test_missing_extension_raises_clear_message():
    from detectron2 import _C

    if hasattr(_C, "__file__") and str(_C.__file__).endswith(".so"):
        pytest.skip("official detectron2 build with its C++ extension")
    from detectron2.layers import ROIAlignRotated

    with pytest.raises(RuntimeError, match="ROIAlignRotated needs detectron2's C\\+\\+/CUDA extension"):
        ROIAlignRotated((7, 7), 1.0, 0)(torch.zeros(1, 3, 8, 8), torch.zeros(1, 6))


def test_keypoint_rcnn_builds_and_runs_on_cpu():
    from detectron2.config import get_cfg
    from detectron2.model_zoo import get_config_file
    from detectron2.modeling import build_model

    cfg = get_cfg()
    cfg.merge_from_file(get_config_file("COCO-Keypoints/keypoint_rcnn_R_50_FPN_1x.yaml"))
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.RESNETS.DEPTH = 18
    cfg.MODEL.RESNETS.RES2_OUT_CHANNELS = 64
    model = build_model(cfg).eval()
    with torch.no_grad():
        out = model([{"image": torch.zeros(3, 96, 128)}])
    assert out[0]["instances"].image_size == (96, 128)


def test_coco_evaluator_slow_impl(tmp_path):
    """COCOEvaluator(use_fast_impl=False) evaluates a tiny prediction set through pycocotools."""
    from detectron2.data import DatasetCatalog, MetadataCatalog
    from detectron2.evaluation import COCOEvaluator
    from detectron2.structures import Boxes, BoxMode, Instances

    name = "test_tiny_coco_eval"
    records = [
        {
            "file_name": f"img{i}.png",
            "image_id": i,
            "height": 100,
            "width": 100,
            "annotations": [{"bbox": [10, 10, 40, 50], "bbox_mode": BoxMode.XYWH_ABS, "category_id": 0, "iscrowd": 0}],
        }
        for i in range(2)
    ]
    if name not in DatasetCatalog.list():
        DatasetCatalog.register(name, lambda: records)
        MetadataCatalog.get(name).set(thing_classes=["person"])
    ev = COCOEvaluator(name, tasks=("bbox",), distributed=False, output_dir=str(tmp_path), use_fast_impl=False)
    ev.reset()
    for rec in records:
        inst = Instances((100, 100))
        inst.pred_boxes = Boxes(torch.tensor([[10.0, 10.0, 50.0, 60.0]]))
        inst.scores = torch.tensor([0.9])
        inst.pred_classes = torch.tensor([0])
        ev.process([{"image_id": rec["image_id"]}], [{"instances": inst}])
    res = ev.evaluate()
    assert np.isclose(res["bbox"]["AP"], 100.0)
