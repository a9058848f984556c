"""Checkpoints: atomic writes and code-free reads on top of detectron2's :class:`DetectionCheckpointer`.

Below the model and the engine: the trainer saves and resumes through
:class:`AtomicCheckpointer`, the predictor and the transfer teacher load through it, and
:func:`latest_checkpoint` finds what a run left behind.

Writes: every ``.pth`` file and the ``last_checkpoint`` tag go through
:func:`~app.backend.atomic_write.atomic_write` (temporary file, fsync, atomic rename). The
tag is written only after the model file is complete, so a process killed at any moment
leaves either the previous good checkpoint or the new one, never a half-written file that
``--resume`` would pick up.

Reads: ``.pth`` files go through ``torch.load(weights_only=True)`` (tensors, numbers,
strings and containers only: no code runs) after a look at their zip directory (a file
that unpacks to much more than its size is refused: no zip bomb is inflated); detectron2/
Detectron model-zoo ``.pkl`` files go through a restricted unpickler that admits numpy
arrays and plain containers only. Weights must be numeric arrays or tensors and
``iteration`` an int. ``https://`` and ``detectron2://`` weights are fetched through
:mod:`app.backend.remote` (cached by the full URL; a download enters the cache only once it
reads as a checkpoint). Any unreadable, truncated or foreign file raises
:class:`~app.backend.errors.CheckpointError` with the path and the reason.

Fit: loading weights into a model counts the parameter values they cover; below
``min_loaded_fraction`` (``MODEL.MIN_LOADED_FRACTION``) the load fails instead of leaving the
model's random weights to run. The count is logged either way.
"""

from __future__ import annotations

import collections
import importlib
import io
import logging
import os
import pickle
import zipfile
from typing import Any

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer

from app.backend import remote
from app.backend.atomic_write import atomic_write, temp_target
from app.backend.errors import CheckpointError

#: A ``.pth`` (zip) may unpack to at most this many times its size on disk (torch stores entries uncompressed).
MAX_UNPACK_RATIO = 2

logger = logging.getLogger(__name__)

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler for model-zoo ``.pkl`` weights: numpy arrays, scalars and containers only."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name in ("_reconstruct", "scalar"):
            real = "numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray"
            return getattr(importlib.import_module(real), name)
        if module.startswith("numpy") and name.endswith("DType"):
            import numpy.dtypes as dtypes

            if hasattr(dtypes, name):
                return getattr(dtypes, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed in .pkl weights)")


