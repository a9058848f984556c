"""Checks of a loaded config's values: each keeps its default's type, and numbers lie in range.

:func:`check_config` runs when a config loads (:func:`app.backend.config.load_config`,
``merge_overrides``), so a value that cannot work is refused in one line before any model,
loader or output folder exists (``SOLVER.MAX_ITER 0`` used to divide by zero in the
trainer, ``SOLVER.BASE_LR .nan`` to train on NaN).

:data:`RANGE_RULES` is the table of value ranges: ``(key, test, what it must be)``. A
rule sees the value as loaded (ints, floats, lists). Keys that are not listed take any
value of their type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from app.backend import remote
from app.backend.errors import ConfigError

Rule = tuple[str, Callable[[Any], bool], str]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def int_at_least(n: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: _is_int(v) and v >= n), f"an integer >= {n}"


def number_in(lo: float, hi: float = math.inf, *, lo_open: bool = False, hi_open: bool = False) -> tuple[Callable[[Any], bool], str]:
    def test(v: Any) -> bool:
        return _is_number(v) and (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)

    left = "(" if lo_open else "["
    right = ")" if hi_open or hi == math.inf else "]"
    return test, f"a finite number in {left}{lo:g}, {hi:g}{right}"


def ints_at_least(n: int, count: int | None = None) -> tuple[Callable[[Any], bool], str]:
    def test(v: Any) -> bool:
        return isinstance(v, (list, tuple)) and (count is None or len(v) == count) and all(
            _is_int(x) and x >= n for x in v
        )

    return test, (f"{count} integers >= {n}" if count else f"a list of integers >= {n}")


_FINITE = number_in(-math.inf)
_POSITIVE = number_in(0.0, lo_open=True)
_NON_NEGATIVE = number_in(0.0)
_FRACTION = number_in(0.0, 1.0)
# a URL of another scheme is refused when the config loads, not when training reaches the weights
_WEIGHTS = (
    lambda v: isinstance(v, str) and (not remote.is_url(v) or v.split("://", 1)[0].lower() in remote.ALLOWED_SCHEMES),
    "a path, an https:// or a detectron2:// URL",
)

RANGE_RULES: list[Rule] = [
    (key, *rule)
    for key, rule in [
        ("SOLVER.MAX_ITER", int_at_least(1)),
        ("SOLVER.IMS_PER_BATCH", int_at_least(1)),
        ("SOLVER.CHECKPOINT_PERIOD", int_at_least(1)),
        ("SOLVER.BASE_LR", _NON_NEGATIVE),
        ("SOLVER.MOMENTUM", number_in(0.0, 1.0, hi_open=True)),
        ("SOLVER.WEIGHT_DECAY", _NON_NEGATIVE),
        ("SOLVER.GAMMA", _POSITIVE),
        ("SOLVER.STEPS", ints_at_least(0)),
        ("SOLVER.WARMUP_ITERS", int_at_least(0)),
        ("SOLVER.WARMUP_FACTOR", number_in(0.0, 1.0)),
        ("SOLVER.BETAS", (lambda v: isinstance(v, (list, tuple)) and len(v) == 2
                          and all(_is_number(b) and 0 <= b < 1 for b in v), "two numbers in [0, 1)")),
        ("SOLVER.CLIP_GRADIENTS.CLIP_VALUE", _POSITIVE),
        ("SOLVER.MTN_PRETRAIN.ITERS", int_at_least(0)),
        ("SOLVER.MTN_PRETRAIN.IMS_PER_BATCH", int_at_least(1)),
        ("SOLVER.MTN_PRETRAIN.BASE_LR", _POSITIVE),
        ("SOLVER.MTN_PRETRAIN.MAX_SAMPLES", int_at_least(1)),
        ("TEST.EVAL_PERIOD", int_at_least(0)),
        ("TEST.DETECTIONS_PER_IMAGE", int_at_least(1)),
        ("DATALOADER.NUM_WORKERS", int_at_least(0)),
        ("INPUT.CSI.PACKETS_PER_SAMPLE", int_at_least(1)),
        ("INPUT.CSI.NUM_SUBCARRIERS", int_at_least(1)),
        ("INPUT.CSI.NUM_RX", int_at_least(1)),
        ("INPUT.CSI.NUM_TX", int_at_least(1)),
        ("INPUT.CSI.MEDIAN_KERNEL", ints_at_least(1, 2)),
        ("INPUT.CSI.UNIFORM_KERNEL", ints_at_least(1, 2)),
        ("INPUT.CSI.AMP_MEAN", _FINITE),
        ("INPUT.CSI.AMP_STD", _FINITE),
        ("INPUT.CSI.PHASE_MEAN", _FINITE),
        ("INPUT.CSI.PHASE_STD", _FINITE),
        ("MODEL.MTN.OUTPUT_SIZE", ints_at_least(1, 2)),
        ("MODEL.MTN.LATENT_SIZE", int_at_least(4)),
        ("MODEL.MTN.ENCODER_DIMS", ints_at_least(1)),
        ("MODEL.MTN.FUSION_DIMS", ints_at_least(1)),
        ("MODEL.MTN.CONV_CHANNELS", ints_at_least(1)),
        ("MODEL.MTN.DECONV_CHANNELS", ints_at_least(1)),
        ("MODEL.MTN.DROPOUT", number_in(0.0, 1.0, hi_open=True)),
        ("MODEL.MTN.DETECTOR_GRAD_SCALE", _NON_NEGATIVE),
        ("MODEL.MTN.PARTS_BODY_WEIGHT", _POSITIVE),
        ("MODEL.LOSS_WEIGHTS.DENSEPOSE", _NON_NEGATIVE),
        ("MODEL.LOSS_WEIGHTS.KEYPOINT", _NON_NEGATIVE),
        ("MODEL.LOSS_WEIGHTS.TRANSFER", _NON_NEGATIVE),
        ("MODEL.LOSS_WEIGHTS.MTN_PARTS", _NON_NEGATIVE),
        ("MODEL.MIN_LOADED_FRACTION", _FRACTION),
        ("MODEL.ROI_HEADS.SCORE_THRESH_TEST", _FRACTION),
        ("MODEL.ROI_HEADS.NMS_THRESH_TEST", _FRACTION),
        ("MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD", number_in(0.0, 1.0, lo_open=True, hi_open=True)),
        ("DATASETS.DEMO.NUM_TRAIN", int_at_least(1)),
        ("DATASETS.DEMO.NUM_VAL", int_at_least(0)),
        ("UI.METRICS_PERIOD", int_at_least(1)),
        ("UI.PREVIEW_PERIOD", int_at_least(0)),
        ("UI.PREVIEW_SAMPLES", int_at_least(0)),
        ("MODEL.WEIGHTS", _WEIGHTS),
    ]
]


def type_name(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", tuple: "tuple"}.get(type(v), type(v).__name__)


def check_types(values: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Every value keeps the type of its default (int may widen to float; list and tuple mix); ints fit 64 bits.

    Args:
        values, defaults: flat ``{dotted key: value}`` of the config and of ``get_cfg()``.
    """
    for key, value in values.items():
        if any(_is_int(v) and not -(2**63) <= v < 2**63 for v in (value if isinstance(value, (list, tuple)) else [value])):
            raise ConfigError(f"config key {key}: an integer that does not fit in 64 bits")
        ref = defaults.get(key)
        if key not in defaults or ref is None or value is None:
            continue
        want, got = type(ref), type(value)
        if want is got or (want is float and got is int) or {want, got} <= {list, tuple}:
            continue
        raise ConfigError(f"config key {key}: expected {type_name(ref)}, got {value!r:.80} ({type_name(value)})")


def check_ranges(values: dict[str, Any], rules: list[Rule] = RANGE_RULES) -> None:
    """Raise ConfigError for the first value :data:`RANGE_RULES` refuses (key, rule and value in one line)."""
    for key, test, what in rules:
        if key in values and values[key] is not None and not test(values[key]):
            raise ConfigError(f"config key {key} must be {what}, got {values[key]!r:.80}")


def check_config(values: dict[str, Any], defaults: dict[str, Any]) -> None:
    """:func:`check_types` then :func:`check_ranges`."""
    check_types(values, defaults)
    check_ranges(values)
