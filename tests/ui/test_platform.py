"""The GUI tests run on the platform they were asked for (make test runs them offscreen and under Xvfb with xcb)."""

from __future__ import annotations

import os


def test_the_qt_platform_is_the_one_asked_for(qapp) -> None:
    asked = os.environ.get("QT_QPA_PLATFORM", "offscreen").split(":")[0]
    assert qapp.platformName() == asked
