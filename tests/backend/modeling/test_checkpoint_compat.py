"""The image model must load detectron2 model-zoo checkpoints unchanged.

Expected names and shapes below come from detectron2's DensePose project sources
(facebookresearch/detectron2, projects/DensePose):
  configs/Base-DensePose-RCNN-FPN.yaml + configs/densepose_rcnn_R_50_FPN_s1x.yaml (R50-FPN,
    ROI_HEADS.NUM_CLASSES 1, DensePoseV1ConvXHead, 2 coarse segmentation channels);
  densepose/config.py defaults (NUM_STACKED_CONVS 8, CONV_HEAD_DIM 512, NUM_PATCHES 24,
    DECONV_KERNEL 4, DECODER_ON True, DECODER_NUM_CLASSES 256, DECODER_CONV_DIMS 256,
    DECODER_COMMON_STRIDE 4);
  densepose/modeling/roi_heads/v1convx.py (body_conv_fcn{i}),
  densepose/modeling/predictors/chart.py (ann_index_lowres, index_uv_lowres, u_lowres,
    v_lowres: ConvTranspose2d weights are (in, out, k, k)),
  densepose/modeling/roi_heads/roi_head.py (Decoder registered as ``decoder``, one
    Sequential per FPN level named after it: conv [+ x2 upsample] blocks, then ``predictor``).
The RPN, box head and backbone names are detectron2's (compared to its own model below).
"""

from __future__ import annotations

import pickle

import pytest
import torch
from detectron2.config import get_cfg as d2_get_cfg
from detectron2.model_zoo import get_config_file
from detectron2.modeling import build_model as d2_build_model

from app.backend.config import CONFIGS_DIR, load_config
from app.backend.modeling import build_model

S1X = CONFIGS_DIR / "image_densepose_R50_FPN_s1x.yaml"


def _expected_non_backbone() -> dict[str, tuple[int, ...]]:
    e: dict[str, tuple[int, ...]] = {
        "proposal_generator.rpn_head.conv.weight": (256, 256, 3, 3),
        "proposal_generator.rpn_head.conv.bias": (256,),
        "proposal_generator.rpn_head.objectness_logits.weight": (3, 256, 1, 1),
        "proposal_generator.rpn_head.objectness_logits.bias": (3,),
        "proposal_generator.rpn_head.anchor_deltas.weight": (12, 256, 1, 1),
        "proposal_generator.rpn_head.anchor_deltas.bias": (12,),
        "roi_heads.box_head.fc1.weight": (1024, 256 * 7 * 7),
        "roi_heads.box_head.fc1.bias": (1024,),
        "roi_heads.box_head.fc2.weight": (1024, 1024),
        "roi_heads.box_head.fc2.bias": (1024,),
        "roi_heads.box_predictor.cls_score.weight": (2, 1024),  # person + background
        "roi_heads.box_predictor.cls_score.bias": (2,),
        "roi_heads.box_predictor.bbox_pred.weight": (4, 1024),
        "roi_heads.box_predictor.bbox_pred.bias": (4,),
        "roi_heads.decoder.predictor.weight": (256, 256, 1, 1),
        "roi_heads.decoder.predictor.bias": (256,),
    }
    for name in ("p2.0", "p3.0", "p4.0", "p4.2", "p5.0", "p5.2", "p5.4"):
        e[f"roi_heads.decoder.{name}.weight"] = (256, 256, 3, 3)
        e[f"roi_heads.decoder.{name}.bias"] = (256,)
    for i in range(1, 9):
        e[f"roi_heads.densepose_head.body_conv_fcn{i}.weight"] = (512, 256 if i == 1 else 512, 3, 3)
        e[f"roi_heads.densepose_head.body_conv_fcn{i}.bias"] = (512,)
    for name, ch in (("ann_index_lowres", 2), ("index_uv_lowres", 25), ("u_lowres", 25), ("v_lowres", 25)):
        e[f"roi_heads.densepose_predictor.{name}.weight"] = (512, ch, 4, 4)
        e[f"roi_heads.densepose_predictor.{name}.bias"] = (ch,)
    return e


