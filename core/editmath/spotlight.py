"""The spotlight overlay at one time: which regions show, how faded, where and how big.

One implementation for the renderer (``core.export.picture``, YUV planes at the output size) and
the editor's viewer (QPainter over the whole source frame): both ask these functions for every
number they draw, so the preview cannot drift from the export.

Regions live in unrotated source pixels and clip seconds. A region shows on ``[start, end)``; the
overlay fades out over the last ``fade_out`` seconds. Its centre turns with the picture (clockwise
``rotation`` degrees about the frame centre) and its ellipse stays axis-aligned; ``OutputMap``
then maps the rotated picture's ``box`` (the crop, or the whole frame) onto an output rectangle.
The "ground" shape is drawn at the region's feet, flattened; the region's own (body) ellipse is
what stays undimmed.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from core.editmath.box import Box
from core.editmath.interpolation import Keyframe, interpolate
from core.enums import OverlayShape

# The one definition of the default overlay style (what a clip has before set_overlay_style).
DEFAULT_OVERLAY_STYLE: Final[Mapping[str, Any]] = MappingProxyType({
    "color": "#FFD400", "stroke": 4.0, "fill_opacity": 0.0, "dim": 0.5,
    "shape": OverlayShape.BODY.value, "fade_out": 0.3,
})
STROKE_REFERENCE: Final = 1080.0  # the style's ring width is in pixels of a 1080-pixel short side
GROUND_FLATTEN: Final = 0.2  # ground shape: the region's width, this fraction of its height
REGION_PROPS: Final = ("x", "y", "rx", "ry")


def rotate_point(x: float, y: float, frame_w: float, frame_h: float, degrees: float) -> tuple[float, float]:
    """A source point turned clockwise (y down) by ``degrees`` about the frame centre."""
    if not degrees:
        return x, y
    a = math.radians(degrees)
    cx, cy = frame_w / 2.0, frame_h / 2.0
    dx, dy = x - cx, y - cy
    return cx + dx * math.cos(a) - dy * math.sin(a), cy + dx * math.sin(a) + dy * math.cos(a)


@dataclass(frozen=True, slots=True)
class RegionTrack:
    """One spotlight region: its span (clip seconds) and keyframes sorted by time."""
    uid: str
    start: float
    end: float
    enabled: bool
    track: tuple[Keyframe, ...]

    @classmethod
    def from_doc(cls, region: Mapping[str, Any]) -> RegionTrack:
        """From a region of a clip document (``edit["regions"]``)."""
        kfs = sorted(region.get("keyframes") or (), key=lambda k: float(k["time"]))
        return cls(str(region["uid"]), float(region["start"]), float(region["end"]),
                   bool(region.get("enabled", True)), tuple((float(k["time"]), k) for k in kfs))


@dataclass(frozen=True, slots=True)
class Ellipse:
    """An axis-aligned ellipse: centre and radii."""
    x: float
    y: float
    rx: float
    ry: float


@dataclass(frozen=True, slots=True)
class ShownRegion:
    """A region showing at one time: its body ellipse and overlay opacity (0..1, the fade)."""
    uid: str
    ellipse: Ellipse
    alpha: float


def region_alpha(start: float, end: float, t: float, fade_out: float) -> float:
    """Overlay opacity of a region at clip time ``t``: 0 outside ``[start, end)``, fading out to
    0 over its last ``fade_out`` seconds."""
    if not start <= t < end:
        return 0.0
    return 1.0 if fade_out <= 0 else min(1.0, (end - t) / fade_out)


def shown_regions(regions: Iterable[RegionTrack], t: float, fade_out: float) -> tuple[ShownRegion, ...]:
    """The enabled regions with keyframes showing at ``t``, in source pixels, in drawing order."""
    out = []
    for r in regions:
        alpha = region_alpha(r.start, r.end, t, fade_out) if r.enabled else 0.0
        v = interpolate(r.track, t, REGION_PROPS) if alpha > 0 else None
        if v is not None:
            out.append(ShownRegion(r.uid, Ellipse(v["x"], v["y"], v["rx"], v["ry"]), alpha))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class OutputMap:
    """Unrotated source pixels -> output pixels: the picture turned ``rotation`` degrees about
    the frame centre, then its ``box`` scaled onto ``(out_x, out_y, out_w, out_h)``."""
    frame_w: float
    frame_h: float
    rotation: float
    box: Box
    out_w: float
    out_h: float
    out_x: float = 0.0
    out_y: float = 0.0

    def ellipse(self, e: Ellipse) -> Ellipse:
        cx, cy = rotate_point(e.x, e.y, self.frame_w, self.frame_h, self.rotation)
        sx, sy = self.out_w / self.box.width, self.out_h / self.box.height
        return Ellipse(self.out_x + (cx - self.box.x) * sx, self.out_y + (cy - self.box.y) * sy, e.rx * sx, e.ry * sy)


def ring_ellipse(body: Ellipse, shape: OverlayShape) -> Ellipse:
    """The ring as drawn: the body ellipse, or the ground shape at its feet."""
    if shape is OverlayShape.GROUND:
        return Ellipse(body.x, body.y + body.ry, body.rx, body.ry * GROUND_FLATTEN)
    return body


def body_from_ring(ring: Ellipse, shape: OverlayShape) -> Ellipse:
    """The body ellipse a drawn ring belongs to (inverse of ``ring_ellipse``)."""
    if shape is OverlayShape.GROUND:
        ry = ring.ry / GROUND_FLATTEN
        return Ellipse(ring.x, ring.y - ry, ring.rx, ry)
    return ring


def ring_width(stroke: float, out_w: float, out_h: float) -> float:
    """The ring's line width in output pixels for the style's ``stroke``."""
    return stroke * min(out_w, out_h) / STROKE_REFERENCE


def dim_opacity(dim: float, alphas: Sequence[float]) -> float:
    """How much the picture outside the regions is darkened towards black (0 = not at all)."""
    return dim * max(alphas) if alphas else 0.0


__all__ = ["DEFAULT_OVERLAY_STYLE", "GROUND_FLATTEN", "REGION_PROPS", "STROKE_REFERENCE", "Ellipse", "OutputMap",
           "RegionTrack", "ShownRegion", "body_from_ring", "dim_opacity", "region_alpha", "ring_ellipse",
           "ring_width", "rotate_point", "shown_regions"]
