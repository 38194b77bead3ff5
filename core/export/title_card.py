"""The title card's pictures: a background made once (a colour, or a clip's framed picture at a
chosen clip time, blurred and dimmed towards black) with the card's text blended per frame by the
same core text code as the clips' overlays."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from core.editmath import crop_at
from core.enums import TitleBackground
from core.export.picture import BLACK, ClipPictures, _rgb_to_yuv
from core.export.planes import yuv_views
from core.export.program import Placement
from core.export.spec import OutputSettings, RenderSpec, TextRegion, TitleCard
from core.text import TextOverlay


class TitlePictures:
    """Output pictures (flat yuv420p buffers) of the title card, by card time."""

    def __init__(self, spec: RenderSpec, placements: list[Placement], out: OutputSettings) -> None:
        card = spec.title_card
        assert card is not None
        self._w, self._h = out.width, out.height
        self._background = self._make_background(card, spec, placements, out)
        self._buf = np.empty_like(self._background)
        self._views = yuv_views(self._buf, self._w, self._h)
        self._text = TextOverlay([TextRegion("title", 0.0, card.duration, card.elements)] if card.elements else [],
                                 self._w, self._h)

    def picture(self, t: float) -> np.ndarray:
        self._buf[:] = self._background
        self._text.draw(self._views, self._text.state(t))
        return self._buf

    def _make_background(self, card: TitleCard, spec: RenderSpec, placements: list[Placement],
                         out: OutputSettings) -> np.ndarray:
        buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
        y, u, v = yuv_views(buf, self._w, self._h)
        uids = [c.uid for c in spec.clips]
        if card.background is TitleBackground.FRAME and card.working_clip in uids:
            p = placements[uids.index(card.working_clip)]
            # The clip's framing without its own overlays: the card shows its own text.
            bare = dataclasses.replace(p.clip, regions=(), text_regions=())
            video = ClipPictures(dataclasses.replace(p, clip=bare), out, None)
            try:
                clip = bare
                frame = video._source.frame_at(clip.src_start + card.time)
                video._warp(frame, crop_at(clip.crop_track(), card.time, clip.width, clip.height, clip.aspect,
                                           clip.rotation), video._views)
                buf[:] = video.buf
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
            for plane, level in zip((y, u, v), _rgb_to_yuv((r, g, b))):
                plane[...] = round(level)
        return buf