@pytest.fixture(scope="module")
def d2_keypoint_rcnn():
    """detectron2's own GeneralizedRCNN from the model-zoo keypoint_rcnn_R_50_FPN_1x.yaml, random init."""
    cfg = d2_get_cfg()
    cfg.merge_from_file(get_config_file("COCO-Keypoints/keypoint_rcnn_R_50_FPN_1x.yaml"))
    cfg.MODEL.DEVICE = "cpu"
    cfg.MODEL.WEIGHTS = ""
    cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = 0.0
    cfg.TEST.DETECTIONS_PER_IMAGE = 8  # keeps the 8x512 keypoint head cheap on CPU
    torch.manual_seed(0)
    model = d2_build_model(cfg).eval()
    with torch.no_grad():
        # A random R50 with identity FrozenBN amplifies its input ~1e3 times, which saturates
        # every score to 0 or 1. The network is positively homogeneous (ReLU, zero biases), so
        # scaling the stem scales all features: moderate scores, real detections to compare.
        model.backbone.bottom_up.stem.conv1.weight.mul_(1e-3)
    return cfg, model


@pytest.fixture(scope="module")
def s1x_model():
    return build_model(load_config(S1X, ["MODEL.DEVICE", "cpu"]))


def test_densepose_s1x_state_dict_keys_and_shapes(s1x_model, d2_keypoint_rcnn):
    ours = {k: tuple(v.shape) for k, v in s1x_model.state_dict().items()}
    expected = _expected_non_backbone()
    # backbone: exactly detectron2's own R50-FPN (bottom_up.* with FrozenBN buffers, fpn_*)
    d2_backbone = {k: tuple(v.shape) for k, v in d2_keypoint_rcnn[1].state_dict().items() if k.startswith("backbone.")}
    assert len([k for k in d2_backbone if k.startswith("backbone.bottom_up.")]) == 265
    expected.update(d2_backbone)
    assert set(ours) - set(expected) == set(), "unexpected keys (a model-zoo checkpoint would not have them)"
    assert set(expected) - set(ours) == set(), "missing keys"
    assert {k: v for k, v in ours.items() if expected[k] != v} == {}


def test_densepose_s1x_pkl_checkpoint_loads_with_nothing_missing(s1x_model, tmp_path):
    """A model-zoo style .pkl (numpy arrays, {'model', '__author__'}) loads completely, code-free."""
    from app.backend.checkpoint import AtomicCheckpointer, read_checkpoint

    g = torch.Generator().manual_seed(1)
    weights = {k: torch.randn(v.shape, generator=g).numpy() for k, v in s1x_model.state_dict().items()}
    path = tmp_path / "model_final.pkl"
    with open(path, "wb") as f:
        pickle.dump({"model": weights, "__author__": "densepose-test"}, f)
    target = build_model(load_config(S1X, ["MODEL.DEVICE", "cpu"]))
    ckpt = AtomicCheckpointer(target)
    incompatible = ckpt.load_model_state(read_checkpoint(str(path)))
    assert (
        incompatible.missing_keys == [] and incompatible.unexpected_keys == [] and incompatible.incorrect_shapes == []
    )
    sd = target.state_dict()
    assert torch.equal(
        sd["roi_heads.densepose_predictor.u_lowres.weight"],
        torch.from_numpy(weights["roi_heads.densepose_predictor.u_lowres.weight"]),
    )


