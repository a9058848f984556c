"""An editing session on one dataset file: lock + document + journal + autosave policy. Qt-free.

One writer per file:
- :meth:`AnnotationSession.open` takes the file's lock (:mod:`app.backend.file_lock`,
  ``<file>.lock`` beside the real file). A second opener, in this process or another, gets a
  *read-only* session: :attr:`~AnnotationSession.read_only_reason` says
  ``"train.json is opened elsewhere by USER@HOST pid N since T (annotation editor)"``, and every
  edit or save is refused (:class:`~app.backend.annotations.ops.EditRefused`) with that reason.
  It never reads, writes or deletes the writer's journal. The lock of a process that died is
  stale and the next opener takes it over (the notes say whose it was).

Every confirmed edit survives a crash and replays exactly:
- :meth:`AnnotationSession.apply` checks an edit before confirming it: its shape, strict JSON
  (no NaN or infinity), no new validation problem for the person it writes (a box past the
  image border, a part index out of range, an id already in use...: :mod:`.edit_check`). Then it applies the
  edit's JSON form (what a replay reads back) to the document and appends it to the journal
  with an fsync. All or nothing: a refused edit, or a journal write that fails, leaves the
  document and the journal as they were.
- autosave (:data:`AUTOSAVE_INTERVAL_S` = 5 s): :meth:`maybe_autosave` writes the file
  atomically once the oldest unsaved edit is that old; the UI calls it from a 1 s timer.

Recovery comes first and keeps the journal until the user decides:
- opening replays ``<file>.journal.jsonl`` (beside the real file) before the file is
  validated, so a file that now fails validation (an image was moved) still gets its edits
  back; :attr:`recovery` says how many were applied and which could not be (those are kept in a
  copy ``.unapplied-<time>``);
- recovered edits are not autosaved: :meth:`keep_recovered` saves them (and every later save
  includes them), :meth:`discard_recovered` goes back to the file and moves the journal aside
  (``.discarded-<time>``); closing without a decision keeps the journal for the next open.

A file that fails validation at open (malformed entries, missing images, non-finite values)
is never overwritten: saves go to a sibling ``<stem>.edited.json`` beside the real file and
:attr:`notes` says so.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backend.annotations.document import AnnotationDocument
from app.backend.annotations.edit_check import edit_problems
from app.backend.annotations.journal import (
    EditJournal,
    copy_aside,
    encode_op,
    file_identity,
    journal_path_for,
    move_aside,
    read_journal,
    same_version,
)
from app.backend.annotations.ops import EditRefused, Op, OpConflictError, check_op, inverse
from app.backend.atomic_write import atomic_write, non_finite_places
from app.backend.errors import DatasetError
from app.backend.file_lock import FileLock, LockHeldError

AUTOSAVE_INTERVAL_S = 5.0
LOCK_PURPOSE = "annotation editor"


def sibling_save_path(source: Path) -> Path:
    """Where edits of a file that failed validation go: ``<stem>.edited.json`` beside the real file
    (``.edited-2.json``, ``-3``... when taken)."""
    real = Path(os.path.realpath(source))
    n = 1
    while True:
        cand = real.with_name(f"{real.stem}{'.edited' if n == 1 else f'.edited-{n}'}.json")
        if not cand.exists():
            return cand
        n += 1


@dataclass
class RecoveryReport:
    """What opening recovered from an edit journal.

    Attributes:
        journal: the journal file.
        applied: edits replayed onto the document.
        not_applied: one line per edit that could not be (why), in journal order.
        kept_aside: a copy of the journal as it was, when some edits could not be applied.
        decided: None until the user keeps ("kept") or discards ("discarded") the recovered edits.
    """

    journal: Path
    applied: int
    not_applied: list[str] = field(default_factory=list)
    kept_aside: Path | None = None
    decided: str | None = None

    def summary(self) -> str:
        text = f"recovered {self.applied} unsaved edits from {self.journal.name}"
        if self.not_applied:
            where = f" (kept in {self.kept_aside.name})" if self.kept_aside is not None else ""
            text += f"; {len(self.not_applied)} could not be applied{where}: {self.not_applied[0]}"
        return text


class AnnotationSession:
    """Edit one COCO(-DensePose) file with checked, journaled, undoable operations.

    Build it with :meth:`open`. Attributes: ``doc``, ``source`` (the path as given), ``real``
    (symlinks resolved), ``problems`` (validation at open), ``notes`` (lines for the user),
    ``save_path``, ``recovery``, ``read_only_reason``.
    """

    def __init__(
        self,
        doc: AnnotationDocument,
        *,
        problems: list[str] | None = None,
        identity: dict[str, int] | None = None,
        lock: FileLock | None = None,
        read_only_reason: str | None = None,
        autosave_interval_s: float = AUTOSAVE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if doc.path is None:
            raise ValueError("an editing session needs a document loaded from a file")
        self.doc = doc
        self.source = doc.path
        self.real = Path(os.path.realpath(self.source))
        self.lock = lock
        self.read_only_reason = read_only_reason
        self.autosave_interval_s = float(autosave_interval_s)
        self._clock = clock
        self._base = self.real
        self._base_identity = identity if identity is not None else file_identity(self.real)
        self.journal = EditJournal(journal_path_for(self.real))
        self._first_unsaved: float | None = None
        self.revision = 0
        self.recovered_ops = 0
        self.recovery: RecoveryReport | None = None
        self.notes: list[str] = []
        self.problems = self.doc.non_finite + list(problems or [])
        self.save_path = sibling_save_path(self.real) if self.problems and not self.read_only else self.source

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        check_files: bool = True,
        read_only: bool = False,
        doc: AnnotationDocument | None = None,
        identity: dict[str, int] | None = None,
        lock_wait_s: float = 0.0,
        **kwargs: Any,
    ) -> AnnotationSession:
        """Lock, load, recover (journal replay), then validate a dataset file.

        Args:
            read_only: open for viewing (no lock, no journal, edits refused).
            doc, identity: the file already parsed and the size/mtime taken before parsing it
                (reused when the file has not changed since).
            lock_wait_s: how long to wait for a lock held by someone else before opening read-only.

        Raises:
            DatasetError: the file cannot be read or is not COCO JSON (nothing is written; the
                message says when an edit journal exists, which is kept).
        """
        path = Path(path)
        real = Path(os.path.realpath(path))
        lock, reason = None, "opened read-only" if read_only else None
        if not read_only:
            try:
                lock = FileLock.acquire(real, LOCK_PURPOSE, wait_s=lock_wait_s)
            except LockHeldError as exc:
                who = exc.owner.describe() if exc.owner is not None else "another process"
                reason = f"{real.name} is opened elsewhere by {who}"
            except OSError as exc:
                reason = f"{real.name} cannot be locked for editing ({exc})"
        try:
            current = file_identity(path)
            if doc is None or identity != current:
                doc = AnnotationDocument.load(path)
        except (OSError, DatasetError) as exc:
            if lock is not None:
                lock.release()
            text = f"cannot open {path}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            raise DatasetError(text + _journal_note(real)) from None
        session = cls(doc, identity=current, lock=lock, read_only_reason=reason, **kwargs)
        try:
            if lock is not None and lock.previous is not None:
                session.notes.append(f"took over the lock of {lock.previous.describe()}, which is no longer running")
            if reason is not None:
                session.notes.append(f"{reason}: read-only here, edits are refused"
                                     + ("" if read_only else " (close it there, then open it again)"))
            else:
                session.recover()
            session._settle(session.doc.validate(check_files=check_files))
        except BaseException:
            session.release()
            raise
        return session

    # -- state ------------------------------------------------------------------------
    @property
    def read_only(self) -> bool:
        return self.read_only_reason is not None

    @property
    def writable(self) -> bool:
        """True when saves overwrite the file itself (not read-only, no validation problem)."""
        return not self.read_only and not self.problems

    @property
    def dirty(self) -> bool:
        return self._first_unsaved is not None

    @property
    def recovery_pending(self) -> bool:
        """Recovered edits wait for the user to keep or discard them (no autosave until then)."""
        return self.recovery is not None and self.recovery.applied > 0 and self.recovery.decided is None

    def _settle(self, problems: list[str]) -> None:
        """Set problems, notes and where saves go, once, after recovery (the journal may have named a sibling)."""
        self.problems = self.doc.non_finite + problems
        self.notes += self.doc.repairs
        if self._base != self.real:
            self.save_path = self._base  # the previous session saved its edits beside the file
        elif self.problems and not self.read_only:
            self.save_path = sibling_save_path(self.real)
            self.notes.append(f"{self.real.name} failed validation and will not be overwritten; "
                              f"edits are saved to {self.save_path.name}")
        else:
            self.save_path = self.source

    # -- crash recovery ---------------------------------------------------------------
    def recover(self) -> int:
        """Replay a journal left by a crashed session; returns the number of edits recovered."""
        jpath = self.journal.path
        try:
            contents = read_journal(jpath)
        except OSError as exc:
            self.notes.append(f"the edit journal {jpath.name} cannot be read ({exc.strerror or exc}); it is kept")
            return 0
        if contents is None:
            if jpath.exists():
                self.notes.append(f"unreadable edit journal moved to {move_aside(jpath).name}")
            return 0
        total = len(contents.ops) + contents.unreadable
        header = contents.header
        base = Path(str(header.get("base", "")))
        try:
            current = file_identity(base)
        except OSError:
            current = None
        if not same_version(header, current):
            dest = move_aside(jpath)
            self.recovery = RecoveryReport(jpath, 0, [f"the file changed since ({base.name})"] * total, dest)
            self.notes.append(f"the edit journal belongs to another version of {base.name}: its {total} edits "
                              f"were not applied; kept as {dest.name}")
            return 0
        if not total:
            self.journal.discard()
            return 0
        if base.resolve() != self.real:
            self.doc = AnnotationDocument.load(base)
        applied: list[Op] = []
        not_applied: list[str] = []
        for n, op in enumerate(contents.ops):
            if not_applied:
                not_applied.append(f"edit {n + 1}: not tried (it follows an edit that could not be applied)")
                continue
            try:
                self.doc.apply(op)
            except OpConflictError as exc:
                not_applied.append(f"edit {n + 1} ({op.get('label') or op['op']}, image {op['image_id']}): {exc}")
                continue
            applied.append(op)
        start = len(contents.ops) + 1
        not_applied += [f"edit {n}: unreadable in the journal" for n in range(start, start + contents.unreadable)]
        kept = copy_aside(jpath, "unapplied") if not_applied else None
        self._base, self._base_identity = base, current
        if applied:
            self.journal.start(base, current, applied)  # without the torn tail and what did not apply
        else:
            self.journal.discard()
        self.recovery = RecoveryReport(jpath, len(applied), not_applied, kept)
        self.recovered_ops = len(applied)
        if applied:
            self._first_unsaved = self._clock()
            self.revision += len(applied)
        self.notes.append(self.recovery.summary() + ("; keep them (save) or discard them" if applied else ""))
        return len(applied)

    def keep_recovered(self) -> Path:
        """The user keeps the recovered edits: save now (see :meth:`save`)."""
        return self.save()

    def discard_recovered(self) -> None:
        """The user drops the recovered edits (and any made since): back to the file, journal moved aside."""
        if not self.recovery_pending:
            return
        self.journal.close()
        dest = move_aside(self.journal.path, "discarded")
        self.doc = AnnotationDocument.load(self._base)
        self._base_identity = file_identity(self._base)
        self._first_unsaved = None
        self.revision += 1
        self.recovery.decided = "discarded"
        self.notes.append(f"recovered edits discarded; the journal is kept as {dest.name}")

    # -- editing ----------------------------------------------------------------------
    def apply(self, op: Op) -> Op:
        """Check, apply and journal (fsync) one edit; returns the confirmed edit (its JSON form).

        Raises:
            EditRefused: read-only session, malformed or non-finite edit, an edit that adds a
                validation problem, one that does not fit the document, or a journal that
                cannot be written. Nothing changed.
        """
        if self.read_only:
            raise EditRefused(f"edit refused: read-only here: {self.read_only_reason}")
        try:
            line = encode_op(check_op(op))
        except OpConflictError as exc:
            raise EditRefused(f"edit refused: {exc}") from None
        except ValueError:
            raise EditRefused(f"edit refused: {', '.join(non_finite_places(op))} is not a finite number") from None
        except TypeError as exc:
            raise EditRefused(f"edit refused: not JSON data ({exc})") from None
        op = json.loads(line)  # what a replay will read: lists not tuples, string keys
        found = edit_problems(self.doc, op)
        if found:
            raise EditRefused("edit refused: " + "; ".join(found))
        try:
            self.doc.apply(op)
        except OpConflictError as exc:
            raise EditRefused(f"edit refused: {exc}") from None
        try:
            if not self.journal.active:
                self.journal.start(self._base, self._base_identity)
            self.journal.append(line)
        except OSError as exc:
            self.doc.apply(inverse(op))
            raise EditRefused(f"cannot write the edit journal {self.journal.path}: {exc.strerror or exc}; "
                              "the edit was not made") from None
        self.revision += 1
        if self._first_unsaved is None:
            self._first_unsaved = self._clock()
        return op

    # -- saving -----------------------------------------------------------------------
    def autosave_due(self) -> bool:
        return (
            not self.recovery_pending
            and self._first_unsaved is not None
            and self._clock() - self._first_unsaved >= self.autosave_interval_s
        )

    def maybe_autosave(self) -> bool:
        """Save when the oldest unsaved edit is at least ``autosave_interval_s`` old; True if saved."""
        if self.autosave_due():
            self.save()
            return True
        return False

    def save(self) -> Path:
        """Atomically write the document to :attr:`save_path`; then the journal is no longer needed.

        Saving while recovered edits wait for a decision keeps them.
        """
        if self.read_only:
            raise EditRefused(f"not saved: read-only here: {self.read_only_reason}")
        try:
            atomic_write(self.save_path, self.doc.to_json_bytes())
        except OSError as exc:
            raise DatasetError(f"cannot save {self.save_path}: {exc.strerror or exc}") from None
        self._base = Path(os.path.realpath(self.save_path))
        self._base_identity = file_identity(self._base)
        self.journal.discard()
        self._first_unsaved = None
        if self.recovery_pending:
            self.recovery.decided = "kept"
        return self.save_path

    def close(self) -> None:
        """Save pending edits, remove the journal and release the lock.

        Recovered edits nobody decided on are not saved: their journal stays for the next open.
        """
        try:
            if self.read_only:
                return
            if self.recovery_pending:
                self.journal.close()
            elif self.dirty:
                self.save()
            else:
                self.journal.discard()
        finally:
            self.release()

    def release(self) -> None:
        """Let go of the journal file and the lock without saving (the journal stays if it exists)."""
        self.journal.close()
        if self.lock is not None:
            self.lock.release()


def _journal_note(real: Path) -> str:
    """`` (an edit journal with N unsaved edits, NAME, is kept)`` when the file has one."""
    try:
        contents = read_journal(journal_path_for(real))
    except OSError:
        return ""
    if contents is None:
        return ""
    n = len(contents.ops) + contents.unreadable
    return f" (an edit journal with {n} unsaved edits, {journal_path_for(real).name}, is kept)"
