"""Config files as the editor sees them (Qt-free): the ``_BASE_`` chain, diffs and known choices.

A project config is saved as ``_BASE_`` plus only the keys whose value differs from the base
chain, so upgrading the base config reaches every project that did not override the key. A
base shipped with the app is written ``builtin://NAME.yaml`` (it follows the app that opens the
project, wherever that lies); any other base as a path relative to the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from detectron2.config import CfgNode

from app.backend.atomic_write import atomic_write
from app.backend.config import ConfigError, flatten, get_cfg, load_config
from app.backend.config_file import BUILTIN_SCHEME, builtin_name, builtin_path, is_builtin, resolve_base


def _read_mapping(p: Path) -> dict[str, Any]:
    """The YAML at ``p`` as it stands (no ``_BASE_`` followed); {} when it is not a mapping."""
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{p}: cannot read config ({exc})") from None
    return raw if isinstance(raw, dict) else {}


def read_base_path(path: str | Path) -> Path | None:
    """The file named by ``_BASE_`` in the YAML at ``path`` (resolved against its folder), or None."""
    p = Path(path)
    base = _read_mapping(p).get("_BASE_")
    if not base:
        return None
    return Path(resolve_base(p, str(base))).resolve()


def follow_builtin_base(path: str | Path, name: str) -> str | None:
    """Point ``_BASE_`` of the config at ``path`` at ``builtin://name`` when it names a file ``name``
    by its path (as apps before ``builtin://`` wrote it): a copy in an older or moved checkout of
    the app, this app's own, or a missing one.

    The demo project's config is made by the app; left naming another checkout's copy, it would
    train that checkout's recipe. Other keys are kept. Returns the old ``_BASE_``, or None when
    nothing changed.
    """
    p = Path(path)
    raw = _read_mapping(p)
    base = raw.get("_BASE_")
    if not isinstance(base, str) or is_builtin(base) or Path(base).name != name:
        return None
    builtin_path(BUILTIN_SCHEME + name)  # ConfigError when this app has no such config
    doc = {"_BASE_": BUILTIN_SCHEME + name, **{k: v for k, v in raw.items() if k != "_BASE_"}}
    atomic_write(p, yaml.safe_dump(doc, sort_keys=False, default_flow_style=None), check=load_config)
    return base


def load_with_base(path: str | Path) -> tuple[CfgNode, CfgNode, Path | None]:
    """``(config, its base chain's config, base path)``; without ``_BASE_`` the base is ``get_cfg()``."""
    cfg = load_config(path)
    base_path = read_base_path(path)
    base = load_config(base_path) if base_path is not None else get_cfg()
    return cfg, base, base_path


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"A.B": 1}`` -> ``{"A": {"B": 1}}``; tuples become lists (plain YAML)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split(".")
        node = out
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = _plain(value)
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def diff_values(values: dict[str, Any], base: CfgNode) -> dict[str, Any]:
    """Entries of flat ``values`` that differ from ``base``, in ``base``'s key order."""
    ref = flatten(base)
    unknown = [k for k in values if k not in ref]
    if unknown:
        raise ConfigError(f"unknown config key {unknown[0]!r}")
    return {k: values[k] for k in ref if k in values and _norm(values[k]) != _norm(ref[k])}


def write_config_diff(path: str | Path, base_path: Path | None, values: dict[str, Any]) -> dict[str, Any]:
    """Save flat ``values`` as ``_BASE_`` + diff at ``path`` atomically; returns the diff written.

    The file is checked by loading it back before it replaces ``path``, so a bad value
    never overwrites a good config. Raises ConfigError naming the key.
    """
    path = Path(path)
    base = load_config(base_path) if base_path is not None else get_cfg()
    diff = diff_values(values, base)
    doc: dict[str, Any] = {}
    if base_path is not None:
        name = builtin_name(base_path)
        try:
            rel = name or os.path.relpath(Path(base_path).resolve(), path.parent.resolve())
        except ValueError:  # another drive (Windows)
            rel = str(Path(base_path).resolve())
        doc["_BASE_"] = rel
    doc.update(nest(diff))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, yaml.safe_dump(doc, sort_keys=False, default_flow_style=None), check=load_config)
    return diff


def config_choices() -> dict[str, list[str]]:
    """Allowed strings of keys whose choices are known: registry names and fixed enumerations."""
    import importlib

    from detectron2.modeling import (
        BACKBONE_REGISTRY,
        META_ARCH_REGISTRY,
        PROPOSAL_GENERATOR_REGISTRY,
        ROI_BOX_HEAD_REGISTRY,
        ROI_HEADS_REGISTRY,
        ROI_KEYPOINT_HEAD_REGISTRY,
    )

    importlib.import_module("app.backend.modeling")  # registers our architectures, heads and MTNs

    def names(reg: Any) -> list[str]:
        return sorted(name for name, _ in reg)

    choices = {
        "MODEL.META_ARCHITECTURE": names(META_ARCH_REGISTRY),
        "MODEL.ROI_HEADS.NAME": names(ROI_HEADS_REGISTRY),
        "MODEL.BACKBONE.NAME": names(BACKBONE_REGISTRY),
        "MODEL.PROPOSAL_GENERATOR.NAME": names(PROPOSAL_GENERATOR_REGISTRY),
        "MODEL.ROI_BOX_HEAD.NAME": names(ROI_BOX_HEAD_REGISTRY),
        "MODEL.ROI_KEYPOINT_HEAD.NAME": names(ROI_KEYPOINT_HEAD_REGISTRY),
        "MODEL.DEVICE": ["cpu", "cuda"],
        "INPUT.FORMAT": ["BGR", "RGB"],
        "INPUT.MODALITY": ["csi", "image"],
        "INPUT.CSI.NONFINITE_POLICY": ["repair", "reject"],
        "INPUT.DENSEPOSE_FLIP": ["refuse", "mirror_charts"],
        "MODEL.MTN.NORM": ["", "BN", "GN", "LN"],
        "MODEL.RESNETS.NORM": ["FrozenBN", "BN", "GN", "SyncBN"],
        "MODEL.FPN.NORM": ["", "BN", "GN", "SyncBN"],
        "SOLVER.LR_SCHEDULER_NAME": ["WarmupMultiStepLR", "WarmupCosineLR"],
        "SOLVER.WARMUP_METHOD": ["linear", "constant"],
        "SOLVER.CLIP_GRADIENTS.CLIP_TYPE": ["value", "norm"],
        "INPUT.RANDOM_FLIP": ["horizontal", "vertical", "none"],
        "DATALOADER.SAMPLER_TRAIN": ["TrainingSampler", "RepeatFactorTrainingSampler"],
    }
    mtn = _mtn_names()
    if mtn:
        choices["MODEL.MTN.NAME"] = mtn
    head = _registry_names("app.backend.modeling.densepose", "ROI_DENSEPOSE_HEAD_REGISTRY")
    if head:
        choices["MODEL.ROI_DENSEPOSE_HEAD.NAME"] = head
    return {k: v for k, v in choices.items() if v}


def _mtn_names() -> list[str]:
    return _registry_names("app.backend.modeling", "MTN_REGISTRY") or _registry_names(
        "app.backend.modeling.mtn", "MTN_REGISTRY")


def _registry_names(module: str, attr: str) -> list[str]:
    import importlib

    try:
        reg = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return []
    return sorted(name for name, _ in reg)


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    return v
