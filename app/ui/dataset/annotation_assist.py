"""Model-assisted labelling: run a checkpoint (the engine's Predictor) off the UI thread and turn
its predictions into proposals in the annotation editor (drawn dashed; accept, edit or reject).

One run at a time; the predictor comes from the UI's :class:`~app.ui.common.model_cache.ModelCache`
(built on the worker thread, rebuilt when the config or the weights file changes); cancellation
is cooperative (checked between images); results arrive as signals.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QFileDialog

from app.backend.annotations.proposals import people_from_prediction
from app.ui.common.model_cache import ModelCache


class AssistSignals(QObject):
    proposals = Signal(object, object, object)  # source path, image id, list[Person]
    failed = Signal(str)
    finished = Signal(int)  # number of images done


class AssistJob(QRunnable):
    def __init__(
        self,
        cache: ModelCache,
        model: tuple,
        items: list,
        signals: AssistSignals,
        cancel: threading.Event,
        score: float,
    ) -> None:
        super().__init__()
        self.cache, self.model, self.items, self.signals, self.cancel, self.score = (
            cache,
            model,
            items,
            signals,
            cancel,
            score,
        )

    def run(self) -> None:
        done = 0
        try:
            from app.backend.config import load_config

            config_file, weights, opts = self.model
            predictor = self.cache.get(load_config(config_file, opts), weights)
            for source, image_id, record in self.items:
                if self.cancel.is_set():
                    break
                out = predictor.predict_record(record)
                hw = (record["height"], record["width"])
                people = people_from_prediction(out.prediction, image_id, score_threshold=self.score, image_hw=hw)
                self.signals.proposals.emit(source, image_id, people)
                done += 1
        except Exception as exc:
            from app.backend.errors import is_user_error

            detail = "" if is_user_error(exc) else "\n" + traceback.format_exc(limit=4)
            self.signals.failed.emit(f"model proposals failed: {exc}{detail}")
        self.signals.finished.emit(done)


class AssistController(QObject):
    """Connects the editor's "Propose…" button to a Predictor run on a worker thread."""

    def __init__(self, editor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.config_file = ""
        self.weights = ""
        self.opts: list[str] = []
        self.score_threshold = 0.5
        self._cache = ModelCache()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cancel = threading.Event()
        self.running = False
        self.signals = AssistSignals(self)
        self.signals.proposals.connect(self._on_proposals)
        self.signals.failed.connect(self._on_failed)
        self.signals.finished.connect(self._on_finished)
        editor.proposeRequested.connect(self.propose_current)

    def set_model(self, config_file: str | Path, weights: str | Path = "", opts: list[str] | None = None) -> None:
        """Checkpoint used for proposals: a config YAML and weights ("" = the config's MODEL.WEIGHTS)."""
        self.config_file, self.weights, self.opts = str(config_file), str(weights), list(opts or [])

    def _ask_model(self) -> bool:
        cfg, _ = QFileDialog.getOpenFileName(self.editor, "Model config", "", "Config (*.yaml *.yml)")
        if not cfg:
            return False
        weights, _ = QFileDialog.getOpenFileName(
            self.editor, "Checkpoint", str(Path(cfg).parent), "Checkpoint (*.pth *.pkl)"
        )
        self.set_model(cfg, weights)
        return True

    def propose_current(self) -> None:
        ed = self.editor
        if ed.session is None or ed.image_id is None:
            return
        if not self.config_file and not self._ask_model():
            return
        self.propose([(ed.session.source, ed.image_id)])

    def propose(self, items: list[tuple[Path, object]]) -> bool:
        """Run the model on (session source, image id) pairs; False when a run is already going."""
        if self.running:
            self.editor.message.emit("model proposals are already running")
            return False
        jobs = []
        for source, image_id in items:
            session = self.editor.sessions[Path(source).resolve()]
            img = session.doc.image(image_id)
            file_name, csi = session.doc.resolve(img), session.doc.resolve(img, "csi_file")
            record = {
                "file_name": None if file_name is None else str(file_name),
                "csi_file": None if csi is None else str(csi),
                "height": img["height"],
                "width": img["width"],
                "image_id": image_id,
            }
            jobs.append((session.source, image_id, record))
        self.running = True
        self._cancel.clear()
        self.editor.message.emit(f"running the model on {len(jobs)} image(s)…")
        self._pool.start(
            AssistJob(
                self._cache,
                (self.config_file, self.weights, self.opts),
                jobs,
                self.signals,
                self._cancel,
                self.score_threshold,
            )
        )
        return True

    def _on_proposals(self, source, image_id, people) -> None:
        self.editor.set_proposals(source, image_id, people)

    def _on_failed(self, text: str) -> None:
        self.editor.show_banner(text)

    def _on_finished(self, done: int) -> None:
        self.running = False
        self.editor.message.emit(f"model proposals ready for {done} image(s)")

    def shutdown(self) -> None:
        self._cancel.set()
        self._pool.waitForDone()
