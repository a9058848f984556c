"""Error types whose message is meant for the user (shown on one line, no traceback)."""

from __future__ import annotations


class UserFacingError(Exception):
    """Base for errors caused by user input: bad files, bad configs, bad arguments."""


class ConfigError(UserFacingError, ValueError):
    """A config file or override is invalid; the message names the key and the reason."""


class CsiFormatError(UserFacingError):
    """A CSI file is malformed, truncated, foreign or has an unsupported layout."""


class DatasetError(UserFacingError):
    """A dataset JSON or one of its referenced files is invalid."""


class CheckpointError(UserFacingError):
    """A checkpoint cannot be read or does not fit the model."""


class DownloadError(UserFacingError):
    """A remote file (``_BASE_``, ``MODEL.WEIGHTS`` URL) was refused or could not be fetched or verified."""


class OutputInUseError(UserFacingError):
    """An output folder is held by another run (see :mod:`app.backend.output_lock`)."""


class WriteError(UserFacingError, OSError):
    """A file could not be written (read-only folder, full disk, ...); the old file, if any, is intact.

    An ``OSError`` (``errno``, ``strerror``, ``filename`` = the destination), so code that
    handles OSError still does; its message reads ``cannot write PATH: REASON``.
    """

    @classmethod
    def of(cls, path: object, exc: OSError) -> WriteError:
        return cls(exc.errno, exc.strerror or str(exc), str(path))

    def __str__(self) -> str:
        return f"cannot write {self.filename}: {self.strerror}"


def is_user_error(exc: BaseException) -> bool:
    """True for exceptions whose message should reach the user as one line."""
    return isinstance(exc, (UserFacingError, FileNotFoundError))


class LiveSourceError(UserFacingError):
    """A live source cannot be opened or followed (no such file, not a capture log, address in use)."""
