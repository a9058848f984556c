"""Side panel of the annotation editor: people, then one tab each for keypoints, DensePose and proposals.

Pure layout: it exposes its widgets and buttons; :class:`app.ui.dataset.annotation_editor.AnnotationEditor`
connects them to edits and shows the tab of the current mode. The tabs keep the panel readable
in a 1200x760 window (the UV chart gets the panel's height instead of a quarter of it).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.backend.data.demo_body import CHART_AXES, chart_figures
from app.backend.structures.body import KEYPOINT_NAMES
from app.widgets.uv_chart import UvChart

VISIBILITY_TEXT = {0: "not labelled", 1: "hidden", 2: "visible"}
TABS = ("keypoints", "densepose", "proposals")


class AnnotationPanel(QWidget):
    """People list + buttons over three tabs: keypoints with visibility, DensePose (UV chart), proposals."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        icon = self.style().standardIcon
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)

        people_box = QGroupBox("People", self)
        pl = QVBoxLayout(people_box)
        self.people = QListWidget(people_box)
        self.people.setMaximumHeight(90)
        pl.addWidget(self.people)
        row = QHBoxLayout()
        self.add_person = QPushButton("Add", people_box)
        self.add_person.setToolTip("draw a new person's box (B)")
        self.duplicate_person = QPushButton("Duplicate", people_box)
        self.duplicate_person.setToolTip("copy the selected person (Ctrl+D)")
        self.delete_person = QPushButton(icon(QStyle.StandardPixmap.SP_TrashIcon), "Delete", people_box)
        self.delete_person.setToolTip("delete the selected person (Shift+Del)")
        for b in (self.add_person, self.duplicate_person, self.delete_person):
            row.addWidget(b)
        pl.addLayout(row)
        lay.addWidget(people_box)

        self.tabs = QTabWidget(self)
        kp_tab = QWidget(self.tabs)
        kl = QVBoxLayout(kp_tab)
        self.keypoints = QListWidget(kp_tab)
        self.keypoints.setToolTip("the keypoint that a click places in Keypoints mode (K); ] / [ step")
        for name in KEYPOINT_NAMES:
            self.keypoints.addItem(name)
        kl.addWidget(self.keypoints, 1)
        vis_row = QHBoxLayout()
        self.visibility = QButtonGroup(kp_tab)
        for v in (0, 1, 2):
            b = QPushButton(f"{v}: {VISIBILITY_TEXT[v]}", kp_tab)
            b.setCheckable(True)
            b.setToolTip(f"visibility of the current keypoint: {VISIBILITY_TEXT[v]} (key {v})")
            self.visibility.addButton(b, v)
            vis_row.addWidget(b)
        kl.addLayout(vis_row)
        self.tabs.addTab(kp_tab, "Keypoints")

        dp_tab = QWidget(self.tabs)
        dl = QVBoxLayout(dp_tab)
        self.uv_chart = UvChart(dp_tab)
        self.uv_chart.set_body_views(chart_figures(240))
        self.uv_chart.set_axes_text(CHART_AXES)
        self.uv_chart.setToolTip(
            "The picture shows the demo body model's charts: U runs along the part, V across it. "
            "Datasets annotated on the SMPL atlas (COCO-DensePose) lay U and V out their own way."
        )
        dl.addWidget(self.uv_chart, 1)
        dp_row = QHBoxLayout()
        self.dp_info = QLabel("Select a person to see their DensePose points.", dp_tab)
        self.dp_info.setWordWrap(True)
        self.delete_dp = QPushButton(icon(QStyle.StandardPixmap.SP_TrashIcon), "Delete point", dp_tab)
        self.delete_dp.setToolTip("delete the selected DensePose point (Del)")
        dp_row.addWidget(self.dp_info, 1)
        dp_row.addWidget(self.delete_dp)
        dl.addLayout(dp_row)
        self.tabs.addTab(dp_tab, "DensePose")

        prop_tab = QWidget(self.tabs)
        pr = QVBoxLayout(prop_tab)
        self.proposal_info = QLabel("none", prop_tab)
        self.proposal_info.setWordWrap(True)
        pr.addWidget(self.proposal_info)
        prow = QHBoxLayout()
        self.run_model = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPlay), "Propose…", prop_tab)
        self.run_model.setToolTip("run a model on this image; its people appear dashed until accepted")
        self.accept = QPushButton(icon(QStyle.StandardPixmap.SP_DialogApplyButton), "Accept", prop_tab)
        self.accept.setToolTip("accept the selected proposal (Y)")
        self.accept_all = QPushButton("Accept all", prop_tab)
        self.reject = QPushButton(icon(QStyle.StandardPixmap.SP_DialogCancelButton), "Reject", prop_tab)
        self.reject.setToolTip("reject the selected proposal (X)")
        for b in (self.run_model, self.accept, self.accept_all, self.reject):
            prow.addWidget(b)
        pr.addLayout(prow)
        pr.addStretch(1)
        self.tabs.addTab(prop_tab, "Proposals")
        lay.addWidget(self.tabs, 1)

    def show_tab(self, name: str) -> None:
        """Bring ``"keypoints"``, ``"densepose"`` or ``"proposals"`` to the front."""
        self.tabs.setCurrentIndex(TABS.index(name))

    def set_proposal_count(self, n: int) -> None:
        self.proposal_info.setText(f"{n} proposal{'' if n == 1 else 's'}: Y accepts the selected one, X rejects it"
                                   if n else "No proposals for this image. Propose… runs a model on it.")
        self.tabs.setTabText(TABS.index("proposals"), f"Proposals ({n})" if n else "Proposals")

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
