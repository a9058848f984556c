"""Pseudo-label actions of the Dataset view: targets from the selection, a run in place, reload."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from app.backend.config import builtin_config, load_config
from app.ui.capture.pseudo_label_dialog import PseudoLabelDialog, make_pseudo_label_actions, targets_from_rows

TEACHER = ["INPUT.MODALITY", "image", "INPUT.MIN_SIZE_TEST", "64", "INPUT.MAX_SIZE_TEST", "96",
           "TEST.DETECTIONS_PER_IMAGE", "1"]  # fmt: skip


def _random_teacher(path: Path) -> Path:
    """An untrained image model saved as a checkpoint (enough to exercise the plumbing)."""
    from app.backend.engine.trainer import Trainer

    model = Trainer.build_model(load_config(builtin_config("demo_cpu"), TEACHER))
    torch.save({"model": model.state_dict()}, path)
    return path


def _strip_labels(json_path: Path, keep_first: bool) -> None:
    data = json.loads(json_path.read_text())
    first = data["images"][0]["id"]
    data["annotations"] = [a for a in data["annotations"] if keep_first and a["image_id"] == first]
    json_path.write_text(json.dumps(data))


def _open(qtbot, view, paths):
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths(paths)


def test_targets_and_actions(qtbot, demo_copy):
    from app.ui.dataset.dataset_view import DatasetView

    view = DatasetView()
    qtbot.addWidget(view)
    _open(qtbot, view, [demo_copy / "train.json", demo_copy / "val.json"])
    n_train = int((view.index.doc_of == 0).sum())
    assert targets_from_rows(view.index, None) == [(demo_copy / "train.json", None), (demo_copy / "val.json", None)]
    picked = targets_from_rows(view.index, [1, n_train + 2])
    assert picked == [
        (demo_copy / "train.json", [view.index.image_ids[1].item()]),
        (demo_copy / "val.json", [view.index.image_ids[n_train + 2].item()]),
    ]
    sel, whole = make_pseudo_label_actions(view)
    assert sel.text() == "Pseudo-label selection…" and whole.text() == "Pseudo-label whole dataset…"
    messages = []
    view.message.connect(messages.append)
    sel.trigger()  # nothing selected: says so, opens nothing
    assert messages[-1] == "select images in the grid first"


def test_dialog_labels_in_place_and_the_view_reloads(qtbot, demo_copy, tmp_path):
    from app.ui.capture.pseudo_label_dialog import open_pseudo_label_dialog
    from app.ui.dataset.dataset_view import DatasetView

    val = demo_copy / "val.json"
    _strip_labels(val, keep_first=True)
    weights = _random_teacher(tmp_path / "teacher.pth")
    view = DatasetView()
    qtbot.addWidget(view)
    _open(qtbot, view, [val])
    dialog = open_pseudo_label_dialog(view, selection_only=False)
    assert isinstance(dialog, PseudoLabelDialog)
    qtbot.addWidget(dialog)
    dialog.config.set_text(builtin_config("demo_cpu"))
    dialog.weights.set_text(weights)
    dialog.overrides.setText(" ".join(TEACHER))
    dialog.score.setValue(0.0)
    with qtbot.waitSignal(dialog.labelled, timeout=120000):
        dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=10000)
    assert dialog.status.text() == "done", dialog.log.toPlainText()
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        dialog.close()
    data = json.loads(val.read_text())
    pseudo = [a for a in data["annotations"] if "pseudo_label" in a]
    first = data["images"][0]["id"]
    assert pseudo and all(a["image_id"] != first for a in pseudo)  # the human-labelled frame is kept
    assert int(view.index.num_people.sum()) == len(data["annotations"])


def test_a_csi_config_is_refused_as_teacher(qtbot, demo_copy):
    dialog = PseudoLabelDialog([(demo_copy / "val.json", None)])
    qtbot.addWidget(dialog)
    dialog.config.set_text(builtin_config("demo_cpu"))
    dialog.weights.set_text("w.pth")
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30000)
    assert "image model" in dialog.status.text()


def test_dialog_counts_in_words_and_asks_for_the_teacher_weights(qtbot, demo_copy):
    from app.ui.capture.pseudo_label_dialog import NO_WEIGHTS

    one = PseudoLabelDialog([(demo_copy / "val.json", [0])])
    qtbot.addWidget(one)
    assert one.scope.text() == "1 selected image in val.json"
    two = PseudoLabelDialog([(demo_copy / "train.json", [0]), (demo_copy / "val.json", [3])])
    qtbot.addWidget(two)
    assert two.scope.text() == "2 selected images in train.json, val.json"
    # empty weights: the field and a line below it say what to give; Start says it is missing
    # instead of starting a job that fails with the command line's "pass MODEL.WEIGHTS W"
    assert one.weights.text() == "" and "model-zoo" in one.weights.edit.placeholderText()
    assert "densepose_rcnn_R_50_FPN_s1x" in one.weights_hint.text() and not one.weights_hint.isHidden()
    one.start()
    assert not one.running and one.status.text() == NO_WEIGHTS
    one.overrides.setText("MODEL.WEIGHTS teacher.pth")  # weights given as an override: it starts
    assert one.has_weights()
