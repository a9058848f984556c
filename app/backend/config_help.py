"""One-line help for every detectron2 config key.

detectron2 documents most keys with the comment above them in ``detectron2/config/defaults.py``;
:func:`detectron2_comments` reads those comments from the installed package at run time (so
they follow the installed version). Keys with no comment of their own (about sixty: their
comment, if any, describes the whole node or an earlier key) get a help written here,
:data:`WRITTEN_HELP`. A few comments are only a list of options or a fragment; those get a
written lead, :data:`LEAD_HELP`, before detectron2's own words.

The project's own keys have their help in :data:`app.backend.config.CONFIG_HELP`; the one
function that answers for any key is :func:`app.backend.config.config_help`.
"""

from __future__ import annotations

import functools
import inspect
import re

#: Help for detectron2 keys that have no comment of their own in defaults.py (written here).
WRITTEN_HELP: dict[str, str] = {
    "MODEL.LOAD_PROPOSALS": "Read precomputed proposals from the dataset instead of running an RPN.",
    "MODEL.MASK_ON": "Train and predict instance masks (a mask head on the ROI heads).",
    "MODEL.KEYPOINT_ON": "Train and predict person keypoints (a keypoint head on the ROI heads).",
    "MODEL.DEVICE": "Device the model runs on: 'cuda', 'cuda:N' or 'cpu'.",
    "MODEL.META_ARCHITECTURE": "Registered meta-architecture that builds the whole model (META_ARCH_REGISTRY).",
    "MODEL.BACKBONE.NAME": "Registered function that builds the backbone (BACKBONE_REGISTRY), e.g. build_resnet_fpn_backbone.",
    "MODEL.FPN.OUT_CHANNELS": "Channels of every FPN output level.",
    "MODEL.RPN.HEAD_NAME": "Registered RPN head that predicts objectness and box deltas (RPN_HEAD_REGISTRY).",
    "MODEL.RPN.IOU_LABELS": "Labels given to anchors below, between and above the RPN IOU_THRESHOLDS "
                            "(0 background, -1 ignored, 1 foreground).",
    "MODEL.RPN.BBOX_REG_LOSS_WEIGHT": "Weight of the RPN's box regression loss against its objectness loss.",
    "MODEL.RPN.LOSS_WEIGHT": "Weight of both RPN losses in the total loss.",
    "MODEL.RPN.PRE_NMS_TOPK_TEST": "Top-scoring RPN proposals kept before NMS at test time (per FPN level).",
    "MODEL.RPN.POST_NMS_TOPK_TEST": "RPN proposals kept after NMS at test time (per image).",
    "MODEL.ROI_HEADS.NAME": "Registered ROI heads that classify proposals and run the box, mask, keypoint and "
                            "DensePose heads (ROI_HEADS_REGISTRY).",
    "MODEL.ROI_HEADS.IOU_LABELS": "Labels given to proposals below and above the ROI IOU_THRESHOLDS "
                                  "(0 background, 1 foreground).",
    "MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION": "Side of the feature grid ROIAlign pools for the box head.",
    "MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO": "ROIAlign samples per output cell for the box head (0: adaptive).",
    "MODEL.ROI_BOX_HEAD.NUM_FC": "Fully connected layers of the box head.",
    "MODEL.ROI_BOX_HEAD.NUM_CONV": "Convolutions of the box head before its fully connected layers.",
    "MODEL.ROI_BOX_CASCADE_HEAD.IOUS": "Foreground IoU threshold of each stage of a cascade box head.",
    "MODEL.ROI_MASK_HEAD.NAME": "Registered mask head (ROI_MASK_HEAD_REGISTRY).",
    "MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION": "Side of the feature grid ROIAlign pools for the mask head.",
    "MODEL.ROI_MASK_HEAD.POOLER_SAMPLING_RATIO": "ROIAlign samples per output cell for the mask head (0: adaptive).",
    "MODEL.ROI_MASK_HEAD.NUM_CONV": "Convolutions of the mask head.",
    "MODEL.ROI_MASK_HEAD.CONV_DIM": "Channels of the mask head's convolutions.",
    "MODEL.ROI_KEYPOINT_HEAD.NAME": "Registered keypoint head (ROI_KEYPOINT_HEAD_REGISTRY).",
    "MODEL.ROI_KEYPOINT_HEAD.POOLER_RESOLUTION": "Side of the feature grid ROIAlign pools for the keypoint head.",
    "MODEL.ROI_KEYPOINT_HEAD.POOLER_SAMPLING_RATIO": "ROIAlign samples per output cell for the keypoint head "
                                                     "(0: adaptive).",
    "MODEL.ROI_KEYPOINT_HEAD.CONV_DIMS": "Channels of each convolution of the keypoint head (one entry per layer).",
    "MODEL.ROI_KEYPOINT_HEAD.NUM_KEYPOINTS": "Keypoints per person (17 for COCO).",
    "MODEL.SEM_SEG_HEAD.NAME": "Registered semantic segmentation head (SEM_SEG_HEADS_REGISTRY).",
    "MODEL.SEM_SEG_HEAD.IN_FEATURES": "Backbone features the semantic segmentation head reads.",
    "MODEL.SEM_SEG_HEAD.LOSS_WEIGHT": "Weight of the semantic segmentation loss.",
    "MODEL.PANOPTIC_FPN.COMBINE.ENABLED": "Merge instance and semantic predictions into one panoptic output.",
    "MODEL.PANOPTIC_FPN.COMBINE.OVERLAP_THRESH": "An instance is dropped when more than this fraction of it is "
                                                 "already covered by earlier instances.",
    "MODEL.PANOPTIC_FPN.COMBINE.STUFF_AREA_LIMIT": "Stuff regions smaller than this many pixels are dropped.",
    "MODEL.PANOPTIC_FPN.COMBINE.INSTANCES_CONFIDENCE_THRESH": "Instances below this score are left out of the "
                                                              "panoptic output.",
    "MODEL.RETINANET.IN_FEATURES": "Backbone features RetinaNet predicts on.",
    "MODEL.RETINANET.IOU_LABELS": "Labels given to anchors below, between and above RetinaNet's IOU_THRESHOLDS "
                                  "(0 background, -1 ignored, 1 foreground).",
    "MODEL.RETINANET.NMS_THRESH_TEST": "IoU threshold of RetinaNet's NMS at test time.",
    "MODEL.RETINANET.FOCAL_LOSS_ALPHA": "Focal loss alpha: weight of the foreground class against the background.",
    "MODEL.RETINANET.SMOOTH_L1_LOSS_BETA": "Smooth L1 beta of RetinaNet's box regression loss (0: plain L1).",
    "MODEL.RESNETS.DEPTH": "ResNet depth: 18, 34, 50, 101 or 152.",
    "MODEL.RESNETS.OUT_FEATURES": "ResNet stages the backbone outputs (res2..res5).",
    "MODEL.RESNETS.STEM_OUT_CHANNELS": "Channels out of the ResNet stem (64 for R18/R34, else 64 or 128).",
    "INPUT.CROP.ENABLED": "Crop training images at random (see INPUT.CROP.TYPE and SIZE).",
    "SOLVER.MAX_ITER": "Training iterations (each one batch of IMS_PER_BATCH images).",
    "SOLVER.BASE_LR": "Learning rate after warm-up, before the STEPS decays.",
    "SOLVER.MOMENTUM": "SGD momentum.",
    "SOLVER.NESTEROV": "Use Nesterov momentum with SGD.",
    "SOLVER.WEIGHT_DECAY": "L2 weight decay of every parameter (see WEIGHT_DECAY_NORM and WEIGHT_DECAY_BIAS).",
    "SOLVER.GAMMA": "Factor the learning rate is multiplied by at each of STEPS.",
    "SOLVER.WARMUP_FACTOR": "Learning rate at iteration 0, as a fraction of BASE_LR; it rises to BASE_LR over "
                            "WARMUP_ITERS.",
    "SOLVER.WARMUP_ITERS": "Iterations of learning-rate warm-up.",
    "SOLVER.WARMUP_METHOD": "Warm-up shape: 'linear' or 'constant'.",
    "SOLVER.WEIGHT_DECAY_BIAS": "Weight decay of bias parameters (None: the same as WEIGHT_DECAY).",
    "SOLVER.CLIP_GRADIENTS.ENABLED": "Clip gradients before each optimizer step (see CLIP_TYPE and CLIP_VALUE).",
    "TEST.AUG.ENABLED": "Test-time augmentation: average predictions over several sizes and flips.",
    "TEST.AUG.MIN_SIZES": "Shorter-side sizes tried with test-time augmentation.",
    "TEST.AUG.MAX_SIZE": "Longest side allowed with test-time augmentation.",
    "TEST.AUG.FLIP": "Also try horizontally flipped images with test-time augmentation.",
    "TEST.PRECISE_BN.ENABLED": "Recompute BatchNorm statistics over training batches before each evaluation.",
    "TEST.PRECISE_BN.NUM_ITER": "Training batches used to recompute the BatchNorm statistics.",
    "GLOBAL.HACK": "Free value for quick experiments; nothing in detectron2 or this project reads it.",
}

