"""What the player plays: one media file's pictures, or the reel's program pictures.

Both answer "the picture at or before t" and turn it into a QImage that fits the display, on the
player's worker thread (never the UI thread).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from PySide6.QtGui import QImage

from core.export.program import ProgramPreview, yuv_to_rgb
from core.media.probe import probe
from desktop.ui.frame_source import RGB32_LAYOUT, MediaDecoder, frame_to_qimage, rgb32_image


def fit(w: int, h: int, box: tuple[int, int]) -> tuple[int, int]:
    """(w, h) scaled down to fit ``box``, even sides (what swscale converts best)."""
    scale = min(1.0, box[0] / w, box[1] / h)
    return max(2, 2 * round(w * scale / 2)), max(2, 2 * round(h * scale / 2))


class MediaPictures:
    """A media file's frames: exact, keyframe-aware seeking, forward decoding while playing."""

    def __init__(self, path: Path) -> None:
        info = probe(path)
        self.fps: Fraction = info.fps
        self.duration = float(info.duration)
        self._decoder = MediaDecoder(path, info.fps)

    def read(self, t: float, newer: Callable[[], float | None]):
        found = self._decoder.frame_at(max(0.0, t), newer)
        if found is None:
            return None
        served, frame, start, end = found
        return served, start, end, frame

    def current(self) -> tuple[float, float, av.VideoFrame] | None:
        """(start, end, frame) of the frame the decoder has reached (mid-decode progress)."""
        d = self._decoder
        if d.current is None or d.next is None:
            return None
        return d.current.time - d.origin, d.next.time - d.origin, d.current

    def to_image(self, picture: av.VideoFrame, box: tuple[int, int]) -> QImage:
        return frame_to_qimage(picture, box=box)

    def close(self) -> None:
        self._decoder.close()


class ProgramPictures:
    """The reel's output frames (``ProgramPreview``: the export's compose at preview size)."""

    def __init__(self, preview: ProgramPreview) -> None:
        self.preview = preview
        self.fps: Fraction = preview.fps
        self.duration = preview.duration

    def read(self, t: float, newer: Callable[[], float | None]):
        """Only says which output frame shows at ``t``: composing waits for ``to_image``, so a
        picture dropped for being late costs nothing."""
        later = newer()
        t = later if later is not None else t
        p = self.preview
        k = p.frame_index(t)
        end = p.frame_time(k + 1) if k + 1 < p.frames_total else math.inf
        return t, p.frame_time(k), end, k

    def to_image(self, picture: int, box: tuple[int, int]) -> QImage:
        p = self.preview
        w, h = p.size
        yuv = p.yuv_at(p.frame_time(picture))
        return rgb32_image(yuv_to_rgb(yuv, w, h, RGB32_LAYOUT, fit(w, h, box)))

    def close(self) -> None:
        self.preview.close()


__all__ = ["MediaPictures", "ProgramPictures", "fit"]
