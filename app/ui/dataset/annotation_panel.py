"""Side panel of the annotation editor: people, keypoints with visibility, DensePose chart, proposals.

Pure layout: it exposes its widgets and buttons; :class:`app.ui.dataset.annotation_editor.AnnotationEditor`
connects them to edits.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.backend.structures.body import KEYPOINT_NAMES
from app.widgets.uv_chart import UvChart

VISIBILITY_TEXT = {0: "not labelled", 1: "hidden", 2: "visible"}


class AnnotationPanel(QWidget):
    """People list + buttons, keypoint list + visibility buttons, UV chart, proposal buttons."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)

        people_box = QGroupBox("People", self)
        pl = QVBoxLayout(people_box)
        self.people = QListWidget(people_box)
        self.people.setMaximumHeight(110)
        pl.addWidget(self.people)
        row = QHBoxLayout()
        self.add_person = QPushButton("Add (B)", people_box)
        self.duplicate_person = QPushButton("Duplicate", people_box)
        self.delete_person = QPushButton("Delete", people_box)
        for b in (self.add_person, self.duplicate_person, self.delete_person):
            row.addWidget(b)
        pl.addLayout(row)
        lay.addWidget(people_box)

        kp_box = QGroupBox("Keypoints", self)
        kl = QVBoxLayout(kp_box)
        self.keypoints = QListWidget(kp_box)
        for name in KEYPOINT_NAMES:
            self.keypoints.addItem(name)
        kl.addWidget(self.keypoints, 1)
        vis_row = QHBoxLayout()
        self.visibility = QButtonGroup(kp_box)
        for v in (0, 1, 2):
            b = QPushButton(f"{v}: {VISIBILITY_TEXT[v]}", kp_box)
            b.setCheckable(True)
            self.visibility.addButton(b, v)
            vis_row.addWidget(b)
        kl.addLayout(vis_row)
        lay.addWidget(kp_box, 1)

        dp_box = QGroupBox("DensePose point", self)
        dl = QVBoxLayout(dp_box)
        self.uv_chart = UvChart(dp_box)
        dl.addWidget(self.uv_chart, 1)
        dp_row = QHBoxLayout()
        self.dp_info = QLabel("no point selected", dp_box)
        self.delete_dp = QPushButton("Delete point", dp_box)
        dp_row.addWidget(self.dp_info, 1)
        dp_row.addWidget(self.delete_dp)
        dl.addLayout(dp_row)
        lay.addWidget(dp_box, 1)

        prop_box = QGroupBox("Model proposals", self)
        pr = QVBoxLayout(prop_box)
        self.proposal_info = QLabel("none", prop_box)
        pr.addWidget(self.proposal_info)
        prow = QHBoxLayout()
        self.run_model = QPushButton("Propose…", prop_box)
        self.accept = QPushButton("Accept (Y)", prop_box)
        self.accept_all = QPushButton("Accept all", prop_box)
        self.reject = QPushButton("Reject (X)", prop_box)
        for b in (self.run_model, self.accept, self.accept_all, self.reject):
            prow.addWidget(b)
        pr.addLayout(prow)
        lay.addWidget(prop_box)

    def show_keypoints(self, keypoints: list[float] | None, current: int) -> None:
        """Refresh the 17 rows as ``name [v]`` and check the current keypoint's visibility button."""
        for k, name in enumerate(KEYPOINT_NAMES):
            v = 0 if keypoints is None else int(keypoints[3 * k + 2])
            self.keypoints.item(k).setText(f"{name}  [{v}]")
        self.keypoints.blockSignals(True)
        self.keypoints.setCurrentRow(current)
        self.keypoints.blockSignals(False)
        v = 0 if keypoints is None else int(keypoints[3 * current + 2])
        self.visibility.blockSignals(True)
        self.visibility.button(v).setChecked(True)
        self.visibility.blockSignals(False)
