"""``python main.py import-mmfi``: a small MM-Fi tree from the real CSI frames."""

from __future__ import annotations

import json
import shutil

from app.cli import main


def test_import_mmfi_cli(tmp_path, mmfi_frames, capsys):
    seq = tmp_path / "mmfi" / "E02" / "S11" / "A03" / "wifi-csi"
    seq.mkdir(parents=True)
    for i, src in enumerate(mmfi_frames[:5], start=1):
        shutil.copyfile(src, seq / f"frame{i:03d}.mat")
    shutil.copyfile(mmfi_frames[5], seq / "frame5.mat")  # a second file for frame 5
    code = main(["import-mmfi", str(tmp_path / "mmfi"), "--out", str(tmp_path / "out"), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0 and "1 sequences, 5 frames imported" in text
    assert "1 skipped:\n  E02/S11/A03/wifi-csi/frame5.mat: frame 5 also in frame005.mat" in text
    data = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert [im["csi_file"] for im in data["images"]][:2] == ["csi/E02_S11_A03_001.npz", "csi/E02_S11_A03_002.npz"]
    assert data["annotations"] == []
    code = main(["import-mmfi", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert code == 2 and "MM-Fi root not found" in capsys.readouterr().err