#: A written first sentence for keys whose detectron2 comment is only a list of options or a fragment.
LEAD_HELP: dict[str, str] = {
    "MODEL.FPN.NORM": "Normalization of the FPN's convolutions.",
    "MODEL.RPN.BBOX_REG_LOSS_TYPE": "Box regression loss of the RPN.",
    "MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_TYPE": "Box regression loss of the box head.",
    "MODEL.RETINANET.BBOX_REG_LOSS_TYPE": "Box regression loss of RetinaNet.",
    "MODEL.RETINANET.FOCAL_LOSS_GAMMA": "Focal loss gamma: how strongly easy examples are down-weighted.",
    "MODEL.RESNETS.NORM": "Normalization of the ResNet's layers.",
    "DATALOADER.SAMPLER_TRAIN": "How training images are sampled.",
    "SOLVER.LR_SCHEDULER_NAME": "Learning-rate schedule after warm-up.",
}

#: Comments that describe no key (the one above FOCAL_LOSS_GAMMA heads the loss keys).
_NOT_A_HELP = {"Loss parameters"}
_ASSIGN = re.compile(r"^_C\.([A-Z0-9_.]+)\s*=")


@functools.lru_cache(maxsize=1)
def detectron2_comments() -> dict[str, str]:
    """``{key: comment}``: the comment block right above each key in the installed detectron2's defaults.py."""
    import detectron2.config.defaults as d2_defaults

    try:
        lines = inspect.getsource(d2_defaults).splitlines()
    except (OSError, TypeError):
        return {}
    helps: dict[str, str] = {}
    pending: list[str] = []
    for line in lines:
        s = line.strip()
        if s.startswith("#"):
            text = s.lstrip("#").strip()
            if "----" in text:
                pending = []  # section banner
            elif text:
                pending.append(text)
            continue
        m = _ASSIGN.match(s)
        if m:
            comment = " ".join(pending)
            if comment and comment not in _NOT_A_HELP:
                helps[m.group(1)] = comment
            pending = []
        elif not s:
            pending = []
    return helps


def detectron2_key_help(key: str) -> str:
    """Help of one detectron2 key ("" when neither detectron2 nor this table documents it)."""
    comment = detectron2_comments().get(key, "")
    lead = LEAD_HELP.get(key, "")
    if comment:
        return f"{lead} {comment}" if lead else comment
    return WRITTEN_HELP.get(key, lead)
