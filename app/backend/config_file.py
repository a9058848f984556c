"""Reading a config YAML and its ``_BASE_`` chain as data, within fixed bounds.

:func:`read_config_chain` replaces yacs' ``load_yaml_with_base`` for files users hand us:

- size: a file over :data:`MAX_CONFIG_BYTES` is refused before it is parsed (PyYAML reads
  about 0.2 MB/s: a 50 MB file took minutes);
- YAML: ``yaml.safe_load`` only (no Python tags, never code), the top level must be a
  mapping; the loaded document may hold at most :data:`MAX_CONFIG_VALUES` values counted
  through aliases (a "billion laughs" of nested aliases is refused, not expanded);
- ``_BASE_``: a path relative to the file (or absolute, ``~`` expanded), a
  ``builtin://NAME.yaml`` (a config in this app's ``resources/configs``, wherever the app
  lies: what projects made from a built-in config name, so they follow the app that opens
  them), an ``https://`` URL or a ``detectron2://`` name (fetched by :mod:`app.backend.remote`,
  cached by the full URL); other schemes are refused; chains deeper than
  :data:`MAX_BASE_DEPTH` (a file that names itself) are refused. A list of bases merges left
  to right, then the file itself.

Every problem raises :class:`~app.backend.errors.ConfigError` naming the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from app.backend import remote
from app.backend.errors import ConfigError, UserFacingError

#: Largest config YAML read (ours are under 10 KB).
MAX_CONFIG_BYTES = 256 * 1024
#: Most values (scalars, list items, mapping entries) a loaded config may hold, aliases counted each time.
MAX_CONFIG_VALUES = 100_000
#: Deepest nesting of flow collections (``[`` / ``{``) accepted (libyaml crashes past tens of thousands).
MAX_FLOW_DEPTH = 100
#: Longest ``_BASE_`` chain followed.
MAX_BASE_DEPTH = 8
BASE_KEY = "_BASE_"
#: The configs shipped with the app, named ``builtin://NAME.yaml``.
CONFIGS_DIR = Path(__file__).resolve().parents[2] / "resources" / "configs"
BUILTIN_SCHEME = "builtin://"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_config_chain(path: str, depth: int = 0) -> dict[str, Any]:
    """The mapping of config file ``path`` with its ``_BASE_`` chain merged in (see the module docstring).

    Raises:
        ConfigError: missing, huge, malformed or hostile file, bad ``_BASE_`` (one line, naming ``path``).
    """
    if depth > MAX_BASE_DEPTH:
        raise ConfigError(f"{path}: _BASE_ chain longer than {MAX_BASE_DEPTH} files (does a file name itself?)")
    if is_builtin(path):
        path = str(builtin_path(path))
    data = _load_mapping(path)
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) and b for b in bases):
        raise ConfigError(f"{path}: _BASE_ must be a file name or a list of them, got {bases!r:.80}")
    merged: dict[str, Any] = {}
    for base in bases:
        _merge_into(read_config_chain(resolve_base(path, base), depth + 1), merged, path)
    _merge_into(data, merged, path)
    return merged


def is_builtin(name: str) -> bool:
    """True for ``builtin://...`` names (valid or not)."""
    return str(name).startswith(BUILTIN_SCHEME)


def builtin_path(name: str) -> Path:
    """The file a ``builtin://NAME.yaml`` names in :data:`CONFIGS_DIR`.

    Raises:
        ConfigError: not a plain ``.yaml`` file name there (no folders, no ``..``), or no such config.
    """
    file = str(name)[len(BUILTIN_SCHEME):]
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.yaml", file):  # a plain file name: no folders, no ..
        raise ConfigError(f"{name!r:.80} is not a built-in config name (builtin://NAME.yaml)")
    path = CONFIGS_DIR / file
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in CONFIGS_DIR.glob("*.yaml")))
        raise ConfigError(f"no built-in config {file!r:.80} (this app has: {known})")
    return path


def builtin_name(path: str | os.PathLike[str]) -> str | None:
    """``builtin://NAME.yaml`` for a file of :data:`CONFIGS_DIR`, None for any other path."""
    p = Path(path).expanduser().resolve()
    return BUILTIN_SCHEME + p.name if p.parent == CONFIGS_DIR.resolve() and p.suffix == ".yaml" else None


def resolve_base(path: str | os.PathLike[str], base: str) -> str:
    """The file or URL that ``_BASE_: base`` in config ``path`` names (``builtin://``, ``~`` and relative resolved)."""
    path = str(path)
    if is_builtin(base):
        try:
            return str(builtin_path(base))
        except ConfigError as exc:
            raise ConfigError(f"{path}: _BASE_ {exc}") from None
    if remote.is_url(base):
        return base
    if remote.is_url(path):
        raise ConfigError(f"{path}: a remote config may only name URLs as _BASE_, got {base!r:.80}")
    base = os.path.expanduser(base)
    return base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)


def _load_mapping(path: str) -> dict[str, Any]:
    try:
        local = str(remote.fetch(path, max_bytes=MAX_CONFIG_BYTES)) if remote.is_url(path) else path
    except UserFacingError as exc:
        raise ConfigError(str(exc)) from None
    try:
        size = os.path.getsize(local)
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {size} bytes, more than the {MAX_CONFIG_BYTES} a config file may have")
        with open(local, "rb") as f:
            text = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise ConfigError(f"{path}: YAML nested too deeply (more than {MAX_FLOW_DEPTH} levels of [ or {{)")
    try:
        data = yaml.load(text, Loader=_Loader)  # a safe loader: no tags that construct objects
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}: not valid YAML{at}: {problem}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({type(exc).__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level of a config must be a mapping of keys, got {type(data).__name__}")
    _count_values(data, path)
    return data


def _flow_depth(text: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in ``text`` (brackets inside strings count too: an over-estimate)."""
    depth = deepest = 0
    for c in text.translate(None, delete=bytes(set(range(256)) - set(b"[]{}"))):
        if c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _count_values(data: Any, path: str) -> None:
    """Refuse documents whose values, counted through aliases, exceed :data:`MAX_CONFIG_VALUES`."""
    count = 0
    stack = [data]
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_CONFIG_VALUES:
            raise ConfigError(f"{path}: more than {MAX_CONFIG_VALUES} values (nested aliases?); not a config")
        if isinstance(node, dict):
            if not all(isinstance(k, str) for k in node):
                raise ConfigError(f"{path}: config keys must be strings")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _merge_into(a: dict[str, Any], b: dict[str, Any], path: str, prefix: str = "") -> None:
    """Merge mapping ``a`` into ``b`` (``a`` wins; sub-mappings merge key by key)."""
    for k, v in a.items():
        if isinstance(v, dict) and k in b:
            if not isinstance(b[k], dict):
                raise ConfigError(f"{path}: {prefix}{k} is a mapping here but a value in its _BASE_")
            _merge_into(v, b[k], path, f"{prefix}{k}.")
        else:
            b[k] = v
