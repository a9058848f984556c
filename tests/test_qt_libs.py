"""The set-up check of Qt's xcb plugin: real ldd on real ELF files, the root and non-root paths.

The broken plugin is a real copy of PySide6's ``libqxcb.so`` in a folder where its RUNPATH
(``$ORIGIN/../../lib``) finds no Qt libraries, so ``ldd`` really reports ``not found``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from app.qt_libs import check, find_xcb_plugin, missing_sonames, packages_for

REPO = Path(__file__).resolve().parents[1]

#: ldd's output on a Debian 12 machine without libxcb-icccm4 and libxcb-keysyms1 (the issue's case).
LDD_FRESH_DEBIAN = """\
\tlinux-vdso.so.1 (0x00007ffd1b5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f3a1c000000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f3a1bf00000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f3a1be00000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3a1b000000)
"""


def test_ldd_output_gives_the_missing_libraries_and_their_debian_packages() -> None:
    missing = missing_sonames(LDD_FRESH_DEBIAN)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]  # once each, in order
    assert packages_for(missing) == (["libxcb-icccm4", "libxcb-keysyms1"], [])
    result = check(ldd_output=LDD_FRESH_DEBIAN)
    assert not result.ok
    assert result.packages == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert result.message().splitlines()[-1].strip().endswith("apt-get install -y libxcb-icccm4 libxcb-keysyms1")
    assert "xcb-cursor0" not in result.message()  # Qt's own abort names it; it is installed


def test_the_installed_plugin_resolves_every_library() -> None:
    plugin = find_xcb_plugin()
    assert plugin is not None and plugin.name == "libqxcb.so"
    result = check(plugin)
    assert result.ok, result.message()


def broken_plugin(tmp_path: Path) -> Path:
    """A site-packages folder whose PySide6 has the real libqxcb.so but none of Qt's libraries."""
    real = find_xcb_plugin()
    assert real is not None
    dst = tmp_path / "site" / "PySide6" / "Qt" / "plugins" / "platforms"
    dst.mkdir(parents=True)
    shutil.copy2(real, dst / "libqxcb.so")
    return tmp_path / "site"


def run_check(site: Path | None, *args: str, env: dict | None = None, as_nobody: bool = False,
              ) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "app.qt_libs", *(["--site-packages", str(site)] if site else []), *args]
    if as_nobody:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})


def test_a_plugin_whose_libraries_are_missing_is_reported_by_name_without_loading_qt(tmp_path: Path) -> None:
    site = broken_plugin(tmp_path)
    proc = run_check(site)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: Qt's xcb platform plugin cannot load: missing system libraries")
    assert "libQt6XcbQpa.so.6" in proc.stderr  # real ldd output: the copy's RUNPATH finds no Qt
    assert "Traceback" not in proc.stderr and "Aborted" not in proc.stderr


def fake_apt_get(folder: Path) -> tuple[Path, Path]:
    """An apt-get that records its arguments: (program, record file)."""
    recorder = folder / "apt-calls.txt"
    program = folder / "apt-get"
    program.write_text(f'#!/bin/sh\necho "$*" >> {recorder}\n')
    program.chmod(0o755)
    return program, recorder


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to become nobody")
def test_not_root_prints_the_one_apt_command_and_stops() -> None:
    folder = Path(tempfile.mkdtemp(prefix="qt-libs-"))  # pytest's tmp_path is private to root
    try:
        folder.chmod(0o755)
        ldd = folder / "ldd.txt"
        ldd.write_text(LDD_FRESH_DEBIAN)
        ldd.chmod(0o644)
        program, recorder = fake_apt_get(folder)
        proc = run_check(None, "--install", "--ldd-output", str(ldd), as_nobody=True,
                         env={"WDS_APT_GET": str(program)})
    finally:
        shutil.rmtree(folder)
    assert proc.returncode == 1, proc.stderr
    commands = [line for line in proc.stderr.splitlines() if "apt-get" in line]
    assert [c.strip() for c in commands] == ["sudo apt-get install -y libxcb-icccm4 libxcb-keysyms1"]
    assert not recorder.exists()  # nothing was run


@pytest.mark.skipif(os.geteuid() != 0, reason="the install path runs only as root")
def test_root_installs_the_missing_packages_with_apt_get(tmp_path: Path) -> None:
    ldd = tmp_path / "ldd.txt"
    ldd.write_text(LDD_FRESH_DEBIAN)
    program, recorder = fake_apt_get(tmp_path)
    proc = run_check(None, "--install", "--ldd-output", str(ldd), env={"WDS_APT_GET": str(program)})
    assert proc.returncode == 0, proc.stderr
    assert recorder.read_text().splitlines() == ["install -y --no-install-recommends libxcb-icccm4 libxcb-keysyms1"]


def test_test_tools_are_checked_only_when_asked(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    old = os.environ["PATH"]
    try:
        os.environ["PATH"] = str(empty_path)
        plain = check(ldd_output="")
        with_tools = check(ldd_output="", tools=True)
    finally:
        os.environ["PATH"] = old
    assert plain.ok
    assert with_tools.tools == ["Xvfb", "xvfb-run", "xauth", "xdotool"]
    assert with_tools.packages == ["xauth", "xdotool", "xvfb"]
