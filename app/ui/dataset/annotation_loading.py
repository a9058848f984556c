"""Worker that opens dataset files for the dataset view: parse + index, then validate + recover.

Runs on a QThreadPool; results travel to the GUI thread through the signals of
:class:`LoadSignals` (a QObject living in the GUI thread). Only plain Python objects cross.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Signal

from app.backend.annotations import AnnotationDocument, AnnotationSession
from app.backend.annotations.index import build_index
from app.backend.annotations.journal import file_identity
from app.backend.annotations.thumbnails import ThumbnailCache, default_thumbnail_dir
from app.backend.errors import DatasetError, UserFacingError


class LoadSignals(QObject):
    indexed = Signal(object)  # DatasetIndex: the grid can show the images
    ready = Signal(object, object, object)  # DatasetIndex, list[AnnotationSession], list[str] notes
    failed = Signal(str)  # one user-facing message; nothing was written


def make_thumbnail_cache(cache_dir: Path | None = None) -> ThumbnailCache:
    """Thumbnails of 128 px cached in memory and under the user cache dir."""
    return ThumbnailCache(cache_dir if cache_dir is not None else default_thumbnail_dir(), size=128)


class DatasetLoadJob(QRunnable):
    """Open ``paths`` (generating the demo under ``demo_root`` first when it is missing)."""

    def __init__(self, paths: list[Path], signals: LoadSignals, demo_root: Path | None = None) -> None:
        super().__init__()
        self.paths, self.signals, self.demo_root = paths, signals, demo_root

    def run(self) -> None:
        try:
            self._run()
        except UserFacingError as exc:
            self.signals.failed.emit(f"error: {exc}")
        except Exception as exc:  # a bug must not take the app down; show it instead
            self.signals.failed.emit(f"error: could not open the dataset: {exc}\n{traceback.format_exc(limit=3)}")

    def _run(self) -> None:
        if self.demo_root is not None and not all(p.exists() for p in self.paths):
            from app.backend.data.demo import DEFAULT_WORKERS, generate_demo_dataset

            generate_demo_dataset(self.demo_root, workers=DEFAULT_WORKERS)
        docs, identities = [], []
        for path in self.paths:
            try:
                identities.append(file_identity(path))
            except OSError as exc:
                raise DatasetError(f"cannot open {path}: {exc.strerror or exc}") from None
            docs.append(AnnotationDocument.load(path))
        index = build_index(docs)
        self.signals.indexed.emit(index)
        sessions, notes = [], []
        for doc, ident in zip(docs, identities):
            problems = doc.validate(check_files=True)
            session = AnnotationSession(doc, problems=problems, identity=ident)
            session.recover()
            sessions.append(session)
            notes += [f"{doc.path.name}: {n}" for n in session.notes]
            notes += [f"{doc.path.name}: {p}" for p in problems[:5]]
        if any(s.recovered_ops or s.doc is not d for s, d in zip(sessions, docs)):
            index = build_index([s.doc for s in sessions])
        self.signals.ready.emit(index, sessions, notes)