def test_image_config_matches_densepose_base_settings():
    """ROI box head / RPN / DensePose settings of Base-DensePose-RCNN-FPN.yaml + s1x, pinned."""
    cfg = load_config(S1X)
    m = cfg.MODEL
    assert cfg.INPUT.MODALITY == "image" and not m.KEYPOINT_ON and not m.MASK_ON and not m.ROI_KP_DP_REFINE.ENABLED
    assert (m.RESNETS.DEPTH, m.RESNETS.NORM, list(m.RESNETS.OUT_FEATURES)) == (
        50,
        "FrozenBN",
        ["res2", "res3", "res4", "res5"],
    )
    assert (m.ROI_BOX_HEAD.NAME, m.ROI_BOX_HEAD.NUM_FC, m.ROI_BOX_HEAD.POOLER_RESOLUTION) == (
        "FastRCNNConvFCHead",
        2,
        7,
    )
    assert (m.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO, m.ROI_BOX_HEAD.POOLER_TYPE) == (2, "ROIAlign")
    assert (m.ROI_HEADS.NAME, list(m.ROI_HEADS.IN_FEATURES), m.ROI_HEADS.NUM_CLASSES) == (
        "DensePoseROIHeads",
        ["p2", "p3", "p4", "p5"],
        1,
    )
    assert list(m.RPN.IN_FEATURES) == ["p2", "p3", "p4", "p5", "p6"]
    assert (m.RPN.PRE_NMS_TOPK_TRAIN, m.RPN.PRE_NMS_TOPK_TEST, m.RPN.POST_NMS_TOPK_TRAIN, m.RPN.POST_NMS_TOPK_TEST) == (
        2000,
        1000,
        1000,
        1000,
    )
    h = m.ROI_DENSEPOSE_HEAD
    assert (h.NAME, h.POOLER_TYPE, h.POOLER_RESOLUTION, h.POOLER_SAMPLING_RATIO) == (
        "DensePoseV1ConvXHead",
        "ROIAlign",
        28,
        2,
    )
    assert (h.HEATMAP_SIZE, h.NUM_COARSE_SEGM_CHANNELS, h.DECODER_ON, h.FG_IOU_THRESHOLD) == (112, 2, True, 0.7)
    assert (h.INDEX_WEIGHTS, h.PART_WEIGHTS, h.POINT_REGRESSION_WEIGHTS) == (5.0, 1.0, 0.01)
    # DensePose trains its losses unweighted
    assert (m.LOSS_WEIGHTS.DENSEPOSE, m.LOSS_WEIGHTS.KEYPOINT) == (1.0, 1.0)


def test_keypoint_rcnn_weights_load_and_give_the_same_detections(d2_keypoint_rcnn):
    d2_cfg, d2_model = d2_keypoint_rcnn
    cfg = load_config(
        S1X,
        [
            "MODEL.DEVICE", "cpu",
            "MODEL.KEYPOINT_ON", "True",
            # keypoint_rcnn_R_50_FPN_1x keeps detectron2's default box pooler (Base-RCNN-FPN.yaml)
            "MODEL.ROI_BOX_HEAD.POOLER_TYPE", d2_cfg.MODEL.ROI_BOX_HEAD.POOLER_TYPE,
            "MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO", str(d2_cfg.MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO),
            "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0",
            "TEST.DETECTIONS_PER_IMAGE", "8",
            "MODEL.DENSEPOSE_ON", "False",  # not part of keypoint R-CNN; covered by the tests above
        ],
    )  # fmt: skip
    ours = build_model(cfg).eval()
    result = ours.load_state_dict(d2_model.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert result.missing_keys == []
    assert any(k.startswith("roi_heads.keypoint_head.conv_fcn8") for k in ours.state_dict())

    g = torch.Generator().manual_seed(0)
    inputs = [{"image": torch.rand(3, 128, 160, generator=g) * 255, "height": 256, "width": 320}]
    with torch.no_grad():
        ref = d2_model(inputs)[0]["instances"]
        got = ours(inputs)[0]["instances"]
    assert len(ref) > 0 and len(got) == len(ref)
    torch.testing.assert_close(got.pred_boxes.tensor, ref.pred_boxes.tensor)
    torch.testing.assert_close(got.scores, ref.scores)
    torch.testing.assert_close(got.pred_keypoints, ref.pred_keypoints)
