"""An editing session on one dataset file: document + journal + autosave policy. Qt-free.

Durability:
- every edit is appended to the edit journal and fsync'd before :meth:`AnnotationSession.apply`
  returns, so a crash (even SIGKILL) loses no finished edit;
- autosave (:data:`AUTOSAVE_INTERVAL_S` = 5 s): :meth:`maybe_autosave` writes the file
  atomically (temporary file, fsync, rename) once the oldest unsaved edit is that old;
  the UI calls it from a 1 s timer, so the file on disk lags the edits by at most ~6 s;
- a file that fails validation at open (malformed entries, missing images) is never
  overwritten: saves go to a sibling ``<stem>.edited.json`` and :attr:`notes` says so;
- reopening after a crash replays the journal onto the file it was started for.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from app.backend.annotations.document import AnnotationDocument
from app.backend.annotations.journal import (
    EditJournal,
    file_identity,
    journal_path_for,
    move_aside,
    read_journal,
)
from app.backend.annotations.ops import Op, OpConflictError, inverse
from app.backend.atomic_write import atomic_write
from app.backend.errors import DatasetError

AUTOSAVE_INTERVAL_S = 5.0


def sibling_save_path(source: Path) -> Path:
    """Where edits of a file that failed validation go: ``<stem>.edited.json`` (or ``-2``, ``-3``... if taken).

    A candidate whose journal exists is reused (a crashed session on the same file).
    """
    n = 1
    while True:
        suffix = ".edited" if n == 1 else f".edited-{n}"
        cand = source.with_name(f"{source.stem}{suffix}.json")
        if journal_path_for(cand).exists() or not cand.exists():
            return cand
        n += 1


class AnnotationSession:
    """Edit one COCO(-DensePose) file with journaled, undoable operations.

    Args:
        doc: the loaded document (``doc.path`` must be set).
        problems: validation problems found at open; non-empty makes the source read-only.
        identity: size/mtime of the source version ``doc`` was read from (taken before reading).
        autosave_interval_s: age of the oldest unsaved edit that triggers an autosave.
        clock: monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        doc: AnnotationDocument,
        *,
        problems: list[str] | None = None,
        identity: dict[str, int] | None = None,
        autosave_interval_s: float = AUTOSAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if doc.path is None:
            raise ValueError("an editing session needs a document loaded from a file")
        self.doc = doc
        self.source = doc.path
        self.problems = list(problems or [])
        self.writable = not self.problems
        self.save_path = self.source if self.writable else sibling_save_path(self.source)
        self.autosave_interval_s = float(autosave_interval_s)
        self._clock = clock
        self._base = self.source
        self._base_identity = identity if identity is not None else file_identity(self.source)
        self.journal = EditJournal(journal_path_for(self.save_path))
        self._first_unsaved: float | None = None
        self.revision = 0
        self.recovered_ops = 0
        self.notes: list[str] = []
        if not self.writable:
            self.notes.append(
                f"{self.source.name} failed validation and will not be overwritten; edits are saved to {self.save_path.name}"
            )

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check_files: bool = True, **kwargs) -> AnnotationSession:
        """Load, validate and recover (journal replay) a dataset file.

        Raises:
            DatasetError: the file cannot be read or is not COCO JSON (nothing is written).
        """
        path = Path(path)
        try:
            identity = file_identity(path)
        except OSError as exc:
            raise DatasetError(f"cannot open {path}: {exc.strerror or exc}") from None
        doc = AnnotationDocument.load(path)
        session = cls(doc, problems=doc.validate(check_files=check_files), identity=identity, **kwargs)
        session.recover()
        return session

    # -- state ------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        return self._first_unsaved is not None

    # -- crash recovery ---------------------------------------------------------------
    def recover(self) -> int:
        """Replay a journal left by a crashed session; returns the number of edits recovered."""
        jpath = self.journal.path
        try:
            contents = read_journal(jpath)
        except OpConflictError as exc:
            self.notes.append(f"{exc}; moved to {move_aside(jpath).name}")
            return 0
        if contents is None:
            if jpath.exists():
                self.notes.append(f"unreadable edit journal moved to {move_aside(jpath).name}")
            return 0
        header = contents.header
        base = Path(str(header.get("base", "")))
        ident = {"size": header.get("size"), "mtime_ns": header.get("mtime_ns")}
        try:
            current = file_identity(base)
        except OSError:
            current = None
        if current != ident:
            dest = move_aside(jpath)
            self.notes.append(f"the edit journal belongs to another version of {base.name}; kept as {dest.name}")
            return 0
        if base.resolve() != self.source.resolve():
            self.doc = AnnotationDocument.load(base)
        self._base, self._base_identity = base, current
        applied: list[Op] = []
        for n, op in enumerate(contents.ops):
            try:
                self.doc.apply(op)
            except OpConflictError as exc:
                self.notes.append(f"journal replay stopped at edit {n + 1}: {exc}")
                break
            applied.append(op)
        self.journal.start(self._base, self._base_identity, applied)
        self.recovered_ops = len(applied)
        if applied:
            self._first_unsaved = self._clock()
            self.revision += len(applied)
            self.notes.append(f"recovered {len(applied)} unsaved edits from the edit journal")
        return len(applied)

    # -- editing ----------------------------------------------------------------------
    def apply(self, op: Op) -> None:
        """Apply an edit and make it durable (journal append + fsync) before returning."""
        self.doc.apply(op)
        try:
            if not self.journal.active:
                self.journal.start(self._base, self._base_identity)
            self.journal.append(op)
        except OSError as exc:
            self.doc.apply(inverse(op))
            raise DatasetError(f"cannot write the edit journal {self.journal.path}: {exc.strerror or exc}") from None
        self.revision += 1
        if self._first_unsaved is None:
            self._first_unsaved = self._clock()

    # -- saving -----------------------------------------------------------------------
    def autosave_due(self) -> bool:
        return self._first_unsaved is not None and self._clock() - self._first_unsaved >= self.autosave_interval_s

    def maybe_autosave(self) -> bool:
        """Save when the oldest unsaved edit is at least ``autosave_interval_s`` old; True if saved."""
        if self.autosave_due():
            self.save()
            return True
        return False

    def save(self) -> Path:
        """Atomically write the document to :attr:`save_path`; then the journal is no longer needed."""
        try:
            atomic_write(self.save_path, self.doc.to_json_bytes())
        except OSError as exc:
            raise DatasetError(f"cannot save {self.save_path}: {exc.strerror or exc}") from None
        self._base, self._base_identity = self.save_path, file_identity(self.save_path)
        self.journal.discard()
        self._first_unsaved = None
        return self.save_path

    def close(self) -> None:
        """Save pending edits and remove the journal."""
        if self.dirty:
            self.save()
        else:
            self.journal.discard()
