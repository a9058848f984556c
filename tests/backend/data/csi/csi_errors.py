"""The one check of a refused CSI file the reader tests share: one line, naming the file, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backend.data.csi import read_csi
from app.backend.errors import CsiFormatError


def expect_csi_error(path: Path, *words: str) -> str:
    """``read_csi(path)`` raises CsiFormatError: one line starting with the path, holding every word (any case)."""
    with pytest.raises(CsiFormatError) as info:
        read_csi(path)
    msg = str(info.value)
    assert msg.startswith(str(path)) and "\n" not in msg, msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg
