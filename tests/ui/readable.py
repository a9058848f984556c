"""What a user cannot read in a shown view: clipped buttons, labels, fields, column headers,
toolbar buttons hidden behind ">>".

``unreadable(view)`` walks the visible controls under ``view`` and names each one whose text does
not fit its width, that its parents cut off, or a toolbar that hides actions behind its ">>"
button. It reads the laid-out widgets, so it holds on any platform (run it under xcb as well:
fonts and frames differ from offscreen).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTabBar,
    QToolBar,
    QToolButton,
    QWidget,
)

CONTROLS = (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QLabel, QTabBar)


def _name(w: QWidget) -> str:
    text = ""
    for attr in ("text", "currentText", "placeholderText"):
        value = getattr(w, attr, None)
        if callable(value) and value():
            text = value()
            break
    if not text and isinstance(w, QAbstractSpinBox):
        text = w.text()
    return f"{type(w).__name__} {text[:40]!r} in {type(w.parentWidget()).__name__}"


def _text_fits(w: QWidget) -> bool:
    if isinstance(w, QLabel):
        if not w.text():
            return True
        if w.wordWrap():
            return w.height() >= w.heightForWidth(w.width()) - 1
        return w.width() >= w.sizeHint().width() - 1
    if isinstance(w, QLineEdit):
        if w.text() or not w.placeholderText():
            return True
        # the frame and text margins take ~10 px; the placeholder must fit the rest
        return w.width() >= w.fontMetrics().horizontalAdvance(w.placeholderText()) + 10
    if isinstance(w, QTabBar):
        return w.count() == 0 or w.tabRect(w.count() - 1).right() <= w.width()
    return w.width() >= w.sizeHint().width() - 1 and w.height() >= w.minimumSizeHint().height() - 1


def unreadable(view: QWidget, extra: tuple[QWidget, ...] = ()) -> list[str]:
    """Descriptions of the controls under ``view`` (and the panels in ``extra``) a user cannot read whole."""
    problems = []
    for bar in view.findChildren(QToolBar):
        ext = bar.findChild(QToolButton, "qt_toolbar_ext_button")
        if bar.isVisible() and ext is not None and ext.isVisible():
            problems.append(f"toolbar hides actions behind '>>': {[a.text() for a in bar.actions()]}")
    for header in view.findChildren(QHeaderView):
        if header.isVisible() and header.orientation().name == "Horizontal":
            model = header.model()
            for i in range(header.count()):
                short = header.sectionSize(i) < header.sectionSizeHint(i) - 1
                if short and not header.isSectionHidden(i) and model is not None:
                    problems.append(f"column header {model.headerData(i, header.orientation())!r} cut")
    for w in [*view.findChildren(QWidget), *extra]:
        if not w.isVisible() or not (isinstance(w, CONTROLS) or w in extra):
            continue
        if w.objectName().startswith("qt_") or isinstance(w.parentWidget(), QTabBar):
            continue  # Qt's own parts (toolbar extension, tab scroll buttons)
        seen = w.visibleRegion().boundingRect()
        if seen != w.rect():
            problems.append(f"{_name(w)}: cut to {seen.width()}x{seen.height()} of {w.width()}x{w.height()}")
        elif not _text_fits(w):
            problems.append(f"{_name(w)}: {w.width()}x{w.height()} px, needs {w.sizeHint().width()}x{w.sizeHint().height()}")
    return problems
