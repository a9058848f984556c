"""Dataset view: open COCO(-DensePose, +CSI) files or the demo, browse, filter, inspect and annotate.

Loading runs as a job on the view's runner in two steps: parse + index (the grid appears),
then validation and crash recovery (the files become editable); opening other files while
a load runs cancels it and drops what it still reports. A file that fails validation
opens read-only for overwriting: edits go to ``<stem>.edited.json`` and the banner says so.
A file another editor holds (its lock) opens read-only, and the banner names that editor
(user@host, pid, since when); every edit there is refused with that reason. Edits recovered
from a journal wait under a bar (:mod:`app.ui.dataset.recovery_bar`) until the user
keeps or discards them. A malformed file opens nothing and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.backend.annotations import AnnotationSession
from app.backend.annotations.index import DatasetIndex, build_index
from app.backend.data.validate import resolve_path
from app.ui.common.start_folder import start_folder
from app.ui.dataset.annotation_assist import AssistController
from app.ui.dataset.annotation_editor import AnnotationEditor
from app.ui.dataset.annotation_loading import load_datasets, make_thumbnail_cache
from app.ui.dataset.recovery_bar import RecoveryPrompts
from app.widgets.dataset_stats import DatasetStatsPanel
from app.widgets.job_runner import JobRunner, failure_text
from app.widgets.thumbnail_grid import DatasetTableModel, EmptyTextTable, MaskFilterProxy, ThumbnailGrid

HEADERS = ["file", "split", "people", "keypoints", "DensePose", "CSI"]
NO_DATASET = "No dataset is open. Open JSON… opens COCO-DensePose files; Open demo opens the synthetic demo."
NO_MATCH = "No image matches the filters. Widen them (splits, keypoints, DensePose, CSI, people, name) to see images."


def project_dataset_paths(project) -> list[Path]:
    """Dataset JSONs of a project: its ``datasets`` list (a folder = its ``*.json``), else
    DATASETS.JSON_FILES, else the demo's two files."""
    root = Path(getattr(project, "root", "."))
    paths: list[Path] = []
    for entry in getattr(project, "datasets", []) or []:
        p = root / entry
        # a folder (e.g. the demo root) stands for the dataset JSONs in it
        paths += sorted(p.glob("*.json")) if p.is_dir() else [p]
    if paths:
        return paths
    try:
        from app.backend.config import load_config

        cfg = load_config(str(project.config_path))
    except Exception:  # a broken config is the config view's to report
        return []
    paths = [Path(entry.split("=", 1)[-1]) for entry in cfg.DATASETS.JSON_FILES]
    if paths:
        return [p if p.is_absolute() else root / p for p in paths]
    from app.backend.paths import demo_root

    demo = demo_root(cfg.DATASETS.DEMO.ROOT)
    return [demo / "train.json", demo / "val.json"]


TRISTATE = ("any", "yes", "no")


