"""Shared fixtures. Tests run offscreen, single-threaded, with their own settings folders."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("OMP_NUM_THREADS", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real CSI captures in ../shared/data (read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test captures not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def intel_dat(shared_data: Path) -> Path:
    return shared_data / "csi" / "intel5300" / "sample_0x1_ap.dat"


@pytest.fixture(scope="session")
def mmfi_frames(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "csi" / "mmfi").glob("frame*.mat"))


@pytest.fixture(scope="session")
def capture_tools(shared_data: Path) -> dict[str, Path]:
    """One real capture per CSI tool, by our format name (atheros, esp32, nexmon, picoscenes)."""
    d = shared_data / "csi" / "capture-tools"
    return {
        "atheros": d / "ath_csi_1.dat",
        "esp32": d / "example_csi.csv",
        "nexmon": d / "example.pcap",
        "picoscenes": d / "rx_by_iwl5300.csi",
    }


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own XDG config/data dirs, so QSettings and the demo data folder never leak."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(base / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(base / "cache"))  # thumbnail cache of the dataset view


@pytest.fixture(scope="session")
def demo_dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic demo dataset (12 train + 6 val frames), generated once per session."""
    from app.backend.data.demo import generate_demo_dataset

    out = tmp_path_factory.mktemp("demo")
    generate_demo_dataset(out, num_train=12, num_val=6, seed=0)
    return out


@pytest.fixture
def make_read_only() -> Iterator[Callable[[Path], Path]]:
    """``make_read_only(folder)``: no file can be created in ``folder`` any more, until the test ends.

    Mode 0555; for root, which ignores the mode, also the immutable attribute (``chattr +i``).
    """
    locked: list[tuple[Path, bool]] = []

    def writable(folder: Path) -> bool:
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            return False
        probe.unlink()
        return True

    def lock(folder: Path) -> Path:
        folder.chmod(0o555)
        immutable = False
        if writable(folder) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        locked.append((folder, immutable))
        if writable(folder):
            pytest.skip("cannot make a read-only folder here (root without chattr)")
        return folder

    yield lock
    for folder, immutable in locked:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """``small_tmpfs(size_bytes, free=None)``: a folder on a tmpfs of that size, for full-disk tests;
    with ``free``, a file ``.filler`` takes all but about that many bytes.

    Mounting needs root (this project's CI runs as root); elsewhere the test is skipped with the reason.
    """
    mounted: list[Path] = []

    def mount(size: int, free: int | None = None) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        if os.geteuid() != 0 or not shutil.which("mount"):
            pytest.skip("a full disk is simulated with a small tmpfs, which needs root")
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
        if res.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
        mounted.append(point)
        if free is not None:
            from tests.disk import fill_disk

            fill_disk(point, free)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)
