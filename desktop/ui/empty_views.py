"""Lists and trees that explain what to do when they are empty."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QAbstractItemView, QListView, QTreeWidget, QWidget

from desktop.ui import theme


def paint_empty_state(view: QAbstractItemView, text: str) -> None:
    """Centred grey hint in an empty list, so an empty library explains what to do next."""
    painter = QPainter(view.viewport())
    painter.setPen(theme.TEXT_DIM)
    font = QFont(view.font())
    font.setPointSizeF(font.pointSizeF() * 1.15)
    painter.setFont(font)
    rect = view.viewport().rect().adjusted(40, 40, -40, -40)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    painter.end()


class EmptyList(QListView):
    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.model() is not None and self.model().rowCount() == 0:
            paint_empty_state(self, self.empty_text)


class EmptyTree(QTreeWidget):
    def __init__(self, empty_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            paint_empty_state(self, self.empty_text)
