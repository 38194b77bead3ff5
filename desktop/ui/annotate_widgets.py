"""The Annotate panel's own widgets: star rating, the notes box, the draggable clip list, and
how typed tags are read.
"""
from __future__ import annotations

import json
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, QSize, Signal
from PySide6.QtGui import QFocusEvent
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QPlainTextEdit, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QWidget)

from desktop.ui import theme
from desktop.ui.library_panel import CLIPS_MIME, UID_ROLE, paint_empty_state


def parse_tags(text: str) -> list[str]:
    """Tags as typed, comma- or semicolon-separated; "#9 #10" (hashtags) are two tags. A tag keeps
    its "#": a player's number #9 stays #9."""
    seen: list[str] = []
    for part in text.replace(";", ",").split(","):
        words = part.split()
        many = len(words) > 1 and all(w.startswith("#") for w in words)
        for t in (words if many else [" ".join(words)]):
            t = t[:64]
            if t and t not in seen:
                seen.append(t)
    return seen[:32]


class StarRating(QWidget):
    """Five clickable stars; clicking the current rating clears it."""

    rated = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self.value = 0
        for n in range(1, 6):
            b = QToolButton()
            b.setText("★")
            b.setAutoRaise(True)
            b.setToolTip(f"{n} star{'s' if n > 1 else ''}  (key {n})")
            b.setFixedSize(QSize(26, 26))
            b.clicked.connect(lambda _c=False, n=n: self.rated.emit(0 if n == self.value else n))
            layout.addWidget(b)
            self.buttons.append(b)
        layout.addStretch(1)
        self.set_value(0)

    def set_value(self, n: int) -> None:
        self.value = n
        for i, b in enumerate(self.buttons, 1):
            colour = theme.rating_color(n) if i <= n else theme.TEXT_DISABLED
            b.setStyleSheet(f"QToolButton {{ color: {colour.name()}; font-size: 16px; border: none; "
                            f"background: transparent; padding: 0; }}")


class NotesEdit(QPlainTextEdit):
    """Clip notes: ``committed`` when focus leaves (the panel also saves a pause after typing)."""

    committed = Signal()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self.committed.emit()


class ClipList(QTreeWidget):
    """The media's clips; drag them onto a reel in the Library (same mime type as the grid)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)

    def mimeTypes(self) -> list[str]:
        return [CLIPS_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:
        data = QMimeData()
        data.setData(CLIPS_MIME, json.dumps([i.data(0, UID_ROLE) for i in items]).encode("utf-8"))
        return data

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            paint_empty_state(self, "No clips in this footage yet.\nPlay it and press I then O, "
                                    "or M for a quick mark around the playhead.")


__all__ = ["ClipList", "NotesEdit", "StarRating", "parse_tags"]
