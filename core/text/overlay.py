"""Text overlays of one clip at one output size: which elements show at a clip time, and how
strongly (fades), and blending their sprites into YUV 4:2:0 planes. The renderer and the
program view both call this, so preview and export draw the same pixels."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from core.enums import TextAlign, TextAnchor, TextFont
from core.export.spec import TextElement, TextRegion
from core.text.raster import Sprite, rasterise

# (element, opacity 0..1) of each element showing at a clip time, in drawing order.
TextState = tuple[tuple[TextElement, float], ...]


def element_spec(e: Mapping[str, Any]) -> TextElement:
    """A text element of a clip document (``edit.text_regions[].elements[]``) as the renderer's
    spec; raises SpecError for values the spec refuses."""
    return TextElement(
        text=e["text"], font=TextFont(e["font"]), size=e["size"], color=e["color"], align=TextAlign(e["align"]),
        preset=TextAnchor(e["preset"]), x=e["x"], y=e["y"], max_width=e["max_width"], outline=e["outline"],
        outline_color=e["outline_color"], shadow=e["shadow"], shadow_color=e["shadow_color"],
        fade_in=e["fade_in"], fade_out=e["fade_out"])


def opacity(region: TextRegion, el: TextElement, s: float) -> float:
    """How opaque ``el`` is at clip time ``s``: 0 outside [start, end), linear fades inside."""
    if not region.start <= s < region.end:
        return 0.0
    a = 1.0
    if el.fade_in > 0:
        a = min(a, (s - region.start) / el.fade_in)
    if el.fade_out > 0:
        a = min(a, (region.end - s) / el.fade_out)
    return max(0.0, min(1.0, a))


class TextOverlay:
    """The text of one clip for one output size; sprites are rasterised on first use."""

    def __init__(self, regions: Sequence[TextRegion], width: int, height: int) -> None:
        self._regions = tuple(regions)
        self._size = (width, height)

    def __bool__(self) -> bool:
        return bool(self._regions)

    def state(self, s: float) -> TextState:
        out = []
        for region in self._regions:
            for el in region.elements:
                a = opacity(region, el, s)
                if a > 0:
                    out.append((el, a))
        return tuple(out)

    def draw(self, planes: Sequence[np.ndarray], state: TextState) -> None:
        """Blend the elements of ``state`` into Y, U, V planes of the output size, in place."""
        for el, a in state:
            blend(planes, rasterise(el, *self._size), a)


def blend(planes: Sequence[np.ndarray], sp: Sprite, f: float) -> None:
    """plane = plane·(1 - a·f) + premultiplied·f over the sprite, clipped to the frame."""
    for plane, colour, cover, scale in ((planes[0], sp.y, sp.a, 1), (planes[1], sp.u, sp.ac, 2),
                                        (planes[2], sp.v, sp.ac, 2)):
        x0, y0 = sp.left // scale, sp.top // scale
        h, w = cover.shape
        px0, py0 = max(0, x0), max(0, y0)
        px1, py1 = min(plane.shape[1], x0 + w), min(plane.shape[0], y0 + h)
        if px1 <= px0 or py1 <= py0:
            continue
        sl = (slice(py0 - y0, py1 - y0), slice(px0 - x0, px1 - x0))
        region = plane[py0:py1, px0:px1]
        out = region * (1.0 - cover[sl] * f) + colour[sl] * f
        region[...] = np.clip(out + 0.5, 0, 255).astype(np.uint8)
