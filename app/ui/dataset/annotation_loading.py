"""The Dataset view's loading job: parse + index (the grid can show), then lock, recover, validate.

A job for the view's :class:`~app.widgets.job_runner.JobRunner`: the index arrives as a
partial result, then ``(index, sessions, notes)`` as the result. Only plain Python objects cross.
"""

from __future__ import annotations

from pathlib import Path

from app.backend.annotations import AnnotationDocument, AnnotationSession
from app.backend.annotations.index import DatasetIndex, build_index
from app.backend.annotations.journal import file_identity
from app.backend.annotations.thumbnails import ThumbnailCache, default_thumbnail_dir
from app.backend.errors import DatasetError
from app.widgets.job_runner import TaskState

#: How long a load waits for a file's lock before opening it read-only: a load that replaced
#: another (Open again) may find the old load's sessions not yet let go.
LOCK_WAIT_S = 1.0


def make_thumbnail_cache(cache_dir: Path | None = None) -> ThumbnailCache:
    """Thumbnails of 128 px cached in memory and under the user cache dir."""
    return ThumbnailCache(cache_dir if cache_dir is not None else default_thumbnail_dir(), size=128)


def load_datasets(state: TaskState, paths: list[Path], demo_root: Path | None = None
                  ) -> tuple[DatasetIndex, list[AnnotationSession], list[str]]:
    """Job: open ``paths`` (generating the demo under ``demo_root`` first when it is missing).

    Partial result: the DatasetIndex (the grid can show the images). Result: the index of the
    recovered documents, one AnnotationSession per file (read-only where another editor holds
    the file) and the notes for the banner. Raises DatasetError when a file cannot be opened
    (nothing was written); stops between files when cancelled, letting go of what it opened.
    """
    if demo_root is not None:
        from app.backend.data.demo import ensure_demo_dataset

        ensure_demo_dataset(demo_root)
    docs, identities = [], []
    for path in paths:
        state.raise_if_cancelled()
        try:
            identities.append(file_identity(path))
        except OSError as exc:
            raise DatasetError(f"cannot open {path}: {exc.strerror or exc}") from None
        docs.append(AnnotationDocument.load(path))
    index = build_index(docs)
    state.set_partial_result(index)
    sessions: list[AnnotationSession] = []
    notes: list[str] = []
    try:
        for doc, ident in zip(docs, identities):
            state.raise_if_cancelled()
            session = AnnotationSession.open(doc.path, doc=doc, identity=ident, lock_wait_s=LOCK_WAIT_S)
            sessions.append(session)
            notes += [f"{doc.path.name}: {n}" for n in session.notes]
            notes += [f"{doc.path.name}: {p}" for p in session.problems[:5]]
        state.raise_if_cancelled()
    except BaseException:
        for session in sessions:
            session.release()  # the lock and the journal stay as they are on disk
        raise
    if any(s.recovered_ops or s.doc is not d for s, d in zip(sessions, docs)):
        index = build_index([s.doc for s in sessions])
    return index, sessions, notes
