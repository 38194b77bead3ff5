"""What the Spotlight and Text panels share: a list of time regions on the open clip, edited by
gestures on that clip (its start/end retimed, its colour shown on a button)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPushButton, QTreeWidget, QWidget

from core.enums import GestureKind
from core.gestures.model import Gesture
from desktop.ui.undo import EditorState


class ClipRegionPanel(QWidget):
    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state

    @staticmethod
    def _selected_pair(tree: QTreeWidget) -> tuple[str | None, str | None]:
        """The (region, child) uids the selected row stands for: a region row has no child."""
        items = tree.selectedItems()
        if not items:
            return None, None
        region, child = items[0].data(0, Qt.ItemDataRole.UserRole)
        return region, child

    def _apply(self, kind: GestureKind, payload: dict[str, Any], **kw: Any) -> Any:
        if self.state.wc_uid is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return None
        return self.state.apply(Gesture(kind, self.state.wc_uid, payload), **kw)

    def _retime(self, region: dict[str, Any], start: float | None, end: float | None, *, kind: GestureKind,
                key: str, what: str, refill: Callable[[], None]) -> None:
        """Move ``region``'s start and/or end; an empty span is refused in words and the fields refilled."""
        start = region["start"] if start is None else start
        end = region["end"] if end is None else end
        if end <= start:
            self.state.message.emit(f"{what} must end after it starts", True)
            refill()
            return
        if abs(start - region["start"]) < 1e-6 and abs(end - region["end"]) < 1e-6:
            return
        self._apply(kind, {key: region["uid"], "start": round(start, 6), "end": round(end, 6)},
                    merge_key=region["uid"])


def show_colour(button: QPushButton, colour_hex: str) -> None:
    """The colour as the button's face, its name in black or white, whichever reads."""
    colour = QColor(colour_hex)
    luma = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    ink = "#000000" if luma > 140 else "#FFFFFF"
    button.setText(colour_hex.upper())
    button.setStyleSheet(f"QPushButton {{ background: {colour.name()}; color: {ink}; }}")


__all__ = ["ClipRegionPanel", "show_colour"]
