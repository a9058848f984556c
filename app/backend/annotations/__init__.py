"""Qt-free annotation editing: document model, edit operations, journal, lock, atomic saves, dataset index."""

from app.backend.annotations.document import AnnotationDocument
from app.backend.annotations.model import AnnotationValidationError, DensePosePoint, Person
from app.backend.annotations.ops import EditRefused, OpConflictError, insert_op, inverse, remove_op, replace_op
from app.backend.annotations.session import AUTOSAVE_INTERVAL_S, AnnotationSession

__all__ = [
    "AUTOSAVE_INTERVAL_S",
    "AnnotationDocument",
    "AnnotationSession",
    "AnnotationValidationError",
    "DensePosePoint",
    "EditRefused",
    "OpConflictError",
    "Person",
    "insert_op",
    "inverse",
    "remove_op",
    "replace_op",
]
