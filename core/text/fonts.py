"""The bundled fonts (resources/fonts, open licences beside them) and per-character fallback.

Fonts are loaded with Pillow's BASIC layout so every machine (the editor on Windows, a Modal
container) lays text out the same way, whatever optional shaping libraries it has.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from PIL import ImageFont

from core.enums import TextFont

_FILES = {
    TextFont.CONDENSED: "DejaVuSansCondensed-Bold.ttf",
    TextFont.SANS: "DejaVuSans-Bold.ttf",
    TextFont.SERIF: "DejaVuSerif-Bold.ttf",
    TextFont.CJK: "DroidSansFallbackFull.ttf",
}
# Where a glyph the chosen face lacks comes from, in order.
_FALLBACK = (TextFont.SANS, TextFont.CJK)
_MISSING = "\U0010fffd"  # a private-use code point no bundled face draws: shows the .notdef box


def font_path(font: TextFont) -> Path:
    return Path(str(resources.files("resources") / "fonts" / _FILES[font]))


@functools.lru_cache(maxsize=64)
def load(font: TextFont, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(font)), px, layout_engine=ImageFont.Layout.BASIC)


@functools.lru_cache(maxsize=8192)
def _has_glyph(font: TextFont, ch: str) -> bool:
    if ch.isspace():
        return True
    f = load(font, 32)
    return bytes(f.getmask(ch)) != bytes(f.getmask(_MISSING)) or f.getbbox(ch) != f.getbbox(_MISSING)


def face_for(font: TextFont, ch: str) -> TextFont:
    """The first face, from the chosen one down the fallbacks, that draws ``ch``."""
    for face in (font, *_FALLBACK):
        if _has_glyph(face, ch):
            return face
    return font


def runs(font: TextFont, text: str) -> list[tuple[TextFont, str]]:
    """``text`` cut into runs that one face draws each."""
    out: list[tuple[TextFont, str]] = []
    for ch in text:
        face = face_for(font, ch)
        if out and out[-1][0] is face:
            out[-1] = (face, out[-1][1] + ch)
        else:
            out.append((face, ch))
    return out
