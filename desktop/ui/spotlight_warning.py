"""Says when a spotlight ring falls outside the crop: the export would dim the whole picture with
no ring there. Shown under the viewer (Frame and Spotlight modes) and in the export panel."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from core.editmath.spotlight_visibility import HiddenSpan, hidden_spotlight_spans
from core.enums import AspectRatio
from desktop.ui import theme
from desktop.ui.undo import fmt_time

MAX_LISTED = 3


def hidden_spans(clip: Mapping[str, Any], aspect: AspectRatio | str) -> list[HiddenSpan]:
    """The spans of the clip's kept range (trimmed-away time is not exported) with no ring."""
    src = clip["source"]
    spans = hidden_spotlight_spans(clip["edit"], float(src["width"]), float(src["height"]),
                                   Fraction(int(src["fps_num"]), int(src["fps_den"])), AspectRatio(aspect))
    trim = clip["edit"].get("trim")
    if not trim:
        return spans
    kept = [HiddenSpan(s.region, max(s.start, trim["start"]), min(s.end, trim["end"])) for s in spans]
    return [s for s in kept if s.end > s.start]


def spans_text(spans: list[HiddenSpan]) -> str:
    """"00:03.20–00:04.10, 00:05.00–00:05.50" (the first few)."""
    shown = ", ".join(f"{fmt_time(s.start)}–{fmt_time(s.end)}" for s in spans[:MAX_LISTED])
    return shown + (f" and {len(spans) - MAX_LISTED} more" if len(spans) > MAX_LISTED else "")


class SpotlightWarning(QLabel):
    """A strip under the viewer (not over the picture), shown only while a ring would be invisible."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SpotlightWarning")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(f"#SpotlightWarning {{ background: {theme.PANEL_HI.name()}; color: {theme.TEXT.name()};"
                           f" border-top: 2px solid {theme.ERROR.name()}; padding: 5px 10px; }}")
        self.spans: list[HiddenSpan] = []
        self.hide()

    def show_for(self, clip: Mapping[str, Any] | None, aspect: AspectRatio | str) -> None:
        self.spans = hidden_spans(clip, aspect) if clip is not None else []
        self.setText(f"⚠  The spotlight is outside the crop at {spans_text(self.spans)}: the ring will not be "
                     "visible there and the whole picture is dimmed. Move the crop or the spotlight."
                     if self.spans else "")
        self.setVisible(bool(self.spans))


__all__ = ["SpotlightWarning", "hidden_spans", "spans_text"]
