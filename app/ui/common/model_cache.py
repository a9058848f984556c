"""The UI's one model cache: the loaded Predictor of a config and a weights file as it is on disk now.

The Inference view, model-assisted labelling and the MTN preview build their model through a
:class:`ModelCache`, on their worker threads (building imports torch/detectron2 and reads the
checkpoint). The key is the config (its YAML dump) and the weights file's resolved path,
size and modification time (ns), so a run that trains into the same file (``model_final.pth``,
or the checkpoint ``last_checkpoint`` names) gives the new weights on the next request
instead of the model already in memory. One model is kept per cache.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any


def weights_identity(path: str) -> tuple:
    """(resolved path, size, mtime_ns) of a weights file; (path, None, None) when it is not a
    local file ("" = random weights, a model-zoo URL, a missing file: loading reports that)."""
    from app.backend.annotations.journal import file_identity

    if not path or not Path(path).is_file():
        return (path, None, None)
    ident = file_identity(path)
    return (str(Path(path).resolve()), ident["size"], ident["mtime_ns"])


class ModelCache:
    """Keeps the Predictor of the last (config, weights file version) asked for (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._predictor: Any = None

    def get(self, cfg: Any, weights: str = "") -> Any:
        """The Predictor of ``cfg`` with ``weights`` ("" = the config's MODEL.WEIGHTS), built
        when the config or the file changed since the last call; callers wait while it builds.

        Raises CheckpointError (a user error) when the weights cannot be read.
        """
        from app.backend.engine.predictor import Predictor

        key = (cfg.dump(), weights_identity(str(weights or cfg.MODEL.WEIGHTS or "")))
        with self._lock:
            if key != self._key:
                self._key = self._predictor = None  # a failed build leaves nothing stale behind
                self._predictor = Predictor(cfg, str(weights or ""))
                self._key = key
            return self._predictor
