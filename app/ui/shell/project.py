"""A project: a folder with its config YAML, dataset paths and output folder (Qt-free).

On disk::

    <root>/project.wdsproj   JSON: {"format": "wifi-densepose-studio-project/1", "name",
                             "config": "config.yaml", "datasets": [...], "output_dir": "output"}
    <root>/config.yaml       detectron2 YAML: ``_BASE_`` + only the keys that differ from it
    <root>/output/           OUTPUT_DIR of runs started from the app

Paths inside the project file are relative to the root when they lie under it.
The config YAML is the single source of the run settings (so the CLI can train it:
``python main.py train --config-file <root>/config.yaml``); ``OUTPUT_DIR`` and
``DATASETS.DEMO.ROOT`` are written into it when the project is created.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.backend.atomic_write import atomic_write
from app.backend.errors import UserFacingError

PROJECT_FILE = "project.wdsproj"
PROJECT_FORMAT = "wifi-densepose-studio-project/1"


#: Largest project file read (ours are under 1 KB).
MAX_PROJECT_BYTES = 1 << 20


class ProjectError(UserFacingError):
    """A project file is missing, unreadable or not a project."""


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: what save() never writes


@dataclass
class Project:
    """Project settings; ``root`` is the project folder (absolute)."""

    root: Path
    name: str = "project"
    config: str = "config.yaml"
    datasets: list[str] = field(default_factory=list)
    output_dir: str = "output"

    @property
    def file(self) -> Path:
        return self.root / PROJECT_FILE

    @property
    def config_path(self) -> Path:
        return _resolve(self.root, self.config)

    @property
    def output_path(self) -> Path:
        return _resolve(self.root, self.output_dir)

    def to_json(self) -> dict[str, Any]:
        return {"format": PROJECT_FORMAT, "name": self.name, "config": self.config,
                "datasets": list(self.datasets), "output_dir": self.output_dir}

    def save(self) -> Path:
        """Write ``project.wdsproj`` atomically (temporary file + rename); returns its path."""
        self.root.mkdir(parents=True, exist_ok=True)
        return atomic_write(self.file, json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Project:
        """Open a project folder or its ``project.wdsproj``; raises ProjectError with the reason."""
        p = Path(path).expanduser().resolve()
        file = p / PROJECT_FILE if p.is_dir() else p
        if not file.is_file():
            raise ProjectError(f"no project at {p} (expected {PROJECT_FILE})")
        try:
            size = file.stat().st_size
            if size > MAX_PROJECT_BYTES:
                raise ProjectError(f"{file}: {size} bytes, more than the {MAX_PROJECT_BYTES} a project file may have")
            data = json.loads(file.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
        except RecursionError:
            raise ProjectError(f"cannot read project file {file}: JSON nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise ProjectError(f"cannot read project file {file}: not UTF-8 text at byte {exc.start}") from None
        except json.JSONDecodeError as exc:
            raise ProjectError(f"cannot read project file {file}: {exc.msg} at line {exc.lineno}") from None
        except (OSError, ValueError) as exc:  # ValueError: e.g. an integer of more than 4300 digits
            raise ProjectError(f"cannot read project file {file}: {' '.join(str(exc).split())[:120]}") from None
        if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
            raise ProjectError(f"{file} is not a {PROJECT_FORMAT} project file")
        datasets = data.get("datasets", [])
        if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
            raise ProjectError(f"{file}: 'datasets' must be a list of paths")
        for key in ("name", "config", "output_dir"):
            if key in data and not isinstance(data[key], str):
                raise ProjectError(f"{file}: {key!r} must be a string, not {type(data[key]).__name__}")
        fields = {k: data[k] for k in ("name", "config", "output_dir") if k in data}
        return cls(root=file.parent, datasets=list(datasets), **fields)

    @classmethod
    def create(cls, root: str | Path, base_config: str | Path, name: str | None = None,
               overrides: dict[str, Any] | None = None, datasets: list[str] | None = None) -> Project:
        """Make a new project folder whose config is ``_BASE_: base_config`` plus ``overrides``.

        ``OUTPUT_DIR`` is set to ``<root>/output`` unless ``overrides`` names it.
        Refuses to overwrite an existing project.
        """
        from app.ui.config.config_io import write_config_diff

        root = Path(root).expanduser().resolve()
        if (root / PROJECT_FILE).exists():
            raise ProjectError(f"a project already exists at {root}")
        project = cls(root=root, name=name or root.name, datasets=list(datasets or []))
        values = {"OUTPUT_DIR": str(project.output_path), **(overrides or {})}
        root.mkdir(parents=True, exist_ok=True)
        write_config_diff(project.config_path, Path(base_config), values)
        project.save()
        return project


def _resolve(root: Path, rel: str) -> Path:
    p = Path(rel).expanduser()
    return p if p.is_absolute() else root / p
