"""The project's configuration: detectron2's ``get_cfg()`` plus our own keys.

Every key the project adds is declared exactly once, through :func:`_declare`, with
its default and a one-line help text. The help texts form :data:`CONFIG_HELP`
(machine-readable: key -> text), shown as tooltips by the config editor and printed
by ``python main.py config help KEY``. detectron2's own keys get their help from the
comments above them in ``detectron2/config/defaults.py``, or a written one where it has none
(:mod:`app.backend.config_help`; see :func:`config_help`).

Usage::

    cfg = get_cfg()
    cfg.merge_from_file("resources/configs/demo_cpu.yaml")
    cfg.merge_from_list(["SOLVER.MAX_ITER", "100"])
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from detectron2.config import CfgNode
from detectron2.config import get_cfg as _d2_get_cfg

from app.backend import remote
from app.backend.config_checks import check_config, type_name
from app.backend.config_file import CONFIGS_DIR as CONFIGS_DIR  # re-exported
from app.backend.config_file import is_builtin, read_config_chain
from app.backend.config_help import detectron2_key_help
from app.backend.data.demo_defaults import DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL
from app.backend.errors import ConfigError as ConfigError  # re-exported

#: One-line help for every key the project adds (full dotted key -> text).
CONFIG_HELP: dict[str, str] = {}


def _declare(cfg: CfgNode, key: str, default: Any, help_text: str) -> None:
    """Add ``key`` (dotted) with ``default`` to ``cfg``, creating nodes on the way."""
    *parents, leaf = key.split(".")
    node = cfg
    for name in parents:
        if name not in node:
            node[name] = CfgNode()
        node = node[name]
    node[leaf] = default
    CONFIG_HELP[key] = help_text


def add_input_config(cfg: CfgNode) -> None:
    """Input modality and the CSI tensor layout."""
    d = functools.partial(_declare, cfg)
    d("INPUT.MODALITY", "csi", "Model input: 'csi' (WiFi CSI through the MTN) or 'image' (RGB frame, plain DensePose R-CNN).")
    d("INPUT.CSI.PACKETS_PER_SAMPLE", 5, "Consecutive CSI packets stacked into one model input (paper: 5 at 100 Hz for 20 FPS video).")
    d("INPUT.CSI.NUM_SUBCARRIERS", 30, "Subcarriers per packet after reading (Intel 5300: 30; MM-Fi: 114).")
    d("INPUT.CSI.NUM_RX", 3, "Receive antennas in the model input.")
    d("INPUT.CSI.NUM_TX", 3, "Transmit antennas in the model input (missing TX streams are zero-filled and counted).")
    d("INPUT.CSI.SANITIZE_PHASE", True, "Sanitize phase as in the paper (unwrap, median+uniform filter, remove linear fit).")
    d("INPUT.CSI.MEDIAN_KERNEL", [3, 3], "Median filter size over (time, subcarrier) in phase sanitization.")
    d("INPUT.CSI.UNIFORM_KERNEL", [3, 3], "Uniform (moving-average) filter size over (time, subcarrier) in phase sanitization.")
    d("INPUT.CSI.NONFINITE_POLICY", "repair", "Non-finite CSI values: 'repair' (interpolate and count) or 'reject' (skip the sample with a message).")
    d(
        "INPUT.CSI.NORMALIZATION",
        "global",
        "'global': one mean/std for amplitude and one for phase (AMP_MEAN..PHASE_STD); 'feature': a mean/std per "
        "input value (channel, packet x subcarrier, RX, TX) over the training set, kept in the model's weights.",
    )
    d("INPUT.CSI.AMP_MEAN", 0.0, "Amplitude mean for normalisation; computed over the training set when AMP_STD <= 0.")
    d("INPUT.CSI.AMP_STD", 0.0, "Amplitude std for normalisation; <= 0 means compute it over the training set at the start of training.")
    d("INPUT.CSI.PHASE_MEAN", 0.0, "Sanitized-phase mean for normalisation (computed with AMP_STD when that is <= 0).")
    d("INPUT.CSI.PHASE_STD", 0.0, "Sanitized-phase std for normalisation (computed with AMP_STD when that is <= 0).")
    d("INPUT.DENSEPOSE_FLIP", "refuse", "Horizontal flip with DensePose on: 'refuse' (error if RANDOM_FLIP is on) or 'mirror_charts' (demo charts are mirror-symmetric, exact).")


def add_mtn_config(cfg: CfgNode) -> None:
    """Modality Translation Network: CSI (amplitude, phase) -> 3xHxW image-like tensor."""
    d = functools.partial(_declare, cfg)
    d("MODEL.MTN.NAME", "MLPConvMTN", "Registered modality translation network (MTN_REGISTRY).")
    d("MODEL.MTN.ENCODER_DIMS", [1024, 512], "Hidden widths of each of the amplitude and phase MLP encoders.")
    d("MODEL.MTN.FUSION_DIMS", [1024], "Hidden widths of the fusion MLP (its output is LATENT_SIZE**2 values).")
    d("MODEL.MTN.LATENT_SIZE", 24, "Side of the square latent map the fused vector is reshaped to (paper: 24 -> 576 values).")
    d("MODEL.MTN.CONV_CHANNELS", [64, 128], "Channels of the conv blocks that reduce the latent map (paper: two blocks, 24 -> 6).")
    d("MODEL.MTN.DECONV_CHANNELS", [128, 64, 32, 16], "Channels of the deconvolution stages that upsample to the output size.")
    d("MODEL.MTN.NORM", "BN", "Normalisation in the MTN: '', 'BN', 'GN' or 'LN' (MLPs use LayerNorm when set).")
    d("MODEL.MTN.DROPOUT", 0.0, "Dropout probability in the MLP encoders and fusion MLP.")
    d(
        "MODEL.MTN.DETECTOR_GRAD_SCALE",
        1.0,
        "Factor on the gradient the detector's losses send into the MTN: 1 = end to end (paper); 0 = the MTN "
        "learns only from LOSS_WEIGHTS.MTN_PARTS (the transfer loss then no longer reaches it), the detector on its output.",
    )
    d("MODEL.MTN.PARTS_BODY_WEIGHT", 1.0, "Weight of body pixels relative to background ones in the MTN part-image loss (LOSS_WEIGHTS.MTN_PARTS).")
    d("MODEL.MTN.OUTPUT_SIZE", [720, 1280], "MTN output (height, width) in pixels: the image-like tensor the detector sees (paper: 720x1280).")


def add_densepose_config(cfg: CfgNode) -> None:
    """DensePose head, predictor and chart losses (names follow detectron2's DensePose project)."""
    d = functools.partial(_declare, cfg)
    d("MODEL.DENSEPOSE_ON", True, "Run the DensePose branch.")
    d("MODEL.ROI_DENSEPOSE_HEAD.NAME", "DensePoseV1ConvXHead", "Registered DensePose head.")
    d("MODEL.ROI_DENSEPOSE_HEAD.NUM_STACKED_CONVS", 8, "3x3 conv layers in the DensePose head.")
    d("MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM", 512, "Channels of each DensePose head conv.")
    d("MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_KERNEL", 3, "Kernel size of the DensePose head convs.")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECONV_KERNEL", 4, "Kernel of the predictor's stride-2 transposed conv.")
    d("MODEL.ROI_DENSEPOSE_HEAD.UP_SCALE", 2, "Bilinear upsampling after the transposed conv.")
    d("MODEL.ROI_DENSEPOSE_HEAD.HEATMAP_SIZE", 112, "Side of the predicted S/I/U/V maps (legacy: 56).")
    d("MODEL.ROI_DENSEPOSE_HEAD.NUM_PATCHES", 24, "Fine body parts (charts); the predictor outputs NUM_PATCHES + 1 channels for I, U, V.")
    d("MODEL.ROI_DENSEPOSE_HEAD.NUM_COARSE_SEGM_CHANNELS", 2, "Coarse segmentation channels: 2 = person/background, 15 = 14 parts + background (legacy).")
    d("MODEL.ROI_DENSEPOSE_HEAD.POOLER_TYPE", "ROIAlignV2", "ROI pooler of the DensePose branch.")
    d("MODEL.ROI_DENSEPOSE_HEAD.POOLER_RESOLUTION", 28, "ROI pooler output side for the DensePose branch (legacy: 14).")
    d("MODEL.ROI_DENSEPOSE_HEAD.POOLER_SAMPLING_RATIO", 2, "Sampling ratio of the DensePose ROI pooler.")
    d("MODEL.ROI_DENSEPOSE_HEAD.FG_IOU_THRESHOLD", 0.7, "Proposals need at least this IoU with an annotated person to train DensePose.")
    d("MODEL.ROI_DENSEPOSE_HEAD.INDEX_WEIGHTS", 5.0, "Weight of the coarse segmentation (S) cross-entropy against dp_masks.")
    d("MODEL.ROI_DENSEPOSE_HEAD.PART_WEIGHTS", 1.0, "Weight of the fine part (I) cross-entropy at annotated points.")
    d("MODEL.ROI_DENSEPOSE_HEAD.POINT_REGRESSION_WEIGHTS", 0.01, "Weight of the U/V smooth-L1 loss at annotated points.")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECODER_ON", True, "Merge P2..P5 with a Panoptic-FPN decoder before the DensePose pooler (DensePose s1x models: on; legacy: off).")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECODER_NUM_CLASSES", 256, "Output channels of the DensePose decoder (the DensePose head's input channels).")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECODER_CONV_DIMS", 256, "Channels of the DensePose decoder's conv blocks.")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECODER_NORM", "", "Normalisation in the DensePose decoder ('' as in DensePose, 'GN', 'BN').")
    d("MODEL.ROI_DENSEPOSE_HEAD.DECODER_COMMON_STRIDE", 4, "Stride of the DensePose decoder output (P2's stride).")
    d("MODEL.ROI_DENSEPOSE_HEAD.MIN_SCORE", 0.0, "Inference: DensePose results are produced for detections at or above this score.")
    d(
        "MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD",
        0.5,
        "Inference: a pixel is the person's when 1 - P(background) of the coarse segmentation exceeds this "
        "(0.5 = DensePose's argmax). An uncertain mask has its best IoU below 0.5: choose it on the training "
        "split with benchmarks/person_threshold.py.",
    )
    d("TEST.DENSEPOSE.GEODESIC_DIR", "", "Folder with the SMPL geodesic distance files; GPS/GPSm AP are computed only when set.")


