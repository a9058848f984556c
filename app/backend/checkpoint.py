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
strings and containers only: no code runs); detectron2/Detectron model-zoo ``.pkl``
files go through a restricted unpickler that admits numpy arrays and plain containers
only. Any unreadable, truncated or foreign file raises
:class:`~app.backend.errors.CheckpointError` with the path and the reason.
"""

from __future__ import annotations

import collections
import importlib
import io
import logging
import os
import pickle
from typing import Any

import numpy as np
import torch
from detectron2.checkpoint import DetectionCheckpointer

from app.backend.atomic_write import atomic_write, temp_target
from app.backend.errors import CheckpointError

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
    try:
        if path.endswith(".pkl"):
            with open(path, "rb") as f:
                data = _NumpyOnlyUnpickler(io.BufferedReader(f), encoding="latin1").load()
        else:
            data = torch.load(path, map_location=torch.device("cpu"), weights_only=True)
    except Exception as exc:  # zipfile/pickle/EOF/RuntimeError: all mean "not a usable checkpoint"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read checkpoint {path}: {reason}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"cannot read checkpoint {path}: expected a dict of weights, got {type(data).__name__}")
    return data


def read_checkpoint(path: str) -> dict[str, Any]:
    """A checkpoint file in the form :class:`DetectionCheckpointer` loads, read without running code.

    ``.pth``: ``{"model": state dict, ...}`` as saved (a bare state dict is wrapped).
    ``.pkl``: a detectron2 model-zoo dict as is; Detectron (Caffe2) blobs become
    ``{"model": blobs, "__author__": "Caffe2", "matching_heuristics": True}``.

    Raises:
        CheckpointError: unreadable file, or no dict of weights under ``"model"``.
    """
    data = load_checkpoint_file(path)
    if path.endswith(".pkl"):
        if "model" in data and "__author__" in data:
            return data
        if "blobs" in data:
            data = data["blobs"]
        data = {k: v for k, v in data.items() if not k.endswith("_momentum")}
        return {"model": data, "__author__": "Caffe2", "matching_heuristics": True}
    if "model" not in data:
        data = {"model": data}
    if not isinstance(data["model"], dict):
        raise CheckpointError(f"cannot read checkpoint {path}: 'model' is not a dict of tensors")
    return data


def tagged_checkpoint(folder: str | os.PathLike[str]) -> str:
    """The path ``folder/last_checkpoint`` names ("" when there is no tag).

    Raises:
        CheckpointError: the tag names anything but a plain file name in ``folder``
            (a path, a hidden file or nothing): an output folder is untrusted input.
    """
    try:
        with open(os.path.join(folder, "last_checkpoint"), encoding="utf-8") as f:
            name = f.read().strip()
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
    guarantees. :attr:`saved` lists what this instance wrote (a run tells its own checkpoints
    from older ones in the same folder).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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

    def load(self, path: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if path and not os.path.isfile(path) and "://" not in path:
            raise CheckpointError(f"checkpoint not found: {path}")
        try:
            return super().load(path, *args, **kwargs)
        except CheckpointError:
            raise
        except (KeyError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {path} does not fit this model/trainer: {exc}") from None

    def _load_file(self, filename: str) -> dict[str, Any]:
        return read_checkpoint(filename)

    def load_model_state(self, checkpoint: dict[str, Any]) -> Any:
        """Load a :func:`read_checkpoint` dict into the model (detectron2's name matching for
        model-zoo files; weights of another shape are skipped and logged).

        Returns:
            The incompatible keys: ``missing_keys``, ``unexpected_keys``, ``incorrect_shapes``.
        """
        return self._load_model(checkpoint)
