"""QUndoCommand wrapper: every annotation edit is one journaled operation on a session."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from app.backend.annotations.ops import Op, inverse
from app.backend.annotations.session import AnnotationSession


class EditCommand(QUndoCommand):
    """Apply ``op`` on redo and its inverse on undo; both go through the session (journal + autosave).

    The caller applies ``op`` before pushing (so a failure never leaves an unapplied command
    on the stack); the first ``redo`` that ``QUndoStack.push`` runs only refreshes views.
    Errors during later undo/redo (exceptions cannot cross Qt's virtual calls) go to ``on_error``.

    Args:
        session: the session owning the document.
        op: the operation (see :mod:`app.backend.annotations.ops`), already applied.
        on_applied: called with the operation actually applied (op or its inverse), to refresh views.
        on_error: called with the message of an undo/redo that failed.
    """

    def __init__(
        self,
        session: AnnotationSession,
        op: Op,
        on_applied: Callable[[Op], None],
        on_error: Callable[[str], None],
        text: str = "",
    ) -> None:
        super().__init__(text or op.get("label") or op["op"])
        self.session = session
        self.op = op
        self._on_applied = on_applied
        self._on_error = on_error
        self._applied = True

    def _run(self, op: Op) -> None:
        try:
            self.session.apply(op)
        except Exception as exc:
            self.setObsolete(True)
            self._on_error(f"{self.text()} failed: {exc}")
            return
        self._on_applied(op)

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            self._on_applied(self.op)
            return
        self._run(self.op)

    def undo(self) -> None:
        self._run(inverse(self.op))
