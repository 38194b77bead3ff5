"""Says when a spotlight ring falls outside the crop: the export would dim the whole picture with
no ring there. Shown over the viewer (Frame and Spotlight modes) and in the export panel."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QWidget

from core.editmath.spotlight_visibility import HiddenSpan, hidden_spotlight_spans
from core.enums import AspectRatio
from desktop.ui import theme
from desktop.ui.undo import fmt_time

MAX_LISTED = 3


def hidden_spans(clip: Mapping[str, Any], aspect: AspectRatio | str) -> list[HiddenSpan]:
    src = clip["source"]
    return hidden_spotlight_spans(clip["edit"], float(src["width"]), float(src["height"]),
                                  Fraction(int(src["fps_num"]), int(src["fps_den"])), AspectRatio(aspect))


def spans_text(spans: list[HiddenSpan]) -> str:
    """"00:03.20–00:04.10, 00:05.00–00:05.50" (the first few)."""
    shown = ", ".join(f"{fmt_time(s.start)}–{fmt_time(s.end)}" for s in spans[:MAX_LISTED])
    return shown + (f" and {len(spans) - MAX_LISTED} more" if len(spans) > MAX_LISTED else "")


class SpotlightWarning(QLabel):
    """A strip along the bottom of the viewer, shown only while a ring would be invisible."""

    def __init__(self, viewer: QWidget) -> None:
        super().__init__(viewer)
        self.setObjectName("SpotlightWarning")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(f"#SpotlightWarning {{ background: {theme.PANEL_HI.name()}; color: {theme.TEXT.name()};"
                           f" border-top: 2px solid {theme.ERROR.name()}; padding: 5px 10px; }}")
        self.spans: list[HiddenSpan] = []
        viewer.installEventFilter(self)
        self.hide()

    def show_for(self, clip: Mapping[str, Any] | None, aspect: AspectRatio | str) -> None:
        self.spans = hidden_spans(clip, aspect) if clip is not None else []
        if not self.spans:
            self.hide()
            return
        self.setText(f"⚠  The spotlight is outside the crop at {spans_text(self.spans)}: the ring will not be "
                     "visible there and the whole picture is dimmed. Move the crop or the spotlight.")
        self._place()
        self.show()
        self.raise_()

    def _place(self) -> None:
        viewer = self.parentWidget()
        h = self.heightForWidth(viewer.width()) if self.hasHeightForWidth() else self.sizeHint().height()
        self.setGeometry(0, viewer.height() - h, viewer.width(), h)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        if obj is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False


__all__ = ["SpotlightWarning", "hidden_spans", "spans_text"]
