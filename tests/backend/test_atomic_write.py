"""The one atomic write: content, failure, read-only folders, modes, symlinks; and that it is the only one."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from app.backend.atomic_write import atomic_write, atomic_write_json, replace_path, temp_target
from app.backend.errors import WriteError, is_user_error

REPO = Path(__file__).resolve().parents[2]


def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if temp_target(p.name) is not None]


@pytest.mark.parametrize("durable", [True, False])
def test_bytes_text_and_writer_callbacks_land_in_place(tmp_path: Path, durable: bool) -> None:
    assert atomic_write(tmp_path / "a.bin", b"\x00\x01", durable=durable) == tmp_path / "a.bin"
    atomic_write(tmp_path / "b.txt", "grüße\n", durable=durable)
    atomic_write(tmp_path / "c.bin", lambda f: f.write(b"abc" * 1000), durable=durable)
    atomic_write_json(tmp_path / "d.json", {"name": "Zoë"}, durable=durable)
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "grüße\n"
    assert (tmp_path / "c.bin").read_bytes() == b"abc" * 1000
    assert (tmp_path / "d.json").read_text(encoding="utf-8") == '{"name": "Zoë"}'
    atomic_write(tmp_path / "a.bin", b"new")  # replacing an existing file
    assert (tmp_path / "a.bin").read_bytes() == b"new"
    assert _temps(tmp_path) == []


def _half_then_fail(f) -> None:
    f.write(b"half of the new")
    raise RuntimeError("disk on fire")


def _reject(path: Path) -> None:
    assert path.read_bytes() == b"complete new content"  # the check sees the whole new file
    raise ValueError("does not load back")


@pytest.mark.parametrize(
    ("data", "check", "error"),
    [(_half_then_fail, None, RuntimeError), (b"complete new content", _reject, ValueError)],
    ids=["writer-fails", "check-rejects"],
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(
    tmp_path: Path, data: object, check: Callable | None, error: type[Exception]
) -> None:
    target = tmp_path / "config.yaml"
    target.write_bytes(b"old content")
    with pytest.raises(error):
        atomic_write(target, data, check=check)
    assert target.read_bytes() == b"old content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_a_read_only_folder_is_a_clear_user_error_and_the_old_file_survives(
    tmp_path: Path, make_read_only: Callable[[Path], Path]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.json").write_text("[1]")
    make_read_only(folder)
    with pytest.raises(WriteError) as info:
        atomic_write_json(folder / "train.json", [1, 2])
    exc = info.value
    assert isinstance(exc, OSError) and is_user_error(exc)
    assert str(exc).startswith(f"cannot write {folder / 'train.json'}: ")
    assert exc.filename == str(folder / "train.json")
    assert (folder / "train.json").read_text() == "[1]"
    assert sorted(p.name for p in folder.iterdir()) == ["train.json"]


def test_a_new_file_follows_the_umask_and_an_existing_file_keeps_its_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.json", "{}")
        assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o640  # not mkstemp's 0600
        os.umask(0o022)
        atomic_write(tmp_path / "other.json", "{}")
        assert (tmp_path / "other.json").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    (tmp_path / "new.json").chmod(0o604)
    atomic_write(tmp_path / "new.json", "[]")
    assert (tmp_path / "new.json").stat().st_mode & 0o777 == 0o604
    assert (tmp_path / "new.json").read_text() == "[]"


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    target = real_dir / "project.wdsproj"
    target.write_text("old")
    link = link_dir / "project.wdsproj"
    link.symlink_to(target)
    atomic_write(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new" and link.read_text() == "new"
    assert _temps(real_dir) == [] and _temps(link_dir) == []


def test_replace_path_moves_files_and_folders(tmp_path: Path, make_read_only: Callable[[Path], Path]) -> None:
    (tmp_path / "staged").mkdir()
    (tmp_path / "staged" / "x.txt").write_text("x")
    assert replace_path(tmp_path / "staged", tmp_path / "final") == tmp_path / "final"
    assert (tmp_path / "final" / "x.txt").read_text() == "x" and not (tmp_path / "staged").exists()
    (tmp_path / "a.json").write_text("a")
    replace_path(tmp_path / "a.json", tmp_path / "b.json")
    assert (tmp_path / "b.json").read_text() == "a" and not (tmp_path / "a.json").exists()
    make_read_only(tmp_path / "final")
    with pytest.raises(WriteError):
        replace_path(tmp_path / "b.json", tmp_path / "final" / "b.json")
    assert (tmp_path / "b.json").read_text() == "a"


def test_temp_target_recognises_only_our_temp_names() -> None:
    assert temp_target(".model_0000004.pth.0a1b2c3d.tmp") == "model_0000004.pth"
    assert temp_target(".last_checkpoint.ffffffff.tmp") == "last_checkpoint"
    for name in ("model.pth", "model.pth.tmp", ".model.pth.xyz.tmp", "model.pth.0a1b2c3d.tmp"):
        assert temp_target(name) is None


def test_renames_appear_in_the_atomic_write_module_only() -> None:
    """Every file or folder the app renames into place goes through app/backend/atomic_write.py
    (os.replace, os.rename, shutil.move or Path.rename anywhere else is a second way; tests may use them)."""
    pattern = re.compile(
        r"\bos\.(replace|renames?)\b|\bfrom os import\b[^\n]*\b(replace|renames?)\b|\bshutil\.move\b|\.rename\("
    )
    sources = [REPO / "main.py", *(p for d in ("app", "tools", "benchmarks") for p in (REPO / d).rglob("*.py"))]
    users = sorted(str(p.relative_to(REPO)) for p in sources if pattern.search(p.read_text(encoding="utf-8")))
    assert users == ["app/backend/atomic_write.py"]
