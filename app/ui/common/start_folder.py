"""Where the app's file dialogs open: the open project's folders, not the working directory.

The shell calls :func:`set_project_folders` when a project opens; every view asks
:func:`start_folder` for the folder a dialog starts in:

- ``"project"``: the project folder (configs, attach to a run);
- ``"dataset"``: the project's first dataset folder (dataset JSON, CSI recordings, images);
- ``"output"``: the project's OUTPUT_DIR (checkpoints, exported images);
- ``"projects"``: the folder holding the project (open or make another project).

A path the user already typed wins: its folder (or itself, when it is a folder) is used while it
exists. Without a project the user's home folder is used, never the working directory.
"""

from __future__ import annotations

from pathlib import Path

_folders: dict[str, Path] = {}


def set_project_folders(project: str | Path | None, datasets: list[str | Path] = (),
                        output: str | Path | None = None) -> None:
    """Remember the open project's folders (``project`` None: no project). A dataset may be given
    as its folder or as one of its JSON files."""
    _folders.clear()
    if project is None:
        return
    root = Path(project)
    _folders["project"] = root
    _folders["projects"] = root.parent
    for dataset in datasets:
        path = Path(dataset)
        folder = path if path.is_dir() else path.parent
        if folder.is_dir():
            _folders["dataset"] = folder
            break
    if output:
        _folders["output"] = Path(output)


def start_folder(kind: str = "project", current: str | Path = "") -> str:
    """The folder a file dialog of ``kind`` opens in (see the module docstring), as a string for Qt."""
    if str(current).strip():
        typed = Path(current).expanduser()
        for candidate in (typed, typed.parent):
            if candidate.is_dir():
                return str(candidate)
    for name in (kind, "project"):
        folder = _folders.get(name)
        if folder is not None and folder.is_dir():
            return str(folder)
    return str(Path.home())


def start_path(kind: str, file_name: str) -> str:
    """``file_name`` inside :func:`start_folder` (the suggestion of a save dialog)."""
    return str(Path(start_folder(kind)) / file_name)
