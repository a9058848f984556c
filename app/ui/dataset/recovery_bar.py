"""The question a crash leaves: keep or discard the edits recovered from a file's journal.

One bar per file whose session has :attr:`~app.backend.annotations.AnnotationSession.recovery_pending`,
shown above the Dataset view's tabs until the user answers (or saves, which keeps them). Until
then nothing is autosaved and the journal stays on disk, so closing the app asks again next time.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from app.backend.annotations import AnnotationSession


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
