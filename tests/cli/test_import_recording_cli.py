"""``python main.py import-recording``: report lines, refusal of disjoint streams, user errors."""

from __future__ import annotations

import json

from app.backend.capture.synthetic import make_synthetic_recording
from app.cli import main


def test_import_recording_cli_writes_dataset_and_report(tmp_path, capsys):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=12, dropped=(40, 41))
    out = tmp_path / "out"
    code = main(["import-recording", "--video", str(rec.video), "--csi", str(rec.csi), "--out", str(out),
                 "--offset-ms", "300", "--packets-per-frame", "5"])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "1 timestamp wrap-arounds" in text and "2 from sequence numbers" in text
    assert "matched 12/12 frames" in text and "clock drift" in text and "frames/s" in text
    assert "importing: 12/12 frames (100%)" in text  # the progress line (with ETA while running)
    data = json.loads((out / "dataset.json").read_text())
    assert len(data["images"]) == 12 and data["annotations"] == []
    assert (out / "import_report.json").is_file()


def test_disjoint_streams_give_one_error_line_with_both_spans(tmp_path, capsys):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=10)
    code = main(["import-recording", "--video", str(rec.video), "--csi", str(rec.csi), "--out", str(tmp_path / "o"),
                 "--offset-ms", "-5000", "--quiet"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: the video and the CSI log do not overlap")
    assert "-5.000 .. -4.550 s" in err[0] and "CSI packets span 0.000 .." in err[0]


def test_missing_csi_and_bad_arguments_are_user_errors(tmp_path, capsys):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=4)
    code = main(["import-recording", "--video", str(rec.video), "--csi", str(tmp_path / "nope.dat"),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "CSI log not found" in capsys.readouterr().err
    code = main(["import-recording", "--frames", str(tmp_path / "nothing"), "--csi", str(rec.csi),
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "frame folder not found" in capsys.readouterr().err
    code = main(["import-recording", "--video", str(rec.video), "--csi", str(rec.csi), "--out", str(tmp_path / "o"),
                 "--packets-per-frame", "0"])  # fmt: skip
    assert code == 2 and "--packets-per-frame" in capsys.readouterr().err
