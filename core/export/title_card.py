"""The title card and the reel's pictures with it: the card is ``lead_frames`` output frames of a
still before the first clip, on a background made once (a colour, or a clip's framed picture at a
chosen clip time, blurred and dimmed towards black) with the card's text blended per frame by the
same core text code as the clips' overlays. ``ReelPictures`` is the one place that puts the card
in front of the clips: the one-pass render, the incremental parts and every Modal chunk draw
through it, and ``after_card`` moves the clips' sound behind it."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import cv2
import numpy as np

from core.enums import TitleBackground
from core.export.picture import BLACK, ClipPictures, Source, Upscale
from core.export.planes import rgb_to_yuv, yuv_views
from core.export.program import Placement, ProgramFrames, resolve_source
from core.export.spec import ClipSpec, OutputSettings, RenderSpec, TextRegion, TitleCard
from core.text import TextOverlay

__all__ = ["ReelPictures", "TitlePictures", "after_card", "card_clip", "lead_frames", "reel_frames"]


def lead_frames(card: TitleCard | None, fps: Fraction) -> int:
    """Output frames the title card takes before the first clip (0 without a card)."""
    return 0 if card is None else max(1, round(card.duration * fps))


def after_card(placements: Sequence[Placement], frames: int, fps: Fraction) -> list[Placement]:
    """The clips placed ``frames`` output frames later: where their sound plays behind a card."""
    lead_s = frames * fps.denominator / fps.numerator
    return [dataclasses.replace(p, start=p.start + lead_s) for p in placements] if frames else list(placements)


def card_clip(spec: RenderSpec) -> ClipSpec | None:
    """The clip whose picture is the card's background (None: a colour card). A Modal chunk that
    does not show that clip carries it in the card (``TitleCard.clip``)."""
    card = spec.title_card
    if card is None or card.background is not TitleBackground.FRAME:
        return None
    if card.clip is not None:
        return card.clip
    return next((c for c in spec.clips if c.uid == card.working_clip), None)


class TitlePictures:
    """Output pictures (flat yuv420p buffers) of the title card, by card time."""

    def __init__(self, spec: RenderSpec, placements: Sequence[Placement], out: OutputSettings,
                 resolve_media: Callable[[str], Source]) -> None:
        card = spec.title_card
        if card is None:
            raise ValueError("the spec has no title card")
        self._w, self._h = out.width, out.height
        self._background = self._make_background(card, spec, placements, out, resolve_media)
        self._buf = np.empty_like(self._background)
        self._views = yuv_views(self._buf, self._w, self._h)
        self._text = TextOverlay([TextRegion("title", 0.0, card.duration, card.elements)] if card.elements else [],
                                 self._w, self._h)

    def picture(self, t: float, into: np.ndarray | None = None) -> np.ndarray:
        """The card at card time ``t``, in ``into`` when given, else in a buffer of its own."""
        buf = self._buf if into is None else into
        buf[:] = self._background
        self._text.draw(self._views if into is None else yuv_views(into, self._w, self._h), self._text.state(t))
        return buf

    def _make_background(self, card: TitleCard, spec: RenderSpec, placements: Sequence[Placement],
                         out: OutputSettings, resolve_media: Callable[[str], Source]) -> np.ndarray:
        buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
        y, u, v = yuv_views(buf, self._w, self._h)
        clip = card_clip(spec)
        if clip is not None:
            shown = [p for p in placements if p.clip.uid == clip.uid]
            path = shown[0].path if shown else resolve_source(clip, resolve_media)
            timeline = clip.timeline()
            # The clip's framing without its own overlays: the card shows its own text.
            bare = dataclasses.replace(clip, regions=(), text_regions=())
            video = ClipPictures(Placement(bare, path, timeline, 0.0, timeline.output_duration, 0.0, 0.0, 0.0, 0.0),
                                 out, None)
            try:
                buf[:] = video.framed(card.time)
            finally:
                video.close()
            sigma = card.blur * self._h
            for i, plane in enumerate((y, u, v)):
                if sigma > 0:
                    cv2.GaussianBlur(plane, (0, 0), sigma if i == 0 else sigma / 2, dst=plane)
                black = BLACK[0 if i == 0 else 1]
                lut = np.clip(black + (np.arange(256) - black) * (1 - card.dim) + 0.5, 0, 255).astype(np.uint8)
                cv2.LUT(plane, lut, dst=plane)
        else:
            r, g, b = (int(card.color[i:i + 2], 16) for i in (1, 3, 5))
            for plane, level in zip((y, u, v), rgb_to_yuv((r, g, b)), strict=True):
                plane[...] = round(level)
        return buf


class ReelPictures:
    """The reel's output pictures by output frame number: the title card's ``lead`` frames, then
    the clips' (``ProgramFrames`` at the clip time of frame ``k - lead``). ``with_card=False``:
    the clips only (an incremental part, which numbers its frames from the first clip)."""

    def __init__(self, spec: RenderSpec, placements: Sequence[Placement], out: OutputSettings,
                 resolve_media: Callable[[str], Source], realesrgan: Upscale | None = None, *,
                 with_card: bool = True) -> None:
        card = spec.title_card if with_card else None
        self.lead = lead_frames(card, out.fps)
        self._tick = out.fps_den / out.fps_num
        self._card = TitlePictures(spec, placements, out, resolve_media) if card is not None else None
        self._program = ProgramFrames(placements, out, realesrgan)

    def at(self, k: int, into: np.ndarray | None = None) -> np.ndarray:
        if k < self.lead:
            assert self._card is not None  # lead > 0 only with a card
            return self._card.picture(k * self._tick, into)
        return self._program.at((k - self.lead) * self._tick, into)

    def close(self) -> None:
        self._program.close()


def reel_frames(spec: RenderSpec) -> int:
    """Output frames of the whole render: the card's and the clips'."""
    fps = spec.output.fps
    return lead_frames(spec.title_card, fps) + max(1, math.floor(spec.output_duration * fps + 0.5))
