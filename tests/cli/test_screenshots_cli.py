"""``main.py screenshots`` argument checks (the full run is exercised by the README's make screenshots)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_screenshots_rejects_zero_iterations(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "main.py", "screenshots", "--out", str(tmp_path), "--iterations", "0"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: --iterations")
    assert not any(tmp_path.iterdir())
