"""Annotation editor: the canvas, the side panel and one QUndoStack per open dataset file.

Every edit becomes an :class:`~app.ui.dataset.annotation_commands.EditCommand` on the session's
QUndoStack (which joins the main window's QUndoGroup when one is given); the command
applies a journaled operation to the :class:`~app.backend.annotations.AnnotationSession`,
so each edit is durable at once. A 1 s timer asks every session to autosave (it writes
when the oldest unsaved edit is ``AUTOSAVE_INTERVAL_S`` = 5 s old).

Shortcuts: E edit, B new box/person, K place keypoints, P DensePose points, ] / [ next /
previous keypoint, 0 / 1 / 2 visibility of the current keypoint, D or PgDown next image,
A or PgUp previous image, Del delete the selected DensePose point (Shift+Del the person),
Ctrl+D duplicate the person, Y / X accept / reject the selected proposal, F fit,
Ctrl+Shift+S save now, Ctrl+Z / Ctrl+Shift+Z undo / redo (the main window's Edit menu
when the editor is embedded in it).

The line under the toolbar names the open image, its place in the browsed list ("3 of 22") and
whether every edit is saved; the toolbar's "Points follow box" toggle (on by default) says
whether a box edit moves the person's DensePose points with the box or leaves them where they
are on the image.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoGroup, QUndoStack
from PySide6.QtWidgets import QLabel, QSplitter, QStyle, QVBoxLayout, QWidget

from app.backend.annotations import AnnotationSession, DensePosePoint, Person, insert_op, remove_op, replace_op
from app.backend.annotations.ops import Op, OpConflictError
from app.backend.capture.pseudo_label import accept_pseudo_label, is_pseudo
from app.backend.errors import UserFacingError
from app.backend.structures.body import KEYPOINT_NAMES, NUM_KEYPOINTS
from app.ui.dataset.annotation_commands import EditCommand
from app.ui.dataset.annotation_panel import AnnotationPanel
from app.ui.dataset.annotation_toolbar import EditorToolbar, ImageLine, position_text
from app.widgets.annotation_canvas import AnnotationCanvas, CanvasPerson


def to_canvas_person(p: Person, proposal: bool = False, label: str = "") -> CanvasPerson:
    """Person (COCO dict semantics) -> what the canvas draws (absolute pixels)."""
    kps = None if p.keypoints is None else np.asarray(p.keypoints, np.float64).reshape(NUM_KEYPOINTS, 3)
    dp = p.dp or []
    xy = np.array([p.dp_to_abs(q) for q in dp], np.float64).reshape(-1, 2)
    return CanvasPerson(tuple(p.bbox), kps, xy, np.array([q.i for q in dp], np.int64), proposal, label)


def read_rgb(path: Path | None) -> np.ndarray | None:
    """RGB uint8 (H, W, 3) of an image file, or None when missing/unreadable."""
    if path is None or not path.is_file():
        return None
    img = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class AnnotationEditor(QWidget):
    """Edit the people of one image at a time across one or more open sessions."""

    message = Signal(str)  # one-line status for the main window
    imageShown = Signal(object)  # image id
    proposeRequested = Signal()  # the user asked for model proposals on the current image

    def __init__(self, parent=None, undo_group: QUndoGroup | None = None, autosave_tick_ms: int = 1000) -> None:
        super().__init__(parent)
        self.undo_group = undo_group
        self.canvas = AnnotationCanvas(self)
        self.panel = AnnotationPanel(self)
        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("QLabel { background: #fff3cd; color: #533f03; padding: 4px; }")
        self.banner.hide()
        self.toolbar = EditorToolbar(self)
        self.image_line = ImageLine(self)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.canvas)
        split.addWidget(self.panel)
        split.setStretchFactor(0, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.image_line)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)

        self.sessions: dict[Path, AnnotationSession] = {}
        self.stacks: dict[Path, QUndoStack] = {}
        self.session: AnnotationSession | None = None
        self.stack: QUndoStack | None = None
        self.image_id = None
        self.navigation: list[tuple[Path, object]] = []
        self.proposals: dict[tuple[Path, object], list[Person]] = {}
        self.proposal_index = 0
        self._position = ""  # "3 of 22" of the shown image
        self._build_actions()
        self.set_mode("edit")  # the mode the canvas starts in, checked on the toolbar
        self._connect()
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_tick_ms)
        self.autosave_timer.timeout.connect(self.autosave_tick)
        self.autosave_timer.start()

    # -- setup --------------------------------------------------------------------------
    def _action(self, text: str, keys, slot, toolbar: bool = True, icon=None, tip: str = "") -> QAction:
        return self.toolbar.add(text, keys, slot, icon=icon, tip=tip, button=toolbar)

    def _build_actions(self) -> None:
        sp = QStyle.StandardPixmap
        for text, key, mode, tip in (
            ("Edit", "E", "edit", "select and drag keypoints, DensePose points and boxes"),
            ("Box", "B", "box", "drag out a box: a new person"),
            ("Keypoints", "K", "keypoint", "click to place the current keypoint of the selected person"),
            ("DensePose", "P", "dp", "click inside the selected person's box to add a DensePose point"),
        ):
            act = self._action(text, key, lambda _=False, m=mode: self.set_mode(m), tip=tip)
            act.setCheckable(True)
            act.setData(mode)
        self.toolbar.addSeparator()
        self._action("Prev image", ["A", "PgUp"], self.prev_image, icon=sp.SP_MediaSkipBackward)
        self._action("Next image", ["D", "PgDown"], self.next_image, icon=sp.SP_MediaSkipForward)
        self._action("Prev keypoint", "[", lambda: self.step_keypoint(-1), toolbar=False)
        self._action("Next keypoint", "]", lambda: self.step_keypoint(1), toolbar=False)
        for v in (0, 1, 2):
            self._action(f"Visibility {v}", str(v), lambda _=False, v=v: self.set_visibility(v), toolbar=False)
        self._action("Delete point", "Del", self.delete_dp_point, toolbar=False)
        self._action("Delete person", "Shift+Del", self.delete_person, toolbar=False)
        self._action("Duplicate person", "Ctrl+D", self.duplicate_person, toolbar=False)
        self._action("Accept proposal", "Y", self.accept_proposal, toolbar=False)
        self._action("Reject proposal", "X", self.reject_proposal, toolbar=False)
        self._action("Accept pseudo labels", "Shift+Y", self.accept_pseudo_labels, toolbar=False)
        self.toolbar.addSeparator()
        self._action("Fit", "F", self.canvas.fit, icon=sp.SP_TitleBarMaxButton, tip="fit the image to the view")
        self._action("Save", "Ctrl+Shift+S", self.save, icon=sp.SP_DialogSaveButton,
                     tip="save now (edits are journaled at once and saved 5 s after the first unsaved one)")
        self.undo_action = self._action("Undo", QKeySequence.StandardKey.Undo, self.undo, icon=sp.SP_ArrowBack)
        self.redo_action = self._action("Redo", QKeySequence.StandardKey.Redo, self.redo, icon=sp.SP_ArrowForward)
        self.toolbar.finish()
        self.toolbar.follow_box.toggled.connect(self._on_follow_box)

    def _connect(self) -> None:
        c, p = self.canvas, self.panel
        c.keypointMoved.connect(self._on_keypoint_moved)
        c.keypointPlaced.connect(self._on_keypoint_placed)
        c.boxEdited.connect(self._on_box_edited)
        c.boxDrawn.connect(self._on_box_drawn)
        c.dpPointAdded.connect(self._on_dp_added)
        c.dpPointMoved.connect(self._on_dp_moved)
        c.dpPointSelected.connect(self._on_dp_selected)
        c.personSelected.connect(self._on_person_selected)
        c.proposalClicked.connect(self._on_proposal_clicked)
        p.people.currentRowChanged.connect(self._on_person_row)
        p.keypoints.currentRowChanged.connect(self._on_keypoint_row)
        p.visibility.idClicked.connect(self.set_visibility)
        p.add_person.clicked.connect(lambda: self.set_mode("box"))
        p.duplicate_person.clicked.connect(self.duplicate_person)
        p.delete_person.clicked.connect(self.delete_person)
        p.delete_dp.clicked.connect(self.delete_dp_point)
        p.uv_chart.partChanged.connect(self._on_chart_part)
        p.uv_chart.uvChanged.connect(self._on_chart_uv)
        p.uv_chart.pointPicked.connect(self._on_chart_point)
        p.run_model.clicked.connect(self.proposeRequested)
        p.accept.clicked.connect(self.accept_proposal)
        p.accept_all.clicked.connect(self.accept_all_proposals)
        p.reject.clicked.connect(self.reject_proposal)

    def set_undo_group(self, group: QUndoGroup) -> None:
        """Join a window-wide QUndoGroup; its actions then own the undo/redo shortcuts."""
        self.undo_group = group
        for stack in self.stacks.values():
            group.addStack(stack)
        if self.stack is not None:
            group.setActiveStack(self.stack)
        self.undo_action.setShortcuts([])
        self.redo_action.setShortcuts([])

    # -- sessions and navigation --------------------------------------------------------
    def add_session(self, session: AnnotationSession) -> None:
        """Take over an open session (its notes, e.g. recovered edits, are shown in the banner)."""
        key = session.source.resolve()
        self.sessions[key] = session
        stack = QUndoStack(self)
        self.stacks[key] = stack
        if self.undo_group is not None:
            self.undo_group.addStack(stack)
        if session.notes or session.problems:
            # several files open: each line names its file (the banner outlives the image shown)
            self.show_banner("\n".join(f"{session.source.name}: {t}" for t in session.notes + session.problems[:5]))

    def show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        if text:
            self.message.emit(text.splitlines()[0])

    def set_navigation(self, items: list[tuple[Path, object]]) -> None:
        """Order of (session source path, image id) for next/previous image."""
        resolved: dict = {}
        self.navigation = [(resolved.get(p) or resolved.setdefault(p, Path(p).resolve()), i) for p, i in items]
        self._position = self._position_text()
        self.update_image_line()

    def show_image(self, image_id, source: Path | None = None) -> None:
        """Show one image of the session ``source`` (default: the current session)."""
        if source is not None:
            key = Path(source).resolve()
            self.session, self.stack = self.sessions[key], self.stacks[key]
            if self.undo_group is not None:
                self.undo_group.setActiveStack(self.stack)
        if self.session is None:
            return
        self.image_id = image_id
        img = self.session.doc.image(image_id)
        rgb = read_rgb(self.session.doc.resolve(img))
        if rgb is None:
            rgb = np.full((int(img.get("height") or 240), int(img.get("width") or 320), 3), 64, np.uint8)
            self.show_banner(f"image file not found: {img.get('file_name')} (annotations can still be edited)")
        self.canvas.set_image(rgb)
        self.canvas.set_selection(0 if self.session.doc.anns(image_id) else -1, 0, -1)
        self.proposal_index = 0
        self._position = self._position_text()
        self.refresh()
        self.imageShown.emit(image_id)

    def _step_image(self, step: int) -> None:
        if self.session is None or not self.navigation:
            return
        here = (self.session.source.resolve(), self.image_id)
        n = self.navigation.index(here) if here in self.navigation else -1
        n = min(max(n + step, 0), len(self.navigation) - 1)
        path, image_id = self.navigation[n]
        self.show_image(image_id, path)

    def next_image(self) -> None:
        self._step_image(1)

    def prev_image(self) -> None:
        self._step_image(-1)

    # -- view refresh -------------------------------------------------------------------
    def people(self) -> list[Person]:
        return [] if self.session is None else self.session.doc.people(self.image_id)

    def current_proposals(self) -> list[Person]:
        if self.session is None:
            return []
        return self.proposals.get((self.session.source.resolve(), self.image_id), [])

    def refresh(self) -> None:
        people = self.people()
        props = self.current_proposals()
        self.canvas.set_people(
            [
                to_canvas_person(p, is_pseudo(p.extra), f"#{n + 1}" + (" pseudo" if is_pseudo(p.extra) else ""))
                for n, p in enumerate(people)
            ],
            [to_canvas_person(p, proposal=True, label=f"proposal {n + 1}") for n, p in enumerate(props)],
        )
        lst = self.panel.people
        lst.blockSignals(True)
        lst.clear()
        for n, p in enumerate(people):
            nkp = 0 if p.keypoints is None else sum(1 for k in range(NUM_KEYPOINTS) if p.keypoints[3 * k + 2] > 0)
            tag = " (pseudo label: Shift+Y accepts)" if is_pseudo(p.extra) else ""
            lst.addItem(f"#{n + 1}  id {p.ann_id}: {nkp} keypoints, {len(p.dp or [])} DensePose points{tag}")
        lst.setCurrentRow(self.canvas.selected_person)
        lst.blockSignals(False)
        person = people[self.canvas.selected_person] if 0 <= self.canvas.selected_person < len(people) else None
        self.panel.show_keypoints(None if person is None else person.keypoints, self.canvas.current_keypoint)
        self._refresh_dp_panel(person)
        self.panel.set_proposal_count(len(props))
        self.update_image_line()

    def _position_text(self) -> str:
        if self.session is None or self.image_id is None:
            return ""
        return position_text(self.navigation, self.session.source.resolve(), self.image_id, self.session.doc.images)

    def update_image_line(self, *_: object) -> None:
        """Show the open image's name, place and save state (saved, unsaved, read-only, recovered)."""
        self.image_line.show_state(self.session, self.image_id, self._position)

    def _refresh_dp_panel(self, person: Person | None) -> None:
        j = self.canvas.selected_dp
        dp = person.dp if person is not None and person.dp else []
        if 0 <= j < len(dp):
            q = dp[j]
            self.panel.uv_chart.set_part(q.i)
            self.panel.uv_chart.set_uv(q.u, q.v)
            self.panel.uv_chart.set_context(np.array([(o.u, o.v) for o in dp if o.i == q.i]))
            self.panel.dp_info.setText(f"point {j + 1}/{len(dp)}: I={q.i} U={q.u:.3f} V={q.v:.3f}")
        else:
            # no point selected (none yet, undone, another image): the chart shows no marker of
            # a point that is not there, and the dots are this person's points of the shown part
            self.panel.uv_chart.set_uv(None)
            self.panel.uv_chart.set_context(np.array([(o.u, o.v) for o in dp if o.i == self.panel.uv_chart.part]))
            if person is None:
                text = "Select a person to see their DensePose points."
            elif dp:
                text = f"{len(dp)} point{'s' if len(dp) > 1 else ''}; click one to see or change its part and U, V."
            else:
                text = "No DensePose points yet: in DensePose mode (P) click inside the person's box."
            self.panel.dp_info.setText(text)

    def _on_applied(self, op: Op) -> None:
        key = (self.session.source.resolve(), self.image_id) if self.session else None
        if key is not None and op["image_id"] != self.image_id:
            self.show_image(op["image_id"])
            return
        self.refresh()

    # -- edit plumbing ------------------------------------------------------------------
    def _push(self, op: Op, text: str) -> None:
        if self.session is None or self.stack is None:
            return
        try:
            op = self.session.apply(op)  # the confirmed edit, as the journal holds it
        except (UserFacingError, OpConflictError) as exc:
            self.show_banner(f"{text} failed: {exc}")
            self.refresh()  # the canvas shows the document again, not the refused drag
            return
        self.stack.push(EditCommand(self.session, op, self._on_applied, self.show_banner, text))

    def _replace(self, index: int, person: Person, text: str) -> None:
        try:
            person.validate()
        except ValueError as exc:
            self.show_banner(f"edit refused: {exc}")
            return
        before = self.session.doc.anns(self.image_id)[index]
        after = accept_pseudo_label(person.to_ann())  # an edited pseudo label becomes a human label
        if after != before:
            self._push(replace_op(self.image_id, index, before, after, text), text)

    def _person(self, index: int) -> Person | None:
        if self.session is None or not 0 <= index < len(self.session.doc.anns(self.image_id)):
            return None
        return self.session.doc.person(self.image_id, index)

    # -- edits from the canvas ----------------------------------------------------------
    def _on_keypoint_moved(self, n: int, k: int, x: float, y: float) -> None:
        person = self._person(n)
        if person is not None:
            person.set_keypoint(k, x, y, person.keypoint(k)[2] or 2)
            self._replace(n, person, f"move {KEYPOINT_NAMES[k]}")

    def _on_keypoint_placed(self, n: int, k: int, x: float, y: float) -> None:
        person = self._person(n)
        if person is not None:
            person.set_keypoint(k, x, y, person.keypoint(k)[2] or 2)
            self.canvas.current_keypoint = min(k + 1, NUM_KEYPOINTS - 1)
            self._replace(n, person, f"place {KEYPOINT_NAMES[k]}")

    def _on_box_edited(self, n: int, x: float, y: float, w: float, h: float) -> None:
        person = self._person(n)
        if person is None:
            return
        if self.toolbar.follow_box.isChecked() or not (person.dp or person.extra.get("dp_masks")):
            person.set_bbox(x, y, w, h)  # box-relative points and masks move and stretch with the box
            self._replace(n, person, "edit box")
            return
        outside = person.set_bbox_keep_densepose(x, y, w, h)
        self._replace(n, person, "edit box (points kept)")
        if outside:
            self.message.emit(f"{outside} DensePose point{'s' if outside > 1 else ''} outside the new box "
                              "moved to its edge (Ctrl+Z undoes)")

    def _on_follow_box(self, on: bool) -> None:
        self.canvas.points_follow_box = on
        self.message.emit("box edits move the DensePose points with the box" if on
                          else "box edits keep the DensePose points where they are on the image")

    def _on_box_drawn(self, x: float, y: float, w: float, h: float) -> None:
        if self.session is None:
            return
        doc = self.session.doc
        cats = doc.data.get("categories") or [{"id": 1}]
        person = Person(doc.new_ann_id(), self.image_id, [0, 0, 0, 0], [0.0] * (3 * NUM_KEYPOINTS), [], {})
        person.extra = {"category_id": cats[0].get("id", 1), "iscrowd": 0, "area": 0}
        person.set_bbox(x, y, w, h)
        index = len(doc.anns(self.image_id))
        self.canvas.set_selection(index, 0, -1)
        self._push(insert_op(self.image_id, index, person.to_ann(), "add person"), "add person")
        self.set_mode("keypoint")

    def _on_dp_added(self, n: int, x: float, y: float) -> None:
        person = self._person(n)
        if person is None:
            return
        rx, ry = person.abs_to_dp(x, y)
        u, v = self.panel.uv_chart.uv or (0.5, 0.5)
        person.dp = [*(person.dp or []), DensePosePoint(rx, ry, self.panel.uv_chart.part, u, v)]
        self.canvas.selected_dp = len(person.dp) - 1
        self._replace(n, person, "add DensePose point")

    def _on_dp_moved(self, n: int, j: int, x: float, y: float) -> None:
        person = self._person(n)
        if person is not None and person.dp and 0 <= j < len(person.dp):
            person.dp[j].x, person.dp[j].y = person.abs_to_dp(x, y)
            self._replace(n, person, "move DensePose point")

    def _on_dp_selected(self, n: int, j: int) -> None:
        self.canvas.selected_dp = j
        self.panel.show_tab("densepose")
        self._refresh_dp_panel(self._person(n))

    def _on_person_selected(self, n: int) -> None:
        self.canvas.selected_dp = -1
        self.refresh()

    def _on_person_row(self, row: int) -> None:
        self.canvas.set_selection(row, None, -1)
        self.refresh()

    def _on_keypoint_row(self, row: int) -> None:
        if row >= 0:
            self.canvas.set_selection(self.canvas.selected_person, row)
            self.refresh()

    def _edit_selected_dp(self, text: str, **changes) -> None:
        n, j = self.canvas.selected_person, self.canvas.selected_dp
        person = self._person(n)
        if person is not None and person.dp and 0 <= j < len(person.dp):
            for name, value in changes.items():
                setattr(person.dp[j], name, value)
            self._replace(n, person, text)

    def _on_chart_part(self, part: int) -> None:
        self._edit_selected_dp("set DensePose part", i=int(part))

    def _on_chart_uv(self, u: float, v: float) -> None:
        self._edit_selected_dp("set DensePose U/V", u=float(u), v=float(v))

    def _on_chart_point(self, part: int, u: float, v: float) -> None:
        self._edit_selected_dp("set DensePose part and U/V", i=int(part), u=float(u), v=float(v))

    # -- commands (actions and buttons) -------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.canvas.set_mode(mode)
        for act in self.toolbar.actions():
            if act.isCheckable() and act.data() is not None:
                act.setChecked(act.data() == mode)
        if mode in ("keypoint", "dp"):
            self.panel.show_tab("keypoints" if mode == "keypoint" else "densepose")

    def step_keypoint(self, step: int) -> None:
        self.canvas.set_selection(self.canvas.selected_person, (self.canvas.current_keypoint + step) % NUM_KEYPOINTS)
        self.refresh()

    def set_visibility(self, v: int) -> None:
        n, k = self.canvas.selected_person, self.canvas.current_keypoint
        person = self._person(n)
        if person is None:
            return
        x, y, _ = person.keypoint(k)
        if v > 0 and x == 0 and y == 0:
            x0, y0, w, h = person.bbox
            x, y = x0 + w / 2, y0 + h / 2  # an unlabelled keypoint appears at the box centre
        person.set_keypoint(k, x, y, v)
        self._replace(n, person, f"{KEYPOINT_NAMES[k]} visibility {v}")

    def delete_dp_point(self) -> None:
        n, j = self.canvas.selected_person, self.canvas.selected_dp
        person = self._person(n)
        if person is not None and person.dp and 0 <= j < len(person.dp):
            del person.dp[j]
            self.canvas.selected_dp = -1
            self._replace(n, person, "delete DensePose point")

    def delete_person(self) -> None:
        n = self.canvas.selected_person
        if self._person(n) is not None:
            ann = self.session.doc.anns(self.image_id)[n]
            self.canvas.set_selection(n - 1 if n > 0 else 0, None, -1)
            self._push(remove_op(self.image_id, n, ann, "delete person"), "delete person")

    def duplicate_person(self) -> None:
        person = self._person(self.canvas.selected_person)
        if person is None:
            return
        dup = person.copy()
        dup.ann_id = self.session.doc.new_ann_id()
        index = len(self.session.doc.anns(self.image_id))
        self.canvas.set_selection(index, None, -1)
        self._push(insert_op(self.image_id, index, dup.to_ann(), "duplicate person"), "duplicate person")

    def set_proposals(self, source: Path, image_id, people: list[Person]) -> None:
        """Model proposals for one image (drawn dashed until accepted or rejected)."""
        self.proposals[(Path(source).resolve(), image_id)] = list(people)
        self.proposal_index = 0
        if (
            self.session is not None
            and self.session.source.resolve() == Path(source).resolve()
            and image_id == self.image_id
        ):
            self.refresh()

    def _on_proposal_clicked(self, n: int) -> None:
        self.proposal_index = n
        self.message.emit(f"proposal {n + 1} selected: Y accepts, X rejects")

    def accept_proposal(self) -> None:
        props = self.current_proposals()
        if not props:
            return
        n = min(self.proposal_index, len(props) - 1)
        person = props.pop(n).copy()
        person.ann_id = self.session.doc.new_ann_id()
        person.image_id = self.image_id
        index = len(self.session.doc.anns(self.image_id))
        self.canvas.set_selection(index, None, -1)
        self._push(insert_op(self.image_id, index, person.to_ann(), "accept proposal"), "accept proposal")

    def accept_all_proposals(self) -> None:
        if self.stack is None:
            return
        self.stack.beginMacro("accept all proposals")
        while self.current_proposals():
            self.proposal_index = 0
            self.accept_proposal()
        self.stack.endMacro()

    def accept_pseudo_labels(self) -> None:
        """Make every pseudo label of this image an ordinary label (drops ``pseudo_label``; undoable)."""
        if self.session is None or self.stack is None:
            return
        anns = self.session.doc.anns(self.image_id)
        todo = [(n, a) for n, a in enumerate(anns) if is_pseudo(a)]
        if not todo:
            return
        self.stack.beginMacro("accept pseudo labels")
        for n, ann in todo:
            self._push(
                replace_op(self.image_id, n, ann, accept_pseudo_label(ann), "accept pseudo label"),
                "accept pseudo label",
            )
        self.stack.endMacro()

    def reject_proposal(self) -> None:
        props = self.current_proposals()
        if props:
            props.pop(min(self.proposal_index, len(props) - 1))
            self.proposal_index = 0
            self.refresh()

    def undo(self) -> None:
        if self.stack is not None:
            self.stack.undo()

    def redo(self) -> None:
        if self.stack is not None:
            self.stack.redo()

    # -- saving -------------------------------------------------------------------------
    def save(self) -> None:
        for session in self.sessions.values():
            if session.dirty:
                try:
                    path = session.save()
                except UserFacingError as exc:
                    self.show_banner(str(exc))
                    continue
                note = "" if session.writable else f" ({session.source.name} failed validation and was not overwritten)"
                self.message.emit(f"saved {path}{note}")
        self.update_image_line()

    def save_pending(self) -> None:
        """Save every file with unsaved edits now, as autosave would later: read-only files and
        recovered edits that wait for Keep/Discard are left alone (a save would keep them)."""
        for session in self.sessions.values():
            if session.dirty and not session.read_only and not session.recovery_pending:
                try:
                    path = session.save()
                except UserFacingError as exc:
                    self.show_banner(str(exc))
                    continue
                self.message.emit(f"saved {path.name}")
        self.update_image_line()

    def autosave_tick(self) -> None:
        for session in self.sessions.values():
            try:
                if session.maybe_autosave():
                    self.message.emit(f"autosaved {session.save_path.name}")
            except UserFacingError as exc:
                self.show_banner(str(exc))
        self.update_image_line()

    def close_sessions(self) -> None:
        """Save pending edits and release every session (call from the window's closeEvent)."""
        self.autosave_timer.stop()
        for session in self.sessions.values():
            try:
                session.close()
            except UserFacingError as exc:
                self.show_banner(str(exc))