def add_refinement_config(cfg: CfgNode) -> None:
    """The paper's keypoint/DensePose refinement unit."""
    d = functools.partial(_declare, cfg)
    d("MODEL.ROI_KP_DP_REFINE.ENABLED", True, "Combine keypoint and DensePose features and refine each branch (paper: refinement unit).")
    d("MODEL.ROI_KP_DP_REFINE.CONV_DIM", 256, "Channels of the refinement conv blocks.")
    d("MODEL.ROI_KP_DP_REFINE.NUM_CONVS", 2, "Conv blocks per refinement unit before its FCN (paper: 2).")


def add_transfer_config(cfg: CfgNode) -> None:
    """Teacher-student transfer over FPN levels from an image DensePose R-CNN."""
    d = functools.partial(_declare, cfg)
    d("MODEL.TRANSFER.ENABLED", False, "Add the transfer loss from a frozen image-modality teacher (needs paired RGB frames).")
    d("MODEL.TRANSFER.TEACHER_CONFIG", "", "Config file of the image teacher (e.g. resources/configs/image_densepose_R50_FPN_s1x.yaml).")
    d("MODEL.TRANSFER.TEACHER_WEIGHTS", "", "Checkpoint of the image teacher (.pth or detectron2 model-zoo .pkl).")
    d("MODEL.TRANSFER.IN_FEATURES", ["p2", "p3", "p4", "p5"], "FPN levels matched between student and teacher (paper: P2..P5).")


