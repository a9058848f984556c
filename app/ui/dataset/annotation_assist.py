"""Model-assisted labelling: run a checkpoint (the engine's Predictor) off the UI thread and turn
its predictions into proposals in the annotation editor (drawn dashed; accept, edit or reject).

One run at a time on the controller's :class:`~app.widgets.job_runner.JobRunner` (a second
request is refused); the predictor comes from the UI's
:class:`~app.ui.common.model_cache.ModelCache` (built on the worker thread, rebuilt when the
config or the weights file changes); cancellation is cooperative (checked between images);
each image's proposals arrive as a partial result.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from app.backend.annotations.proposals import people_from_prediction
from app.ui.common.model_cache import ModelCache
from app.ui.common.start_folder import start_folder
from app.widgets.job_runner import JobRunner, TaskState, failure_text


def run_proposals(state: TaskState, cache: ModelCache, model: tuple, items: list, score: float) -> int:
    """Job: proposals for each ``(source, image id, record)`` of ``items``, one partial result
    ``(source, image id, list[Person])`` per image; ``model`` is (config file, weights, opts).
    Returns the number of images done (fewer when cancelled)."""
    from app.backend.config import load_config

    config_file, weights, opts = model
    predictor = cache.get(load_config(config_file, opts), weights)
    done = 0
    for source, image_id, record in items:
        if state.cancelled:
            break
        out = predictor.predict_record(record)
        hw = (record["height"], record["width"])
        people = people_from_prediction(out.prediction, image_id, score_threshold=score, image_hw=hw)
        state.set_partial_result((source, image_id, people))
        done += 1
    return done


class AssistController(QObject):
    """Connects the editor's "Propose…" button to a Predictor run on a worker thread.

    Signals:
        proposalsDone(int): a run ended (also failed or cancelled); the number of images that got proposals.
    """

    proposalsDone = Signal(int)

    def __init__(self, editor, parent=None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.config_file = ""
        self.weights = ""
        self.opts: list[str] = []
        self.score_threshold = 0.5
        self._cache = ModelCache()
        self._done = 0
        self.job = JobRunner(self, name="assist")  # one run at a time: a second request is refused
        self.job.partial.connect(self._on_proposals)
        self.job.failed.connect(self._on_failed)
        self.job.finished.connect(self._on_finished)
        editor.proposeRequested.connect(self.propose_current)

    @property
    def running(self) -> bool:
        return self.job.is_running()

    def set_model(self, config_file: str | Path, weights: str | Path = "", opts: list[str] | None = None) -> None:
        """Checkpoint used for proposals: a config YAML and weights ("" = the config's MODEL.WEIGHTS)."""
        self.config_file, self.weights, self.opts = str(config_file), str(weights), list(opts or [])

    def ask_model(self) -> bool:
        """Ask for a config and a checkpoint (file dialogs); False when the user cancels."""
        cfg, _ = QFileDialog.getOpenFileName(self.editor, "Model config", start_folder("project"), "Config (*.yaml *.yml)")
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
        if not self.config_file and not self.ask_model():
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
        self._done = 0
        self.job.start(run_proposals, self._cache, (self.config_file, self.weights, self.opts), jobs, self.score_threshold)
        self.editor.message.emit(f"running the model on {len(jobs)} image(s)…")
        return True

    def _on_proposals(self, proposal: tuple) -> None:
        source, image_id, people = proposal
        self._done += 1
        self.editor.set_proposals(source, image_id, people)

    def _on_failed(self, message: str, details: str) -> None:
        self.editor.show_banner(failure_text("model proposals failed", message, details))

    def _on_finished(self) -> None:
        self.editor.message.emit(f"model proposals ready for {self._done} image(s)")
        self.proposalsDone.emit(self._done)

    def shutdown(self) -> None:
        self.job.shutdown()