class DatasetView(QWidget):
    """Browse and annotate datasets. Signals: ``message(str)``, ``datasetReady()``, ``loadFailed(str)``."""

    message = Signal(str)
    mtnPreviewRequested = Signal(object, object)  # CSI file path, paired frame path (or None)
    datasetIndexed = Signal()
    datasetReady = Signal()
    loadFailed = Signal(str)

    def __init__(self, parent=None, undo_group: QUndoGroup | None = None, cache_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.index: DatasetIndex | None = None
        self.thumbs = make_thumbnail_cache(cache_dir)
        self.load_job = JobRunner(self, replace=True, name="dataset-load")  # the latest open wins
        self.load_job.partial.connect(self._on_indexed)
        self.load_job.result.connect(self._on_ready)
        self.load_job.failed.connect(self._on_failed)

        icon, sp = self.style().standardIcon, QStyle.StandardPixmap
        self.open_button = QPushButton(icon(sp.SP_DialogOpenButton), "Open JSON…", self)
        self.open_button.setToolTip("open COCO-DensePose dataset files (several at once: one list)")
        self.demo_button = QPushButton(icon(sp.SP_DirHomeIcon), "Open demo", self)
        self.demo_button.setToolTip("open the synthetic demo dataset (made on first use)")
        self.propose_button = QPushButton(icon(sp.SP_MediaPlay), "Propose for selection", self)
        self.propose_button.setToolTip("run a model on the selected images; its people appear dashed in the editor")
        self.mtn_button = QPushButton(icon(sp.SP_FileDialogContentsView), "MTN preview", self)
        self.mtn_button.setToolTip("show what the MTN makes of the selected sample's CSI")
        self.split_filter = QComboBox(self)
        self.split_filter.addItem("all splits", None)
        self.kp_filter, self.dp_filter, self.csi_filter = (QComboBox(self) for _ in range(3))
        for combo, name in ((self.kp_filter, "keypoints"), (self.dp_filter, "DensePose"), (self.csi_filter, "CSI")):
            for state in TRISTATE:
                combo.addItem(f"{name}: {state}", state)
        self.min_people = QSpinBox(self)
        self.min_people.setPrefix("people ≥ ")
        self.max_people = QSpinBox(self)
        self.max_people.setPrefix("people ≤ ")
        self.max_people.setRange(0, 999)
        self.max_people.setValue(999)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("file name contains…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(self.search.fontMetrics().horizontalAdvance(self.search.placeholderText()) + 40)
        self.count_label = QLabel("", self)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #fdecea; color: #611a15; padding: 4px; }")
        self.banner.hide()
        # two rows, so both stay readable in a 1200 px window: what to open and do above the
        # tabs; the filters (they choose what Browse lists and what Next image steps through)
        # on the Browse tab
        bar = QHBoxLayout()
        for w in (self.open_button, self.demo_button, self.propose_button, self.mtn_button):
            bar.addWidget(w)
        bar.addStretch(1)
        self._toolbar = bar
        filters = QHBoxLayout()
        filters.setContentsMargins(0, 0, 0, 0)
        for w in (self.split_filter, self.kp_filter, self.dp_filter, self.csi_filter, self.min_people, self.max_people):
            filters.addWidget(w)
        filters.addWidget(self.search, 1)
        filters.addWidget(self.count_label)

        self.model = DatasetTableModel(self)
        self.proxy = MaskFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.grid = ThumbnailGrid(self)
        self.grid.setModel(self.proxy)
        self.table = EmptyTextTable(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(EmptyTextTable.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.verticalHeader().hide()
        self.stats = DatasetStatsPanel(self)
        self._say_empty(NO_DATASET)
        browse_tabs = QTabWidget(self)
        browse_tabs.addTab(self.grid, "Grid")
        browse_tabs.addTab(self.table, "List")
        browse = QSplitter(Qt.Orientation.Horizontal, self)
        browse.addWidget(browse_tabs)
        browse.addWidget(self.stats)
        browse.setStretchFactor(0, 3)
        browse_page = QWidget(self)
        bl = QVBoxLayout(browse_page)
        bl.setContentsMargins(0, 4, 0, 0)
        bl.addLayout(filters)
        bl.addWidget(browse, 1)
        self.editor = AnnotationEditor(self, undo_group=undo_group)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(browse_page, "Browse")
        self.tabs.addTab(self.editor, "Annotate")
        self.recovery = RecoveryPrompts(self)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.banner)
        lay.addWidget(self.recovery)
        lay.addWidget(self.tabs, 1)

        self.assist = AssistController(self.editor, self)
        self.open_button.clicked.connect(self._ask_open)
        self.demo_button.clicked.connect(lambda: self.open_demo())
        for combo in (self.split_filter, self.kp_filter, self.dp_filter, self.csi_filter):
            combo.currentIndexChanged.connect(self.apply_filters)
        self.min_people.valueChanged.connect(self.apply_filters)
        self.max_people.valueChanged.connect(self.apply_filters)
        self.search.textChanged.connect(self.apply_filters)
        self.grid.rowActivated.connect(self.open_row)
        self.propose_button.clicked.connect(self.propose_selection)
        self.mtn_button.clicked.connect(self.request_mtn_preview)
        self.table.doubleClicked.connect(lambda idx: self.open_row(int(idx.data(Qt.ItemDataRole.UserRole))))
        self.editor.message.connect(self.message)
        self.editor.message.connect(self.recovery.sync)  # a save keeps recovered edits
        self.recovery.message.connect(self.message)
        self.recovery.message.connect(self.editor.update_image_line)  # kept/discarded: the line says saved
        self.recovery.failed.connect(self.show_banner)
        self.recovery.discarded.connect(self._show_discarded)

    # -- main window integration ---------------------------------------------------------
    @property
    def undo_stack(self):
        """The undo stack of the file being edited (the main window makes it the active one)."""
        return self.editor.stack

    def add_tool(self, widget: QWidget) -> None:
        """Append a widget to the toolbar (the main window adds the Capture menu of app.ui.capture)."""
        self._toolbar.insertWidget(self._toolbar.count() - 1, widget)  # before the stretch

    def set_undo_group(self, group: QUndoGroup) -> None:
        """Join the main window's QUndoGroup (its Edit menu then owns Ctrl+Z / Ctrl+Shift+Z)."""
        self.editor.set_undo_group(group)

    def set_project(self, project) -> None:
        """Remember the project's dataset files; they open when the view is first shown."""
        self._project_paths = project_dataset_paths(project)
        self._project_opened = False
        if self.isVisible():
            self._open_project_datasets()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if getattr(self, "_project_paths", None) and not self._project_opened:
            self._open_project_datasets()

    def hideEvent(self, event) -> None:
        # leaving the view writes pending edits at once (autosave waits 5 s): the other views
        # read the dataset files, and Inference must show the ground truth just edited;
        # recovered edits waiting for Keep/Discard stay undecided
        self.editor.save_pending()
        super().hideEvent(event)

    def _open_project_datasets(self) -> None:
        self._project_opened = True
        missing = [p for p in self._project_paths if not p.exists()]
        if missing:
            self.show_banner(f"dataset file not found: {missing[0]} (use Open demo or Open JSON…)")
            return
        self.open_paths(self._project_paths)

    # -- opening ------------------------------------------------------------------------
    def _ask_open(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open dataset JSON", start_folder("dataset"), "COCO JSON (*.json)")
        if files:
            self.open_paths([Path(f) for f in files])

    def open_demo(self, root: Path | None = None) -> None:
        """Open ``<root>/train.json`` and ``val.json`` (the demo is generated first when missing)."""
        from app.backend.paths import default_demo_root

        root = Path(root) if root is not None else default_demo_root()
        self.open_paths([root / "train.json", root / "val.json"], demo_root=root)

    def open_paths(self, paths: list[Path], demo_root: Path | None = None) -> None:
        """Load dataset files on the worker thread (previous sessions are saved and closed first)."""
        self.shutdown_sessions()
        self.banner.hide()
        self.message.emit("opening " + ", ".join(p.name for p in paths) + "…")
        self._say_empty("Opening " + ", ".join(p.name for p in paths) + "…")
        self.load_job.start(load_datasets, [Path(p) for p in paths], demo_root)

    def _say_empty(self, text: str) -> None:
        """What the grid and the list say while they list nothing."""
        self.grid.set_empty_text(text)
        self.table.set_empty_text(text)

    def _on_failed(self, message: str, details: str) -> None:
        self._say_empty(NO_DATASET if self.index is None else NO_MATCH)
        text = failure_text("error: could not open the dataset", message, details)
        self.show_banner(text)
        self.loadFailed.emit(text)

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if text:
            self.message.emit(text.splitlines()[0])

    def _on_indexed(self, index: DatasetIndex) -> None:
        self._set_index(index)
        self.datasetIndexed.emit()

    def _on_ready(self, loaded: tuple) -> None:
        index, sessions, notes = loaded
        if index is not self.index:
            self._set_index(index)
        for session in sessions:
            self.editor.add_session(session)
            if session.recovery_pending:
                self.recovery.ask(session)
        self.show_banner("\n".join(notes))
        self.datasetReady.emit()

    def _show_discarded(self, session: AnnotationSession) -> None:
        """Recovered edits were discarded: the file's undo history and the index follow the reloaded document."""
        self.editor.stacks[session.source.resolve()].clear()
        self._set_index(build_index([s.doc for s in self.editor.sessions.values()]))
        if self.editor.session is session and session.doc.has_image(self.editor.image_id):
            self.editor.show_image(self.editor.image_id)

    def _set_index(self, index: DatasetIndex) -> None:
        self.index = index
        roots = [d.root for d in index.docs]
        splits = index.split_names
        names, doc_of, wh = index.file_names, index.doc_of, np.stack([index.width, index.height], 1)
        thumbs = self.thumbs

        def load(row: int):
            path = resolve_path(roots[doc_of[row]], names[row])
            return None if path is None else thumbs.get(path, (int(wh[row, 0]), int(wh[row, 1])))

        split_col = [splits[d] for d in doc_of.tolist()]
        self.model.set_table(
            HEADERS, [names, split_col, index.num_people.tolist(), index.has_kp, index.has_dp, index.has_csi], load
        )
        self.split_filter.blockSignals(True)
        while self.split_filter.count() > 1:
            self.split_filter.removeItem(1)
        for n, name in enumerate(splits):
            self.split_filter.addItem(name, n)
        self.split_filter.blockSignals(False)
        self.stats.set_stats(index.stats())
        self.apply_filters()

    # -- filtering ----------------------------------------------------------------------
    def current_mask(self) -> np.ndarray:
        def tri(combo: QComboBox) -> bool | None:
            state = combo.currentData()
            return None if state == "any" else state == "yes"

        return self.index.filter_mask(
            split=self.split_filter.currentData(),
            has_kp=tri(self.kp_filter),
            has_dp=tri(self.dp_filter),
            has_csi=tri(self.csi_filter),
            min_people=self.min_people.value(),
            max_people=self.max_people.value(),
            name_contains=self.search.text().strip(),
        )

    def apply_filters(self) -> None:
        if self.index is None:
            return
        mask = self.current_mask()
        self.proxy.set_mask(mask)
        self.count_label.setText(f"{int(mask.sum())} / {len(mask)} images")
        self._say_empty(NO_MATCH if len(mask) else "The dataset has no images.")
        rows = np.flatnonzero(mask)
        paths = [d.path for d in self.index.docs]
        doc_of, ids = self.index.doc_of[rows].tolist(), self.index.image_ids[rows].tolist()
        self.editor.set_navigation([(paths[d], i) for d, i in zip(doc_of, ids)])

    # -- annotate -----------------------------------------------------------------------
    def open_row(self, row: int) -> None:
        """Show source row ``row`` in the annotation editor (once the files are editable)."""
        if self.index is None:
            return
        doc = self.index.docs[self.index.doc_of[row]]
        if doc.path.resolve() not in self.editor.sessions:
            self.message.emit("still checking the dataset; the editor opens when it is ready")
            return
        self.editor.show_image(self.index.image_ids[row].item(), doc.path)
        self.tabs.setCurrentWidget(self.editor)

    def selected_rows(self) -> list[int]:
        return self.grid.selected_rows()

    def _row_image(self, row: int) -> tuple:
        doc = self.index.docs[self.index.doc_of[row]]
        return doc, doc.image(self.index.image_ids[row].item())

    def propose_selection(self) -> None:
        """Model proposals for the selected images (the editor shows them when each is opened)."""
        rows = self.selected_rows()
        if self.index is None or not rows:
            self.message.emit("select images in the grid first")
            return
        if not self.assist.config_file and not self.assist.ask_model():
            return
        items = [(self.index.docs[self.index.doc_of[r]].path, self.index.image_ids[r].item()) for r in rows]
        self.assist.propose([it for it in items if it[0].resolve() in self.editor.sessions])

    def request_mtn_preview(self) -> None:
        """Ask for the MTN preview of the selected (or edited) sample: emits mtnPreviewRequested."""
        if self.index is None:
            return
        rows = self.selected_rows()
        if rows:
            doc, img = self._row_image(rows[0])
        elif self.editor.session is not None:
            doc, img = self.editor.session.doc, self.editor.session.doc.image(self.editor.image_id)
        else:
            return
        csi = doc.resolve(img, "csi_file")
        if csi is None:
            self.message.emit(f"{img.get('file_name')}: no CSI file for this sample")
            return
        self.mtnPreviewRequested.emit(csi, doc.resolve(img))

    # -- shutdown -----------------------------------------------------------------------
    def shutdown_sessions(self) -> None:
        self.editor.close_sessions()
        self.recovery.clear()
        self.editor.sessions.clear()
        self.editor.stacks.clear()
        self.editor.session = self.editor.stack = None
        self.editor.autosave_timer.start()

    def shutdown(self) -> None:
        """Stop workers, save pending edits (call from the main window's closeEvent)."""
        self.assist.shutdown()
        self.model.shutdown()
        self.load_job.shutdown()
        self.editor.close_sessions()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)
