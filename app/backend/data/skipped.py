"""Records left out of a pass over a dataset: one rule for what is skipped, and one way to say so.

The rule (the CSI-normalisation pass, the training and test mappers, ``infer --input
dataset.json``, the MTN pretraining cache all follow it): a record is skipped when reading
or decoding *its own files* fails with a user-facing error (a truncated or foreign CSI file,
an image that does not decode, a missing file: :func:`is_bad_record`); any other exception
is a bug and propagates. Each skipped record is named once (the first :data:`MAX_NAMED`,
then only counted), the pass ends with one summary line, and a pass that is left with no
record at all fails with :class:`~app.backend.errors.DatasetError` naming the first reason.

Records that fail the dataset's own checks (:mod:`app.backend.data.validate`) never reach
these passes: the loader drops them, listed the same way (``validate-dataset`` lists all).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.backend.errors import DatasetError, UserFacingError, WriteError

logger = logging.getLogger(__name__)

#: Skipped records named one by one; later ones are only counted.
MAX_NAMED = 20


def record_name(record: Any) -> str:
    """How a record is named in messages: its CSI file, else its frame, else its image id."""
    if isinstance(record, dict):
        name = record.get("csi_file") or record.get("file_name")
        return str(name) if name else f"image {record.get('image_id', '?')}"
    return str(record)


def is_bad_record(exc: BaseException) -> bool:
    """True for the errors that make a record unusable (its files), not the program (see the module docstring)."""
    return isinstance(exc, (UserFacingError, OSError)) and not isinstance(exc, WriteError)


class SkippedRecords:
    """Counts and names the records a pass skips.

    Args:
        what: the pass, as the summary names it (e.g. ``"CSI normalisation"``).
        log: where the lines go (default: this module's logger at WARNING).
    """

    def __init__(self, what: str, log: Callable[[str], None] | None = None) -> None:
        self.what = what
        self.log = log or (lambda line: logger.warning("%s", line))
        self.reasons: dict[str, str] = {}  # name -> first reason, in order

    @property
    def count(self) -> int:
        return len(self.reasons)

    def skip(self, record: Any, reason: str | BaseException) -> None:
        """Record that ``record`` was skipped for ``reason`` (a record skipped again is not counted again)."""
        name = record_name(record)
        if name in self.reasons:
            return
        text = " ".join(str(reason).split())[:300] or type(reason).__name__
        self.reasons[name] = text
        if self.count <= MAX_NAMED:
            self.log(f"{self.what}: skipped {name}: {text}")
        elif self.count == MAX_NAMED + 1:
            self.log(f"{self.what}: more records skipped; they are only counted from here on")

    def summary(self, total: int) -> str:
        """One line: how many of ``total`` records were skipped ("" when none)."""
        if not self.reasons:
            return ""
        return f"{self.what}: skipped {self.count} of {total} records (unreadable or refused files; named above)"

    def require_some_left(self, total: int) -> None:
        """DatasetError when every one of ``total`` records was skipped (or there were none)."""
        if total and self.count < total:
            return
        if not self.reasons:
            raise DatasetError(f"{self.what}: no records to use")
        name, reason = next(iter(self.reasons.items()))
        raise DatasetError(f"{self.what}: all {total} records were unusable, e.g. {name}: {reason}")
