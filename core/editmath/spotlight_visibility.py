"""When a spotlight ring falls outside the crop (it would dim the whole picture with no ring).

The renderer turns each region's centre with the picture (clockwise ``rotation`` degrees about the
frame centre) and draws an axis-aligned ellipse of the region's radii, then crops. The ring is
visible while that ellipse overlaps the crop box; this module finds the spans where it does not,
sampled frame by frame with the same ``crop_at`` and ``interpolate`` the renderer uses.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.editmath.box import Box
from core.editmath.crop import crop_at
from core.editmath.interpolation import interpolate
from core.editmath.spotlight import REGION_PROPS, RegionTrack, rotate_point
from core.enums import AspectRatio

MAX_SAMPLES_PER_REGION = 4000  # long regions are sampled more coarsely than every frame


@dataclass(frozen=True, slots=True)
class HiddenSpan:
    """Clip seconds [start, end) during which ``region``'s ring lies wholly outside the crop."""
    region: str
    start: float
    end: float


def ellipse_meets_box(cx: float, cy: float, rx: float, ry: float, box: Box) -> bool:
    """Whether the axis-aligned ellipse overlaps the box (the box's point nearest the centre)."""
    if rx <= 0 or ry <= 0:
        return box.x <= cx <= box.x + box.width and box.y <= cy <= box.y + box.height
    px = min(max(cx, box.x), box.x + box.width)
    py = min(max(cy, box.y), box.y + box.height)
    return ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 <= 1.0


def hidden_spotlight_spans(edit: Mapping[str, Any], frame_w: float, frame_h: float, fps: Fraction,
                           aspect: AspectRatio) -> list[HiddenSpan]:
    """Spans of each enabled region (with keyframes) whose ring is outside the crop, in time order."""
    crop_track = [(float(k["time"]), k) for k in sorted(edit.get("crop_keyframes") or (), key=lambda k: k["time"])]
    rotation = float(edit.get("rotation") or 0.0)
    frame = float(1 / Fraction(fps))
    spans: list[HiddenSpan] = []
    for region in map(RegionTrack.from_doc, edit.get("regions") or ()):
        if not region.enabled or not region.track:
            continue
        start, end = region.start, region.end
        step = max(frame, (end - start) / MAX_SAMPLES_PER_REGION)
        hidden_from: float | None = None
        n = max(1, math.ceil((end - start) / step - 1e-9))
        for i in range(n):
            t = start + i * step
            v = interpolate(region.track, t, REGION_PROPS)
            assert v is not None
            cx, cy = rotate_point(v["x"], v["y"], frame_w, frame_h, rotation)
            box = crop_at(crop_track, t, frame_w, frame_h, aspect, rotation)
            if not ellipse_meets_box(cx, cy, v["rx"], v["ry"], box):
                if hidden_from is None:
                    hidden_from = t
            elif hidden_from is not None:
                spans.append(HiddenSpan(region.uid, hidden_from, t))
                hidden_from = None
        if hidden_from is not None:
            spans.append(HiddenSpan(region.uid, hidden_from, end))
    return sorted(spans, key=lambda s: (s.start, s.region))


__all__ = ["HiddenSpan", "ellipse_meets_box", "hidden_spotlight_spans"]
