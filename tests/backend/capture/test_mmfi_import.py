"""MM-Fi import on a synthetic E/S/A tree built from the REAL MM-Fi CSI frames."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from app.backend.capture.mmfi_import import (
    H36M_TO_COCO,
    MmfiImportOptions,
    detect_keypoint_order,
    import_mmfi,
)
from app.backend.data.csi import read_csi
from app.backend.data.validate import validate_dataset
from app.backend.errors import DatasetError

# A standing person in COCO order (x, y) in a 640x480 frame.
COCO_FIGURE = np.array(
    [[320, 100], [312, 92], [328, 92], [302, 96], [338, 96], [290, 140], [350, 140], [280, 190], [360, 190],
     [275, 235], [365, 235], [300, 250], [340, 250], [298, 320], [342, 320], [296, 390], [344, 390]],
    dtype=np.float64,
)  # fmt: skip


def _dx(dx: float) -> np.ndarray:
    return np.array([dx, 0.0])


def _h36m_figure(shift: float) -> np.ndarray:
    """The same figure in Human3.6M order (pelvis, spine, thorax, head made up from it)."""
    h = np.zeros((17, 2))
    for coco_k, h36m_k in enumerate(H36M_TO_COCO):
        if h36m_k >= 0:
            h[h36m_k] = COCO_FIGURE[coco_k]
    h[0] = (COCO_FIGURE[11] + COCO_FIGURE[12]) / 2  # pelvis
    h[8] = (COCO_FIGURE[5] + COCO_FIGURE[6]) / 2  # thorax
    h[7] = (h[0] + h[8]) / 2  # spine
    h[10] = COCO_FIGURE[0] - np.array([0, 25])  # head top
    return h + _dx(shift)


def _build_tree(root, mats):
    """E01/S01/A01: 24 frames with RGB images + COCO-order keypoints; E01/S02/A05: 24 frames, H36M
    keypoints (x, y, score), no images, one empty CSI file; plus an unrelated folder."""
    s1 = root / "E01" / "S01" / "A01"
    s2 = root / "E01" / "S02" / "A05"
    for seq, files in ((s1, mats[:24]), (s2, mats[24:48])):
        (seq / "wifi-csi").mkdir(parents=True)
        (seq / "rgb").mkdir()
        for i, src in enumerate(files, start=1):
            shutil.copyfile(src, seq / "wifi-csi" / f"frame{i:03d}.mat")
    for i in range(1, 25):
        np.save(s1 / "rgb" / f"frame{i:03d}.npy", COCO_FIGURE + _dx(i))
        cv2.imwrite(str(s1 / "rgb" / f"frame{i:03d}.png"), np.full((480, 640, 3), i, np.uint8))
        kp = np.concatenate([_h36m_figure(i), np.ones((17, 1))], axis=1)
        kp[13, 2] = 0  # l_wrist not detected
        np.save(s2 / "rgb" / f"frame{i:03d}.npy", kp)
    (s2 / "wifi-csi" / "frame007.mat").write_bytes(b"")  # MM-Fi has empty files
    np.save(s2 / "ground_truth.npy", np.zeros((24, 17, 3)))
    (root / "E01" / "notes").mkdir()
    return s1, s2


def test_mmfi_tree_imports_csi_rgb_and_keypoints(tmp_path, mmfi_frames):
    assert len(mmfi_frames) == 48
    _build_tree(tmp_path / "mmfi", mmfi_frames)
    progress = []
    report = import_mmfi(MmfiImportOptions(tmp_path / "mmfi", tmp_path / "out"), progress=progress.append)
    assert report.complete and report.sequences == 2 and report.frames == 47 and report.skipped_empty == 1
    assert report.frames_with_rgb == 24 and report.frames_with_keypoints == 47
    assert report.keypoint_orders == {"E01_S01_A01": "coco", "E01_S02_A05": "h36m"}
    assert progress[-1].done == progress[-1].total == 47
    data = json.loads(report.json_path.read_text())
    images = {Path(im["csi_file"]).stem: im for im in data["images"]}  # by frame name
    assert [im["id"] for im in data["images"]] == list(range(1, 48))
    anns = {a["image_id"]: a for a in data["annotations"]}
    # sequence 1, frame 3: the RGB frame is copied, CSI equals the real .mat transposed to (P, S, R, T)
    im = images["E01_S01_A01_003"]
    assert im["mmfi"] == ["E01", "S01", "A01", 3]
    assert im["file_name"] == "images/E01_S01_A01_003.png" and (im["width"], im["height"]) == (640, 480)
    rec = read_csi(tmp_path / "out" / im["csi_file"])
    mat = scipy.io.loadmat(mmfi_frames[2])
    np.testing.assert_allclose(rec.amplitude[..., 0], np.transpose(mat["CSIamp"], (2, 1, 0)), rtol=1e-6)
    np.testing.assert_allclose(rec.timestamps, 0.2 + np.arange(10) / 100)
    kp = np.array(anns[im["id"]]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(kp[:, :2], COCO_FIGURE + _dx(3))
    assert (kp[:, 2] == 2).all()
    x, y, w, h = anns[im["id"]]["bbox"]
    assert x <= kp[:, 0].min() and x + w >= kp[:, 0].max() and y <= kp[:, 1].min() and y + h >= kp[:, 1].max()
    # sequence 2 (H36M order, no RGB): mapped joints land on the COCO figure, eyes/ears and the
    # undetected left wrist are not labelled
    im = images["E01_S02_A05_010"]
    assert "file_name" not in im and im["csi_file"] == "csi/E01_S02_A05_010.npz"
    kp = np.array(anns[im["id"]]["keypoints"]).reshape(17, 3)
    labelled = [0, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16]
    np.testing.assert_allclose(kp[labelled, :2], COCO_FIGURE[labelled] + _dx(10))
    assert kp[[1, 2, 3, 4, 9], 2].tolist() == [0, 0, 0, 0, 0] and (kp[labelled, 2] == 2).all()
    assert "E01_S02_A05_007" not in images
    assert report.skipped == [("E01/S02/A05/wifi-csi/frame007.mat", "empty CSI file")]
    assert validate_dataset(report.json_path).ok


def test_mmfi_filters_resume_and_errors(tmp_path, mmfi_frames):
    _build_tree(tmp_path / "mmfi", mmfi_frames)
    opts = MmfiImportOptions(tmp_path / "mmfi", tmp_path / "out", subjects=("S02",), keypoint_order="h36m")
    calls = []
    first = import_mmfi(opts, should_stop=lambda: calls.append(1) or len(calls) > 5)
    assert not first.complete and first.json_path is None
    second = import_mmfi(opts)
    assert second.complete and second.sequences == 1 and second.frames == 23
    with pytest.raises(DatasetError, match="no MM-Fi sequences"):
        import_mmfi(MmfiImportOptions(tmp_path / "mmfi", tmp_path / "o2", actions=("A27",)))
    with pytest.raises(FileNotFoundError):
        MmfiImportOptions(tmp_path / "missing", tmp_path / "o3")


def test_keypoint_order_detection():
    assert detect_keypoint_order([np.c_[COCO_FIGURE, np.ones(17)]]) == "coco"
    assert detect_keypoint_order([np.c_[_h36m_figure(0), np.ones(17)]]) == "h36m"


def test_mmfi_ids_are_unique_by_construction_and_every_skip_is_named(tmp_path, mmfi_frames):
    """Folders E01 and E001, frame 1001 beside action A02, two files for one frame number: nothing
    collides, and what is left out is counted and named."""
    root = tmp_path / "mmfi"
    layout = {"E01/S01/A01": ["frame001.mat", "frame1001.mat"], "E01/S01/A02": ["frame001.mat", "frame1.mat"],
              "E001/S01/A01": ["frame001.mat", "frame002.mat"]}
    src = iter(mmfi_frames)
    for seq, names in layout.items():
        (root / seq / "wifi-csi").mkdir(parents=True)
        (root / seq / "rgb").mkdir()
        for name in names:
            shutil.copyfile(next(src), root / seq / "wifi-csi" / name)
    np.save(root / "E01/S01/A01/rgb/frame001.npy", COCO_FIGURE)
    np.save(root / "E01/S01/A01/rgb/frame1001.npy", COCO_FIGURE + _dx(5))
    (root / "E001/S01/A01/rgb/frame002.npy").write_bytes(b"not an array")
    (root / "E001/S01/A01/wifi-csi/frame003.mat").write_bytes(b"")
    report = import_mmfi(MmfiImportOptions(root, tmp_path / "out"))
    assert report.complete and report.sequences == 3 and report.frames == 5
    data = json.loads(report.json_path.read_text())
    ids = [im["id"] for im in data["images"]]
    assert len(set(ids)) == len(ids) == 5
    by_csi = {im["csi_file"]: im for im in data["images"]}
    assert sorted(by_csi) == ["csi/E001_S01_A01_001.npz", "csi/E001_S01_A01_002.npz", "csi/E01_S01_A01_001.npz",
                              "csi/E01_S01_A01_1001.npz", "csi/E01_S01_A02_001.npz"]
    anns = {a["image_id"]: a for a in data["annotations"]}
    kp_1001 = np.array(anns[by_csi["csi/E01_S01_A01_1001.npz"]["id"]]["keypoints"]).reshape(17, 3)
    np.testing.assert_allclose(kp_1001[:, :2], COCO_FIGURE + _dx(5))  # not A02 frame 1's
    assert by_csi["csi/E01_S01_A01_1001.npz"]["mmfi"] == ["E01", "S01", "A01", 1001]
    skipped = dict(report.skipped)
    assert skipped == {
        "E01/S01/A02/wifi-csi/frame1.mat": "frame 1 also in frame001.mat",
        "E001/S01/A01/wifi-csi/frame003.mat": "empty CSI file",
        "E001/S01/A01/rgb/frame002.npy": "keypoints unreadable (not a (17, 2) or (17, 3) array)",
    }
    text = "\n".join(report.lines())
    assert "3 skipped" in text and all(name in text for name in skipped)
    assert validate_dataset(report.json_path).ok
    again = import_mmfi(MmfiImportOptions(root, tmp_path / "out"))  # resuming finds every frame done
    assert json.loads(again.json_path.read_text()) == data
