"""One text element rasterised for one output size: a premultiplied YUV 4:2:0 sprite.

Layout: the text is wrapped greedily at ``max_width`` (at spaces, and between any two CJK
characters), lines aligned inside the block, and the block placed so that its ``preset`` point
(e.g. bottom-center) sits at (x, y), or at that point of the frame's safe area (5 % margins)
when the element has no free position. Drawn once with Pillow/FreeType as coverage masks for
the shadow, the outline and the fill, composited, and converted to BT.709 limited-range YUV
(what the renderer's planes hold); blending per frame is then a few numpy operations.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from core.enums import TextFont
from core.export.spec import TextElement
from core.text import fonts

SAFE_MARGIN = 0.05  # of the frame, each side, where preset-placed text stays clear of the edge
SHADOW_OPACITY = 0.75
_LINE_GAP = 0.15  # extra space between lines, a fraction of the text size
# Wrapping tokens: runs of spaces, single CJK characters (scripts written without spaces may
# break anywhere) and words.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"\s+|[{_CJK}]|[^\s{_CJK}]+")


@dataclass(frozen=True, eq=False)
class Sprite:
    """Premultiplied planes of one element at a fixed even position in the output.

    ``y``/``a`` are luma and coverage (h, w); ``u``/``v``/``ac`` the half-size chroma and its
    coverage. Pixel values: plane' = plane·(1 - a·f) + y·f for an element opacity f."""

    left: int
    top: int
    y: np.ndarray
    a: np.ndarray
    u: np.ndarray
    v: np.ndarray
    ac: np.ndarray
    rgba: np.ndarray  # the same picture, straight-alpha RGBA (h, w, 4) uint8, for the editor


def _rgb(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], np.float32) / 255.0


def _width(font: TextFont, px: int, text: str) -> float:
    return sum(fonts.load(face, px).getlength(part) for face, part in fonts.runs(font, text))


def wrap(text: str, font: TextFont, px: int, max_px: float) -> list[str]:
    """Lines of ``text`` no wider than ``max_px`` (a word longer than that is cut by letters)."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line = ""
        for token in _TOKEN.findall(para):
            candidate = line + token
            if not line or _width(font, px, candidate.rstrip()) <= max_px:
                line = candidate
                continue
            lines.append(line.rstrip())
            line = "" if token.isspace() else token
        while line and _width(font, px, line.rstrip()) > max_px and len(line) > 1:
            cut = max(1, next(i for i in range(len(line), 0, -1) if _width(font, px, line[:i]) <= max_px or i == 1))
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line.rstrip())
    return lines


def anchor_point(el: TextElement) -> tuple[float, float]:
    """Where (fractions of the output) the element's preset point sits."""
    ax, ay = el.preset.fractions
    return (el.x if el.x is not None else SAFE_MARGIN + ax * (1 - 2 * SAFE_MARGIN),
            el.y if el.y is not None else SAFE_MARGIN + ay * (1 - 2 * SAFE_MARGIN))


@functools.lru_cache(maxsize=256)
def rasterise(el: TextElement, out_w: int, out_h: int) -> Sprite:
    """The sprite of ``el`` in a ``out_w`` x ``out_h`` output (cached: elements are frozen)."""
    px = max(1, round(el.size * out_h))
    stroke = round(el.outline * px)
    shadow = round(el.shadow * px)
    blur = shadow / 3.0
    lines = wrap(el.text, el.font, px, el.max_width * out_w)
    primary = fonts.load(el.font, px)
    ascent, descent = primary.getmetrics()
    line_h = ascent + descent + round(_LINE_GAP * px)
    widths = [_width(el.font, px, line) for line in lines]
    block_w = max(widths) if widths else 0.0
    block_h = line_h * len(lines) - round(_LINE_GAP * px)
    pad = stroke + shadow + math.ceil(2 * blur) + 2

    # Where the block goes: its preset point at (x, y) or at the same point of the safe area.
    ax, ay = el.preset.fractions
    fx, fy = anchor_point(el)
    left = 2 * math.floor((fx * out_w - ax * block_w - pad) / 2)  # even: chroma stays aligned
    top = 2 * math.floor((fy * out_h - ay * block_h - pad) / 2)
    w = 2 * math.ceil((block_w + 2 * pad) / 2)
    h = 2 * math.ceil((block_h + 2 * pad) / 2)

    fill = Image.new("L", (w, h), 0)
    edge = Image.new("L", (w, h), 0)
    d_fill, d_edge = ImageDraw.Draw(fill), ImageDraw.Draw(edge)
    offset = {"left": 0.0, "center": 0.5, "right": 1.0}[el.align.value]
    for i, (line, lw) in enumerate(zip(lines, widths, strict=True)):
        x = pad + offset * (block_w - lw)
        baseline = pad + i * line_h + ascent
        for face, part in fonts.runs(el.font, line):
            f = fonts.load(face, px)
            d_fill.text((x, baseline), part, font=f, fill=255, anchor="ls")
            if stroke:
                d_edge.text((x, baseline), part, font=f, fill=255, anchor="ls", stroke_width=stroke, stroke_fill=255)
            x += f.getlength(part)
    layers = []  # (coverage 0..1, rgb), bottom first
    body = edge if stroke else fill
    if shadow:
        cast = Image.new("L", (w, h), 0)
        cast.paste(body, (shadow, shadow))
        if blur >= 0.5:
            cast = cast.filter(ImageFilter.GaussianBlur(blur))
        layers.append((np.asarray(cast, np.float32) / 255.0 * SHADOW_OPACITY, _rgb(el.shadow_color)))
    if stroke:
        layers.append((np.asarray(edge, np.float32) / 255.0, _rgb(el.outline_color)))
    layers.append((np.asarray(fill, np.float32) / 255.0, _rgb(el.color)))

    # "Over" compositing in premultiplied RGB.
    alpha = np.zeros((h, w), np.float32)
    rgb = np.zeros((h, w, 3), np.float32)
    for cov, colour in layers:
        rgb = rgb * (1 - cov)[..., None] + cov[..., None] * colour
        alpha = alpha * (1 - cov) + cov
    return _to_sprite(left, top, rgb, alpha)


def _to_sprite(left: int, top: int, rgb: np.ndarray, alpha: np.ndarray) -> Sprite:
    """Premultiplied RGB (0..1) + alpha -> premultiplied BT.709 limited-range YUV planes."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    luma = 0.2126 * r + 0.7152 * g + 0.0722 * b
    y = 16 * alpha + 219 * luma
    u = 128 * alpha + 224 * (b - luma) / 1.8556
    v = 128 * alpha + 224 * (r - luma) / 1.5748

    def half(a: np.ndarray) -> np.ndarray:
        halved: np.ndarray = a.reshape(a.shape[0] // 2, 2, a.shape[1] // 2, 2).mean(axis=(1, 3))
        return halved

    straight = np.where(alpha[..., None] > 0, rgb / np.maximum(alpha, 1e-6)[..., None], 0)
    rgba = np.dstack([straight, alpha[..., None]])
    return Sprite(left, top, y, alpha, half(u), half(v), half(alpha),
                  np.clip(rgba * 255 + 0.5, 0, 255).astype(np.uint8))
