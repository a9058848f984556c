"""Statistics panel of a dataset: counts, per-keypoint visibility, box size histogram.

Takes a plain dict (see :meth:`app.backend.annotations.index.DatasetIndex.stats`):
``images``, ``people``, ``with_keypoints``, ``with_densepose``, ``with_csi`` (ints),
``per_split`` (name -> int), ``kp_visibility`` int (17, 3), ``box_wh`` float (M, 2) pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.backend.structures.body import KEYPOINT_NAMES


class DatasetStatsPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.summary = QLabel("No dataset open: open a project to see how many images, people and labels it has.", self)
        self.summary.setWordWrap(True)
        self.visibility = QTableWidget(len(KEYPOINT_NAMES), 3, self)
        self.visibility.setHorizontalHeaderLabels(["v=0", "v=1", "v=2"])
        self.visibility.setVerticalHeaderLabels(list(KEYPOINT_NAMES))
        self.visibility.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for header in (self.visibility.horizontalHeader(), self.visibility.verticalHeader()):
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # all three columns fit
        self.hist = pg.PlotWidget(self)
        self.hist.setLabel("bottom", "box size sqrt(w*h) [px]")
        self.hist.setLabel("left", "people")
        self.hist.setMinimumHeight(140)
        self._bars = pg.BarGraphItem(x=[0], height=[0], width=1.0, brush=(80, 160, 255))
        self.hist.addItem(self._bars)
        #: shown instead of the histogram (an empty plot had 0..1 axes and "people (x0.001)")
        self.hist_empty = QLabel("No boxes yet: the box size histogram appears once people are annotated.", self)
        self.hist_empty.setWordWrap(True)
        self.hist.hide()
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(QLabel("Keypoint visibility (people per value)", self))
        lay.addWidget(self.visibility, 2)
        lay.addWidget(self.hist, 1)
        lay.addWidget(self.hist_empty)

    def set_stats(self, stats: dict[str, Any]) -> None:
        splits = ", ".join(f"{k}: {v}" for k, v in stats.get("per_split", {}).items())
        self.summary.setText(
            f"{stats['images']} images ({splits}); {stats['people']} people; "
            f"{stats['with_keypoints']} images with keypoints, {stats['with_densepose']} with DensePose, "
            f"{stats['with_csi']} with CSI"
        )
        vis = np.asarray(stats["kp_visibility"]).reshape(len(KEYPOINT_NAMES), 3)
        for k in range(len(KEYPOINT_NAMES)):
            for v in range(3):
                self.visibility.setItem(k, v, QTableWidgetItem(str(int(vis[k, v]))))
        wh = np.asarray(stats["box_wh"], np.float64).reshape(-1, 2)
        size = np.sqrt(np.clip(wh[:, 0] * wh[:, 1], 0, None))
        if len(size):
            counts, edges = np.histogram(size, bins=min(30, max(5, len(size) // 5)))
            self._bars.setOpts(x=(edges[:-1] + edges[1:]) / 2, height=counts, width=float(edges[1] - edges[0]) * 0.9)
        else:
            self._bars.setOpts(x=[0], height=[0], width=1.0)
        self.hist.setVisible(bool(len(size)))
        self.hist_empty.setVisible(not len(size))
