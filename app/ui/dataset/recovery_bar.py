"""The question a crash leaves: keep or discard the edits recovered from a file's journal.

One bar per file whose session has :attr:`~app.backend.annotations.AnnotationSession.recovery_pending`,
shown by :class:`RecoveryPrompts` above the Dataset view's tabs until the user answers (or saves,
which keeps them). Until
then nothing is autosaved and the journal stays on disk, so closing the app asks again next time.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.backend.annotations import AnnotationSession
from app.backend.errors import UserFacingError


class RecoveryBar(QFrame):
    """"train.json: recovered 6 unsaved edits ... [Keep them] [Discard them]".

    Signals: ``keep(session)``, ``discard(session)`` (the view carries them out).
    """

    keep = Signal(object)
    discard = Signal(object)

    def __init__(self, session: AnnotationSession, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("recoveryBar")
        self.setStyleSheet("#recoveryBar { background: #e7f1ff; border: 1px solid #9ec5fe; }")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        report = session.recovery
        where = "" if session.writable else f" (saved to {session.save_path.name})"
        self.label.setText(f"{session.source.name}: {report.summary()}. Keep them{where} or discard them? "
                           "Until you choose, nothing is saved and the journal is kept.")
        self.keep_button = QPushButton("Keep them", self)
        self.discard_button = QPushButton("Discard them", self)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 3, 6, 3)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.keep_button)
        lay.addWidget(self.discard_button)
        self.keep_button.clicked.connect(lambda: self.keep.emit(self.session))
        self.discard_button.clicked.connect(lambda: self.discard.emit(self.session))


class RecoveryPrompts(QWidget):
    """The view's recovery bars: asks per session, carries out the answer, drops answered bars.

    Signals: ``message(str)`` (status line), ``failed(str)`` (for the banner),
    ``discarded(session)`` (the session's document was reloaded: the view shows it again).
    """

    message = Signal(str)
    failed = Signal(str)
    discarded = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.bars: list[RecoveryBar] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def ask(self, session: AnnotationSession) -> None:
        """Show a bar for ``session`` (call when its ``recovery_pending`` is True)."""
        bar = RecoveryBar(session, self)
        bar.keep.connect(self.keep)
        bar.discard.connect(self.discard)
        self.bars.append(bar)
        self._layout.addWidget(bar)
        bar.show()

    def keep(self, session: AnnotationSession) -> None:
        """Save the recovered edits (beside the file when it failed validation)."""
        try:
            path = session.keep_recovered()
        except UserFacingError as exc:
            self.failed.emit(f"recovered edits not saved: {exc}")
            return
        self.message.emit(f"recovered edits kept: saved {path}")
        self.sync()

    def discard(self, session: AnnotationSession) -> None:
        """Go back to the file as saved (the journal is moved aside)."""
        try:
            session.discard_recovered()
        except UserFacingError as exc:
            self.failed.emit(f"recovered edits not discarded: {exc}")
            return
        self.discarded.emit(session)
        self.message.emit(f"{session.source.name}: recovered edits discarded")
        self.sync()

    def sync(self, *_: object) -> None:
        """Drop the bars whose question has been answered (a save answers it too)."""
        for bar in [b for b in self.bars if not b.session.recovery_pending]:
            self._drop(bar)

    def clear(self) -> None:
        for bar in list(self.bars):
            self._drop(bar)

    def _drop(self, bar: RecoveryBar) -> None:
        self.bars.remove(bar)
        self._layout.removeWidget(bar)
        bar.deleteLater()
