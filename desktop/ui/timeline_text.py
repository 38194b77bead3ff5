"""The timeline's Text lane: one bar per text region of the clip (its span in clip time, labelled
with its text), packed into as few rows as overlaps allow. Display only: the Text panel edits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter

from desktop.ui import theme

ROW_H = 18.0


@dataclass(frozen=True)
class TextBar:
    uid: str
    start: float
    end: float
    label: str
    row: int


def text_bars(edit: Mapping[str, Any]) -> list[TextBar]:
    bars: list[TextBar] = []
    row_ends: list[float] = []
    for r in sorted(edit.get("text_regions") or (), key=lambda r: (r["start"], r["uid"])):
        row = next((i for i, end in enumerate(row_ends) if end <= r["start"]), len(row_ends))
        if row == len(row_ends):
            row_ends.append(0.0)
        row_ends[row] = float(r["end"])
        bars.append(TextBar(r["uid"], float(r["start"]), float(r["end"]),
                            " · ".join(e["text"] for e in r["elements"]) or "(empty)", row))
    return bars


def lane_height(bars: list[TextBar]) -> float:
    return ROW_H * (max((b.row for b in bars), default=-1) + 1) + 4 if bars else 0.0


def paint_text_lane(p: QPainter, top: float, bars: list[TextBar], x_for_time: Callable[[float], float],
                    visible: QRectF) -> None:
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    fill = QColor(theme.ACCENT)
    fill.setAlpha(200)
    for b in bars:
        x0, x1 = x_for_time(b.start), x_for_time(b.end)
        bar = QRectF(x0, top + 2 + b.row * ROW_H, max(2.0, x1 - x0), ROW_H - 4)
        if bar.right() < visible.left() or bar.left() > visible.right():
            continue
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fill)
        p.drawRoundedRect(bar, 3, 3)
        p.setPen(theme.ACCENT_TEXT)
        p.drawText(bar.adjusted(4, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(b.label, Qt.TextElideMode.ElideRight, int(bar.width() - 6)))
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
