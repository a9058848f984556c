"""ConfigForm: typed editing, refusal of invalid input, search, highlighting and undo."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.widgets.config_form import ConfigForm, parse_value

VALUES = {
    "MODEL.DEVICE": "cpu",
    "MODEL.MASK_ON": False,
    "MODEL.MTN.OUTPUT_SIZE": [160, 160],
    "SOLVER.BASE_LR": 0.01,
    "SOLVER.MAX_ITER": 1000,
    "SOLVER.STEPS": (800,),
    "MODEL.META_ARCHITECTURE": "CombinedModel",
}
BASE = dict(VALUES)
DEFAULTS = {**VALUES, "SOLVER.BASE_LR": 0.001, "MODEL.META_ARCHITECTURE": "GeneralizedRCNN"}


@pytest.fixture
def form(qtbot) -> ConfigForm:
    f = ConfigForm()
    qtbot.addWidget(f)
    f.set_config(VALUES, base=BASE, defaults=DEFAULTS, helps={"SOLVER.BASE_LR": "Base learning rate."},
                 choices={"MODEL.META_ARCHITECTURE": ["GeneralizedRCNN", "CombinedModel"]})
    return f


def test_parse_value_types() -> None:
    assert parse_value("3", 1) == 3
    assert parse_value("1e-4", 0.1) == pytest.approx(1e-4)
    assert parse_value("[64, 64]", [1, 2]) == [64, 64]
    assert parse_value("[100, 200]", (1,)) == (100, 200)
    for text, like in (("abc", 1), ("1.5", 1), ("[1,", [1]), ("'a'", [1]), ("['a']", [1])):
        with pytest.raises(ValueError):
            parse_value(text, like)


def test_edit_undo_redo_and_highlight(form: ConfigForm) -> None:
    seen = []
    form.valueChanged.connect(lambda k, v: seen.append((k, v)))
    assert form.diff_from_base() == {}
    assert form.set_text("SOLVER.MAX_ITER", "20")
    assert form.value("SOLVER.MAX_ITER") == 20
    assert form.diff_from_base() == {"SOLVER.MAX_ITER": (1000, 20)}
    name_item, _ = form._rows["SOLVER.MAX_ITER"]
    assert name_item.background().color().isValid() and name_item.font().bold()
    assert form._rows["SOLVER.BASE_LR"][0].font().bold()  # non-default (0.01 vs 0.001)
    assert "Base learning rate." in form._rows["SOLVER.BASE_LR"][0].toolTip()
    form.undo_stack.undo()
    assert form.value("SOLVER.MAX_ITER") == 1000
    form.undo_stack.redo()
    assert form.value("SOLVER.MAX_ITER") == 20
    assert seen == [("SOLVER.MAX_ITER", 20), ("SOLVER.MAX_ITER", 1000), ("SOLVER.MAX_ITER", 20)]


def test_invalid_input_is_refused_with_reason(form: ConfigForm) -> None:
    rejected = []
    form.inputRejected.connect(lambda k, r: rejected.append((k, r)))
    assert not form.set_text("SOLVER.MAX_ITER", "ten")
    assert not form.set_text("MODEL.MTN.OUTPUT_SIZE", "[64, 'a']")
    assert not form.set_text("MODEL.META_ARCHITECTURE", "NoSuchModel")
    assert form.value("SOLVER.MAX_ITER") == 1000
    assert "integer" in form.message.text() or "GeneralizedRCNN" in form.message.text()
    assert [k for k, _ in rejected] == ["SOLVER.MAX_ITER", "MODEL.MTN.OUTPUT_SIZE", "MODEL.META_ARCHITECTURE"]
    assert form.undo_stack.count() == 0


def test_a_refusal_message_goes_when_the_search_changes_or_a_value_is_accepted(form: ConfigForm) -> None:
    form.search.setText("iter")
    assert not form.set_text("SOLVER.MAX_ITER", "ten")
    assert form.message.text() == "SOLVER.MAX_ITER: expected an integer, got 'ten'"
    form.search.clear()  # the user clears the search: the old error line must not linger
    assert form.message.text() == ""
    assert not form.set_text("SOLVER.MAX_ITER", "ten")
    assert form.set_text("SOLVER.BASE_LR", "0.02")  # another value accepted
    assert form.message.text() == ""
    assert not form.set_text("SOLVER.MAX_ITER", "ten")
    form.undo_stack.undo()
    assert form.message.text() == ""


def test_checkbox_edit_goes_through_undo(form: ConfigForm) -> None:
    _, item = form._rows["MODEL.MASK_ON"]
    item.setCheckState(Qt.CheckState.Checked)
    assert form.value("MODEL.MASK_ON") is True
    form.undo_stack.undo()
    assert form.value("MODEL.MASK_ON") is False
    assert item.checkState() == Qt.CheckState.Unchecked


def test_typed_editor_via_delegate(form: ConfigForm, qtbot) -> None:
    from PySide6.QtWidgets import QAbstractItemDelegate, QComboBox, QSpinBox

    form.show()
    form.set_filter("max_iter")
    index = form.index_of("SOLVER.MAX_ITER")
    form.tree.edit(index)
    editor = form.tree.indexWidget(index) or form.tree.findChild(QSpinBox)
    assert isinstance(editor, QSpinBox)
    editor.setValue(77)
    form.tree.commitData(editor)
    assert form.value("SOLVER.MAX_ITER") == 77
    form.tree.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)
    form.set_filter("meta_arch")
    index = form.index_of("MODEL.META_ARCHITECTURE")
    form.tree.edit(index)
    combo = form.tree.findChild(QComboBox)
    assert combo is not None and combo.count() == 2


def test_search_and_changed_only(form: ConfigForm) -> None:
    form.set_filter("learning")
    assert form.visible_keys() == ["SOLVER.BASE_LR"]
    form.set_filter("solver")
    assert set(form.visible_keys()) == {"SOLVER.BASE_LR", "SOLVER.MAX_ITER", "SOLVER.STEPS"}
    form.set_filter("")
    form.set_text("SOLVER.STEPS", "(500, 900)")
    form.set_changed_only(True)
    assert form.visible_keys() == ["SOLVER.STEPS"]
    assert form.value("SOLVER.STEPS") == (500, 900)


def test_whole_detectron2_tree_builds_fast(qtbot) -> None:
    values = {f"NODE{i // 20}.SUB{i % 3}.KEY{i}": i for i in range(300)}
    f = ConfigForm()
    qtbot.addWidget(f)
    t0 = time.perf_counter()
    f.set_config(values)
    f.set_filter("key29")
    elapsed = time.perf_counter() - t0
    assert len(f.visible_keys()) == 11  # KEY29, KEY290..299
    assert elapsed < 2.0  # generous: no widget per row