def load_checkpoint_file(path: str) -> dict[str, Any]:
    """Read a checkpoint without running code from it.

    Returns:
        The stored dict (``.pth``: as saved; ``.pkl``: the unpickled dict).

    Raises:
        CheckpointError: missing, truncated, corrupt or unsafe file.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.endswith(".pkl"):
        _check_unpacked_size(path)
    try:
        if path.endswith(".pkl"):
            with open(path, "rb") as f:
                data = _NumpyOnlyUnpickler(io.BufferedReader(f), encoding="latin1").load()
        else:
            data = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    except Exception as exc:  # zipfile/pickle/EOF/RuntimeError: all mean "not a usable checkpoint"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if reason.startswith("Weights only load failed"):  # torch's advice is to turn the safety off
            reason = "it holds objects other than tensors and numbers, which are never loaded (they could run code)"
        elif "load key" in reason or not reason.isprintable():  # pickle quotes the file's bytes: never echo them
            reason = f"not a checkpoint file ({type(exc).__name__})"
        elif isinstance(exc, (EOFError, IndexError)) or reason == type(exc).__name__:
            reason = f"truncated or not a checkpoint file ({type(exc).__name__})"
        reason = reason[:200]
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"cannot read checkpoint {path}: expected a dict of weights, got {type(data).__name__}")
    return data


def _check_unpacked_size(path: str) -> None:
    """Refuse a zip-format checkpoint whose entries unpack to far more than the file (before torch reads it)."""
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        return  # not a zip (legacy torch format) or broken: torch.load reports it
    size = os.path.getsize(path)
    if unpacked > MAX_UNPACK_RATIO * size + (1 << 20):
        raise CheckpointError(f"cannot read checkpoint {path}: it unpacks to {unpacked} bytes from {size} (not a torch checkpoint)")


def _check_contents(path: str, data: dict[str, Any]) -> None:
    """Weights must be numeric arrays/tensors; ``iteration`` (top level or the trainer's) an int >= -1."""
    for key, value in data["model"].items():
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in "biuf":
                raise CheckpointError(f"cannot read checkpoint {path}: weight {str(key)[:80]!r} is a {value.dtype} array, not numbers")
        elif isinstance(value, torch.Tensor):
            if value.is_complex() or not (value.is_floating_point() or value.dtype in (torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)):
                raise CheckpointError(f"cannot read checkpoint {path}: weight {str(key)[:80]!r} is a {value.dtype} tensor")
        else:
            raise CheckpointError(f"cannot read checkpoint {path}: weight {str(key)[:80]!r} is a {type(value).__name__}, not an array")
    trainer = data.get("trainer")
    for where, holder in (("iteration", data), ("trainer iteration", trainer if isinstance(trainer, dict) else {})):
        it = holder.get("iteration", -1)
        if not (isinstance(it, int) and not isinstance(it, bool) and it >= -1):
            raise CheckpointError(f"cannot read checkpoint {path}: {where} must be an int, got {str(it)[:40]!r}")


def read_checkpoint(path: str) -> dict[str, Any]:
    """A checkpoint file in the form :class:`DetectionCheckpointer` loads, read without running code.

    ``.pth``: ``{"model": state dict, ...}`` as saved (a bare state dict is wrapped).
    ``.pkl``: a detectron2 model-zoo dict as is; Detectron (Caffe2) blobs become
    ``{"model": blobs, "__author__": "Caffe2", "matching_heuristics": True}``.

    Raises:
        CheckpointError: unreadable file, or no dict of weights under ``"model"``.
    """
    data = load_checkpoint_file(path)
    if path.endswith(".pkl") and not ("model" in data and "__author__" in data):  # else a detectron2 zoo dict as is
        blobs = data.get("blobs", data)
        if not isinstance(blobs, dict):
            raise CheckpointError(f"cannot read checkpoint {path}: 'blobs' is not a dict of arrays")
        blobs = {k: v for k, v in blobs.items() if not str(k).endswith("_momentum")}
        data = {"model": blobs, "__author__": "Caffe2", "matching_heuristics": True}
    if "model" not in data:
        data = {"model": data}
    if not isinstance(data["model"], dict):
        raise CheckpointError(f"cannot read checkpoint {path}: 'model' is not a dict of tensors")
    _check_contents(path, data)
    return data


def fetch_weights(url: str) -> str:
    """The local file of a weights URL (https:// or detectron2://), fetched and checked once (see :mod:`remote`)."""
    return str(remote.fetch(url, check=lambda tmp: read_checkpoint(str(tmp))))


def tagged_checkpoint(folder: str | os.PathLike[str]) -> str:
    """The path ``folder/last_checkpoint`` names ("" when there is no tag).

    Raises:
        CheckpointError: the tag names anything but a plain file name in ``folder``
            (a path, a hidden file or nothing): an output folder is untrusted input.
    """
    tag = os.path.join(folder, "last_checkpoint")
    if os.path.lexists(tag) and not os.path.isfile(tag):
        raise CheckpointError(f"{tag} is not a file (a folder or a broken link); remove it: runs write their tag there")
    try:
        with open(tag, encoding="utf-8") as f:
            name = f.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if not name or os.sep in name or (os.altsep and os.altsep in name) or name.startswith("."):
        raise CheckpointError(f"{folder}/last_checkpoint names an invalid file {name!r}")
    return os.path.join(folder, name)


def latest_checkpoint(output_dir: str | os.PathLike[str]) -> str:
    """The checkpoint a run left in ``output_dir``: the file ``last_checkpoint`` names when it is
    valid and present, else ``model_final.pth`` when present, else ""."""
    try:
        tagged = tagged_checkpoint(output_dir)
    except CheckpointError as exc:
        logger.warning("%s; ignoring it", exc)
        tagged = ""
    if tagged and os.path.isfile(tagged):
        return tagged
    final = os.path.join(output_dir, "model_final.pth")
    return final if os.path.isfile(final) else ""


class AtomicCheckpointer(DetectionCheckpointer):
    """:class:`DetectionCheckpointer` with atomic writes and code-free reads.

    Same constructor and API as detectron2's (``save``, ``load``, ``resume_or_load``,
    ``has_checkpoint``, ``get_checkpoint_file``); see the module docstring for the
    guarantees. ``min_loaded_fraction`` (set it from ``MODEL.MIN_LOADED_FRACTION``): the
    least share of the model's parameter values a weights file must cover. :attr:`saved` lists
    what this instance wrote (a run tells its own checkpoints from older ones in the same folder).
    """

    def __init__(self, model: torch.nn.Module, save_dir: str = "", *, min_loaded_fraction: float = 0.0, **kwargs: Any) -> None:
        super().__init__(model, save_dir, **kwargs)
        self.min_loaded_fraction = float(min_loaded_fraction)
        #: (path, iteration or None) of each checkpoint this checkpointer wrote, oldest first.
        self.saved: list[tuple[str, int | None]] = []

    def save(self, name: str, **kwargs: Any) -> None:
        if not self.save_dir or not self.save_to_disk:
            return
        data: dict[str, Any] = {"model": self.model.state_dict()}
        for key, obj in self.checkpointables.items():
            data[key] = obj.state_dict()
        data.update(kwargs)
        basename = f"{name}.pth"
        save_file = os.path.join(self.save_dir, basename)
        os.makedirs(self.save_dir, exist_ok=True)
        self.logger.info("Saving checkpoint to %s", save_file)
        atomic_write(save_file, lambda f: torch.save(data, f), check=lambda tmp: self._before_replace(str(tmp)))
        self.tag_last_checkpoint(basename)
        it = kwargs.get("iteration")
        self.saved.append((save_file, None if it is None else int(it)))

    def _before_replace(self, tmp_path: str) -> None:
        """Called between the complete write of the temp file and its rename (no-op; tests inject faults here)."""

    def tag_last_checkpoint(self, last_filename_basename: str) -> None:
        atomic_write(os.path.join(self.save_dir, "last_checkpoint"), last_filename_basename)

    def get_checkpoint_file(self) -> str:
        """:func:`tagged_checkpoint` of ``save_dir`` (raises CheckpointError for an invalid tag)."""
        return tagged_checkpoint(self.save_dir)

    def remove_stale_temp_files(self) -> list[str]:
        """Delete temp files left by a save that was killed (only those of ``*.pth`` and ``last_checkpoint``)."""
        removed = []
        if not self.save_dir or not os.path.isdir(self.save_dir):
            return removed
        for fname in os.listdir(self.save_dir):
            target = temp_target(fname)
            if target is not None and (target == "last_checkpoint" or target.endswith(".pth")):
                os.unlink(os.path.join(self.save_dir, fname))
                removed.append(fname)
        if removed:
            self.logger.info("Removed %d unfinished checkpoint write(s): %s", len(removed), removed)
        return removed

    def has_checkpoint(self) -> bool:
        """True when ``save_dir`` holds a ``last_checkpoint`` tag (CheckpointError when the tag is not a
        file or names an invalid one)."""
        if not self.save_dir:
            return False
        tagged_checkpoint(self.save_dir)
        return os.path.isfile(os.path.join(self.save_dir, "last_checkpoint"))

    def resume_or_load(self, path: str, *, resume: bool = True) -> dict[str, Any]:
        """As detectron2's; the tag is checked first (a folder named last_checkpoint would fail the
        first save after hours of training), and ``resume`` without a checkpoint says what it loads instead."""
        if not self.has_checkpoint() and resume:
            self.logger.warning(
                "--resume: no last_checkpoint in %s; starting %s", self.save_dir or "(no folder)",
                f"from MODEL.WEIGHTS {path}" if path else "from scratch (MODEL.WEIGHTS is empty)",
            )
        return super().resume_or_load(path, resume=resume)

    def load(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if path and remote.is_url(path):
            path = fetch_weights(path)
        if path and not os.path.isfile(path):
            raise CheckpointError(f"checkpoint not found: {path}")
        self._loading = path
        try:
            return super().load(path, *args, **kwargs)
        except CheckpointError:
            raise
        except (KeyError, ValueError, RuntimeError, TypeError, AttributeError, IndexError) as exc:
            detail = " ".join(str(exc).split())[:300]
            raise CheckpointError(f"checkpoint {path} does not fit this model/trainer: {detail}") from None

    def _load_file(self, filename: str) -> dict[str, Any]:
        return read_checkpoint(filename)

    def _load_model(self, checkpoint: dict[str, Any]) -> Any:
        incompatible = super()._load_model(checkpoint)
        self._check_fit(incompatible, getattr(self, "_loading", "") or "the weights")
        return incompatible

    def _check_fit(self, incompatible: Any, path: str) -> None:
        """Log how much of the model ``path`` filled; CheckpointError below :attr:`min_loaded_fraction`."""
        absent = set(incompatible.missing_keys) | {k for k, *_ in incompatible.incorrect_shapes}
        params = list(self.model.named_parameters())
        total = sum(p.numel() for _, p in params)
        loaded = sum(p.numel() for name, p in params if name not in absent)
        share = loaded / total if total else 1.0
        n_loaded = sum(name not in absent for name, _ in params)
        text = (f"{n_loaded} of {len(params)} parameter tensors ({100 * share:.1f} % of {total:,} values) "
                f"loaded from {path}")
        self.logger.info(text)
        if share < self.min_loaded_fraction:
            raise CheckpointError(
                f"{text}: below MODEL.MIN_LOADED_FRACTION {self.min_loaded_fraction:g}, so these weights do not fit "
                "this model's config (set MODEL.MIN_LOADED_FRACTION 0 to use them anyway)"
            )

    def load_model_state(self, checkpoint: dict[str, Any]) -> Any:
        """Load a :func:`read_checkpoint` dict into the model (detectron2's name matching for
        model-zoo files; weights of another shape are skipped and logged).

        Returns:
            The incompatible keys: ``missing_keys``, ``unexpected_keys``, ``incorrect_shapes``.
        """
        return self._load_model(checkpoint)
