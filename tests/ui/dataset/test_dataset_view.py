"""Dataset view on the demo dataset: loading, thumbnails, filters, stats, errors that write nothing."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt

from app.ui.dataset.dataset_view import DatasetView


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _open(qtbot, paths, tmp_path: Path) -> DatasetView:
    view = DatasetView(cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths(paths)
    return view


def test_open_demo_thumbnails_filters_stats(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    view = _open(qtbot, [demo_copy / "train.json", demo_copy / "val.json"], tmp_path)
    assert view.model.rowCount() == 18 and view.proxy.rowCount() == 18
    assert view.banner.isHidden()
    # thumbnails come from the model's background job once the grid paints
    qtbot.waitUntil(lambda: view.model.has_thumbnail(0), timeout=10000)
    icon = view.proxy.index(0, 0).data(Qt.ItemDataRole.DecorationRole)
    assert icon.width() <= 128 and icon.height() <= 128 and icon.width() == 128
    assert list((tmp_path / "thumbs").rglob("*.jpg"))
    # filters
    view.split_filter.setCurrentIndex(2)  # val
    assert view.proxy.rowCount() == 6
    view.split_filter.setCurrentIndex(0)
    view.search.setText("000003")
    assert view.proxy.rowCount() == 2  # train and val each have a 000003
    view.search.setText("")
    view.min_people.setValue(99)
    assert view.proxy.rowCount() == 0 and view.count_label.text() == "0 / 18 images"
    view.min_people.setValue(0)
    view.csi_filter.setCurrentIndex(2)  # CSI: no
    assert view.proxy.rowCount() == 0
    view.csi_filter.setCurrentIndex(0)
    # statistics
    stats = view.index.stats()
    assert stats["images"] == 18 and stats["per_split"] == {"train": 12, "val": 6}
    assert "18 images" in view.stats.summary.text()
    # double click opens the editor on that image
    view.open_row(3)
    assert view.tabs.currentWidget() is view.editor
    assert view.editor.image_id == view.index.image_ids[3]
    view.shutdown()


def test_malformed_json_gives_message_and_writes_nothing(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    bad = demo_copy / "train.json"
    text = bad.read_text()
    bad.write_text(text[: len(text) // 2])
    before = _files(demo_copy)
    view = DatasetView(cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.loadFailed, timeout=30000) as blocker:
        view.open_paths([bad])
    assert "malformed JSON at line" in blocker.args[0] and "train.json" in blocker.args[0]
    assert view.banner.isVisibleTo(view) and "malformed" in view.banner.text()
    view.shutdown()
    assert _files(demo_copy) == before


def test_missing_images_are_reported_and_the_file_is_never_overwritten(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    (demo_copy / "images" / "train" / "000002.jpg").unlink()
    original = (demo_copy / "train.json").read_bytes()
    view = _open(qtbot, [demo_copy / "train.json"], tmp_path)
    text = view.banner.text()
    assert "file_name not found" in text and "000002.jpg" in text
    assert "will not be overwritten" in text and "train.edited.json" in text
    # edit and save: the edit lands in the sibling file, the original stays byte-identical
    ed = view.editor
    view.open_row(0)
    ed.canvas.keypointMoved.emit(0, 0, 11.0, 12.0)
    ed.save()
    view.shutdown()
    assert (demo_copy / "train.json").read_bytes() == original
    saved = json.loads((demo_copy / "train.edited.json").read_text())
    first = next(a for a in saved["annotations"] if a["image_id"] == view.index.image_ids[0])
    assert first["keypoints"][:2] == [11, 12]


def test_opening_again_while_loading_replaces_the_running_load(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    view = DatasetView(cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(view)
    ready: list[bool] = []
    view.datasetReady.connect(lambda: ready.append(True))
    view.open_paths([demo_copy / "train.json"])
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths([demo_copy / "val.json"])  # before the first load could report anything
    qtbot.wait(200)  # what the replaced load still had to say would arrive now
    assert ready == [True] and len(view.index) == 6
    assert list(view.editor.sessions) == [(demo_copy / "val.json").resolve()]
    assert not view.load_job.is_running()
    view.shutdown()


def _ink(widget) -> int:
    """Pixels of ``widget`` (an item view's viewport or a canvas) that differ from its corner pixel."""
    import numpy as np
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())[:, : 3 * img.width()]
    arr = arr.reshape(img.height(), img.width(), 3)
    return int((np.abs(arr.astype(int) - arr[2, 2]).sum(axis=2) > 30).sum())


def test_empty_grid_list_and_editor_say_why_in_a_sentence(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    from app.ui.dataset.dataset_view import NO_DATASET, NO_MATCH

    view = DatasetView(cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    qtbot.waitExposed(view)
    assert view.grid.empty_text == NO_DATASET and _ink(view.grid.viewport()) > 100  # the sentence is drawn
    view.tabs.setCurrentWidget(view.editor)
    assert "double-click" in view.editor.canvas.empty_text and _ink(view.editor.canvas.viewport()) > 100
    assert "No image open" in view.editor.image_line.text()
    view.tabs.setCurrentIndex(0)
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths([demo_copy / "val.json"])
    view.min_people.setValue(99)
    assert view.proxy.rowCount() == 0 and view.grid.empty_text == NO_MATCH
    assert _ink(view.grid.viewport()) > 100
    view.grid.set_empty_text("")
    assert _ink(view.grid.viewport()) == 0  # what was drawn was the sentence
    view.shutdown()