def add_loss_weight_config(cfg: CfgNode) -> None:
    """Loss weights applied inside the model (detectron2 sums the loss dict unweighted)."""
    d = functools.partial(_declare, cfg)
    d("MODEL.LOSS_WEIGHTS.DENSEPOSE", 0.6, "Weight of the DensePose losses (paper: 0.6).")
    d("MODEL.LOSS_WEIGHTS.KEYPOINT", 0.3, "Weight of the keypoint loss (paper: 0.3).")
    d("MODEL.LOSS_WEIGHTS.TRANSFER", 0.1, "Weight of the transfer loss (paper: 0.1).")
    d(
        "MODEL.LOSS_WEIGHTS.MTN_PARTS",
        0.0,
        "Weight of the MTN part-image loss (CSI only; 0 = off, as in the paper): the MTN output is pulled "
        "towards the people's dp_masks painted in fixed colours (app/backend/modeling/mtn_target.py).",
    )


def add_dataset_config(cfg: CfgNode) -> None:
    """Datasets by file and the built-in synthetic demo."""
    d = functools.partial(_declare, cfg)
    d("DATASETS.JSON_FILES", [], "Extra datasets as 'NAME=path/to/annotations.json' entries, registered under NAME.")
    d("DATASETS.DEMO.ROOT", "", "Folder of the synthetic demo dataset; empty = the user data directory.")
    d("DATASETS.DEMO.NUM_TRAIN", DEFAULT_NUM_TRAIN, "Frames in the demo's train split.")
    d("DATASETS.DEMO.NUM_VAL", DEFAULT_NUM_VAL, "Frames in the demo's val split.")
    d("DATASETS.DEMO.SEED", 0, "Random seed of the demo dataset (deterministic per seed).")


