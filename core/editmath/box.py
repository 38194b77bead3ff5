"""Axis-aligned box in source pixels, shared by crop and rotation (kept apart to avoid a cycle)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.width / 2.0, self.y + self.height / 2.0)

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


def fit_inside(box: Box, left: float, top: float, width: float, height: float) -> Box:
    """Shrink ``box`` around its centre (aspect kept) to fit the area, then shift it inside."""
    w, h = box.width, box.height
    cx, cy = box.center
    if w > width or h > height:
        # The binding side is set exactly, so float error cannot leave it a hair too large.
        if width * h <= height * w:
            w, h = width, h * width / w
        else:
            w, h = w * height / h, height
    x = min(max(cx - w / 2.0, left), left + width - w)
    y = min(max(cy - h / 2.0, top), top + height - h)
    return Box(x, y, w, h)