def add_weights_config(cfg: CfgNode) -> None:
    """How much of a model a weights file must fill."""
    d = functools.partial(_declare, cfg)
    d(
        "MODEL.MIN_LOADED_FRACTION",
        0.5,
        "Loading MODEL.WEIGHTS (or a checkpoint) fails when the weights it holds cover less than this share of the "
        "model's parameter values (0 = accept any file; 1 = every parameter). Foreign weights run as random ones.",
    )


def add_ui_config(cfg: CfgNode) -> None:
    """Periods of the live views in the app."""
    d = functools.partial(_declare, cfg)
    d("UI.METRICS_PERIOD", 5, "Iterations between live metric updates sent to the training view.")
    d("UI.PREVIEW_PERIOD", 100, "Iterations between live prediction previews (0 = off).")
    d("UI.PREVIEW_SAMPLES", 2, "Validation samples shown in the live preview.")


def add_solver_config(cfg: CfgNode) -> None:
    """Optimizer choice (detectron2 0.6's yacs config only knows SGD)."""
    d = functools.partial(_declare, cfg)
    d(
        "SOLVER.OPTIMIZER",
        "SGD",
        "'SGD' (detectron2's default, with SOLVER.MOMENTUM/NESTEROV) or 'AdamW' (betas SOLVER.BETAS); both use "
        "BASE_LR, WEIGHT_DECAY(_NORM/_BIAS), BIAS_LR_FACTOR, the LR schedule and gradient clipping.",
    )
    d("SOLVER.BETAS", [0.9, 0.999], "Adam betas (SOLVER.OPTIMIZER 'AdamW').")
    d(
        "SOLVER.MTN_PRETRAIN.ITERS",
        0,
        "CSI only: steps that train the MTN alone on the part image (LOSS_WEIGHTS.MTN_PARTS's target) before "
        "iteration 0 of a fresh run (0 = off; resumed runs skip it). Cheap steps: the detector does not run.",
    )
    d("SOLVER.MTN_PRETRAIN.IMS_PER_BATCH", 16, "Samples per MTN pretraining step (per process).")
    d("SOLVER.MTN_PRETRAIN.BASE_LR", 0.001, "Constant learning rate of MTN pretraining's AdamW (SOLVER.BETAS, WEIGHT_DECAY).")
    d(
        "SOLVER.MTN_PRETRAIN.MAX_SAMPLES",
        2000,
        "Training samples held in memory for MTN pretraining (spread evenly over DATASETS.TRAIN; also capped at 1 GiB).",
    )
    # detectron2's key, with the meaning this project gives it on CPUs
    CONFIG_HELP["SOLVER.AMP.ENABLED"] = (
        "Mixed precision training: float16 with a gradient scaler on a CUDA GPU (detectron2's AMPTrainer); "
        "bfloat16 autocast on a CPU with native bfloat16 (AVX512-BF16 or AMX), float32 with a warning on other CPUs "
        "(SOLVER.AMP.CPU_BF16 forces either)."
    )
    d(
        "SOLVER.AMP.CPU_BF16",
        "auto",
        "With SOLVER.AMP.ENABLED on a CPU: 'auto' = bfloat16 autocast where the CPU runs bfloat16 natively, else "
        "float32; 'off' = always float32; 'on' = always bfloat16 (slower than float32 where it is emulated). "
        "The environment variable WDS_CPU_BF16=0|1|auto overrides it.",
    )


ADD_CONFIG_FUNCTIONS = (
    add_solver_config,
    add_input_config,
    add_mtn_config,
    add_densepose_config,
    add_refinement_config,
    add_transfer_config,
    add_loss_weight_config,
    add_dataset_config,
    add_weights_config,
    add_ui_config,
)


def get_cfg() -> CfgNode:
    """detectron2's default config with every key this project adds."""
    cfg = _d2_get_cfg()
    for add in ADD_CONFIG_FUNCTIONS:
        add(cfg)
    return cfg


def flatten(cfg: CfgNode, prefix: str = "") -> dict[str, Any]:
    """Leaves of ``cfg`` as ``{dotted key: value}`` in declaration order."""
    out: dict[str, Any] = {}
    for k, v in cfg.items():
        key = f"{prefix}{k}"
        if isinstance(v, CfgNode):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def diff_from_default(cfg: CfgNode, base: CfgNode | None = None) -> dict[str, Any]:
    """Keys whose value differs from ``base`` (default: :func:`get_cfg`)."""
    ref = flatten(base if base is not None else get_cfg())
    return {k: v for k, v in flatten(cfg).items() if k not in ref or _norm(ref[k]) != _norm(v)}


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    return v


@functools.lru_cache(maxsize=1)
def config_help(key: str) -> str:
    """One-line help for any key: ours (:data:`CONFIG_HELP`) or detectron2's (its defaults.py comment,
    else a written one: :mod:`app.backend.config_help`). Raises ConfigError for unknown keys."""
    if key in CONFIG_HELP:
        return CONFIG_HELP[key]
    if key not in flatten(get_cfg()):
        raise ConfigError(f"unknown config key {key!r}")
    return detectron2_key_help(key)


def config_helps(keys: list[str]) -> dict[str, str]:
    """:func:`config_help` of each of ``keys`` (known keys; an unknown one gets "")."""
    return {key: CONFIG_HELP.get(key) or detectron2_key_help(key) for key in keys}


def merge_overrides(cfg: CfgNode, opts: list[str]) -> None:
    """Apply ``KEY VALUE`` pairs; raise ConfigError naming the key and the expected type or range."""
    if len(opts) % 2:
        raise ConfigError(f"overrides must be KEY VALUE pairs; {opts[-1]!r} has no value")
    known = flatten(cfg)
    for key, raw in zip(opts[0::2], opts[1::2]):
        if key not in known:
            raise ConfigError(f"unknown config key {key!r:.120}")
        try:
            cfg.merge_from_list([key, raw])
        except Exception as exc:  # yacs raises ValueError/AssertionError/KeyError
            expected = type_name(known[key])
            detail = " ".join(str(exc).split())[:200]
            raise ConfigError(f"config key {key}: expected {expected}, got {raw!r:.80} ({detail})") from None
    check_config(flatten(cfg), flatten(get_cfg()))


def load_config(path: str | Path | None = None, opts: list[str] | None = None) -> CfgNode:
    """``get_cfg()`` merged with a YAML file (``_BASE_`` chains are followed) and overrides.

    The file is read by :func:`~app.backend.config_file.read_config_chain` (size cap, safe
    YAML, https-only remote bases); every value is then checked by
    :func:`~app.backend.config_checks.check_config` (types and :data:`RANGE_RULES`).

    Raises:
        ConfigError: missing, unreadable or hostile file, unknown key, wrong type, value out of range.
    """
    cfg = get_cfg()
    if path:
        p = str(path)
        if not remote.is_url(p) and not is_builtin(p) and not Path(p).is_file():
            raise ConfigError(f"config file not found: {p}")
        loaded = read_config_chain(p)
        try:
            _merge_loaded(cfg, CfgNode(loaded), p)
        except ConfigError:
            raise
        except KeyError as exc:
            msg = str(exc).strip("'\"")
            m = re.search(r"Non-existent config key: (\S+)", msg)
            raise ConfigError(f"{p}: unknown config key {m.group(1) if m else msg!r:.120}") from None
        except (ValueError, AssertionError, TypeError) as exc:  # yacs: type mismatch, invalid value types
            raise ConfigError(f"{p}: {' '.join(str(exc).split())[:300]}") from None
        check_config(flatten(cfg), flatten(get_cfg()))
    if opts:
        merge_overrides(cfg, list(opts))
    return cfg


def _merge_loaded(cfg: CfgNode, loaded: CfgNode, path: str) -> None:
    """Merge a loaded config into ``cfg``, upgrading an older detectron2 config VERSION as detectron2 does."""
    from detectron2.config.compat import downgrade_config, guess_version, upgrade_config

    version = loaded.get("VERSION", None)
    if version is None:
        version = guess_version(loaded, path)
    if not isinstance(version, int) or version > cfg.VERSION:
        raise ConfigError(f"{path}: config VERSION {version!r:.40} is newer than this detectron2's {cfg.VERSION}")
    if version == cfg.VERSION:
        cfg.merge_from_other_cfg(loaded)
        return
    old = downgrade_config(cfg, to_version=version)
    old.merge_from_other_cfg(loaded)
    upgraded = upgrade_config(old)
    cfg.clear()
    cfg.update(upgraded)


def builtin_config(name: str) -> Path:
    """Path of a YAML in resources/configs (``name`` with or without .yaml)."""
    p = CONFIGS_DIR / (name if name.endswith(".yaml") else name + ".yaml")
    if not p.is_file():
        raise ConfigError(f"no built-in config {name!r} in {CONFIGS_DIR}")
    return p
