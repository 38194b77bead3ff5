"""The reel's picture at any output time: the one per-frame compose of the export and the preview.

``ProgramFrames.at(t)`` lays the clips on the output timeline (dissolves overlap them), maps output
time to each clip's source time through its ``Timeline`` (speed, trim), draws each clip's picture
(``ClipPictures``: rotation + crop warp, spotlight) and mixes them with their fade / dissolve
gains. The export pipeline calls it at the output size for every frame; the program view and
``reeldesk preview`` call it at preview size through ``ProgramPreview``. Preview = export is a
property of this sharing, and a tested one.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from core.editmath import Timeline
from core.enums import TransitionType, Upscaler
from core.export.picture import (
    BLACK,
    EPS,
    ClipPictures,
    RenderError,
    Source,
    Upscale,
    is_url,
    open_source,
    where,
)
from core.export.spec import ClipSpec, OutputSettings, RenderSpec, Transition

__all__ = ["Placement", "ProgramFrames", "ProgramPreview", "compose", "layout", "reel_audio",
           "resolve_source", "yuv_to_rgb"]



@dataclass(slots=True)
class Placement:
    """One clip laid on the output timeline, with its transition envelopes."""

    clip: ClipSpec
    path: Source
    timeline: Timeline
    start: float  # output seconds
    duration: float  # output seconds
    fade_in: float  # seconds of fade from black at the head (0 = none)
    fade_out: float  # ... to black at the tail
    mix_in: float  # seconds of dissolve overlap with the previous clip
    mix_out: float  # ... with the next clip

    @property
    def end(self) -> float:
        return self.start + self.duration

    def gain(self, u: np.ndarray | float) -> np.ndarray | float:
        """Picture/sound level at clip-local output time(s) ``u``: fades and dissolves are
        linear ramps, so the two clips of a dissolve always sum to 1."""
        g = np.ones_like(u, dtype=np.float64) if isinstance(u, np.ndarray) else 1.0
        left = self.duration - u
        for ramp, t in (
            (self.fade_in, u), (self.mix_in, u), (self.fade_out, left), (self.mix_out, left)
        ):
            if ramp > 0:
                g = g * np.clip(t / ramp, 0.0, 1.0)
        return g


def resolve_source(clip: ClipSpec, resolve_media: Callable[[str], Source]) -> Source:
    at = where(clip)
    try:
        found = resolve_media(clip.media_hash)
    except Exception as e:  # the resolver is the caller's; any failure means "no media"
        raise RenderError(f"source of {at} is not available: {e}") from e
    if is_url(found):
        return found  # opened once, by the decoder: every open costs requests and bytes
    path = Path(found)
    if not path.is_file():
        raise RenderError(f"source of {at} is missing: {path}")
    try:
        with open_source(path) as container:
            if not container.streams.video:
                raise RenderError(f"source of {at} has no video: {path}")
    except av.FFmpegError as e:
        raise RenderError(f"source of {at} cannot be read ({path}): {e}") from e
    return path


def layout(spec: RenderSpec, paths: Sequence[Source]) -> list[Placement]:
    starts = spec.clip_starts()
    clips = spec.clips
    result = []
    for i, clip in enumerate(clips):
        t_in = clip.transition_in if i else Transition()
        t_out = clips[i + 1].transition_in if i + 1 < len(clips) else Transition()
        timeline = clip.timeline()
        result.append(Placement(
            clip=clip, path=paths[i], timeline=timeline, start=starts[i],
            duration=timeline.output_duration,
            fade_in=t_in.edge if t_in.type is TransitionType.FADE else 0.0,
            fade_out=t_out.edge if t_out.type is TransitionType.FADE else 0.0,
            mix_in=t_in.overlap, mix_out=t_out.overlap,
        ))
    return result


def compose(layers: list[tuple[np.ndarray, float]], out: np.ndarray, luma: int) -> np.ndarray:
    """Σ gain·(layer - black) + black, per plane; one layer at full level passes through."""
    if len(layers) == 1 and layers[0][1] >= 1.0:
        return layers[0][0]
    for lo, hi, black in ((0, luma, BLACK[0]), (luma, out.size, BLACK[1])):
        first, g0 = layers[0]
        acc = cv2.addWeighted(first[lo:hi], g0, first[lo:hi], 0.0, 0.0)
        rest = 1.0 - g0
        for buf, g in layers[1:]:
            acc = cv2.addWeighted(acc, 1.0, buf[lo:hi], g, 0.0)
            rest -= g
        # Adding black's share last keeps every partial sum inside 0..255.
        out[lo:hi] = cv2.addWeighted(acc, 1.0, acc, 0.0, black * rest).reshape(-1)
    return out


class ProgramFrames:
    """Composes the reel's yuv420p picture at output time ``t`` (at ``out``'s size).

    Clip decoders open when their clip starts showing and close when a later clip has taken
    over; the last clip holds its final picture. Asked in order (the export, playing) each
    decoder runs forward; asked out of order (scrubbing the program view) it seeks.
    """

    def __init__(
        self, placements: Sequence[Placement], out: OutputSettings,
        realesrgan: Upscale | None = None,
    ) -> None:
        self._placements = list(placements)
        self._out = out
        self._realesrgan = realesrgan
        self._active: dict[int, ClipPictures] = {}
        self._blend = np.empty(out.width * out.height * 3 // 2, np.uint8)

    def showing(self, t: float) -> list[int]:
        """Indexes of the clips in the picture at output time ``t``, in reel order."""
        started = [i for i, p in enumerate(self._placements) if p.start <= t + EPS] or [0]
        last = started[-1]
        return [i for i in started if i == last or self._placements[i].end > t + EPS]

    def at(self, t: float, into: np.ndarray | None = None) -> np.ndarray:
        """The flat yuv420p picture at output time ``t``, in ``into`` when given (one clip at
        full level is drawn straight there), else in a buffer valid until the next call."""
        wanted = self.showing(t)
        for i in [i for i in self._active if i not in wanted]:
            self._active.pop(i).close()
        for i in wanted:
            if i not in self._active:
                self._active[i] = ClipPictures(self._placements[i], self._out, self._realesrgan)
        gains = [float(self._placements[i].gain(t - self._placements[i].start)) for i in wanted]
        alone = len(wanted) == 1 and gains[0] >= 1.0
        layers = [(self._active[i].render(t, into if alone else None), g) for i, g in zip(wanted, gains, strict=True)]
        return compose(layers, self._blend if into is None else into, self._out.width * self._out.height)

    def close(self) -> None:
        for c in self._active.values():
            c.close()
        self._active.clear()


def yuv_to_rgb(buf: np.ndarray, w: int, h: int, fmt: str = "rgb24",
               size: tuple[int, int] | None = None) -> np.ndarray:
    """A flat yuv420p picture as packed RGB (``fmt``: rgb24, bgra...), optionally resized, by
    FFmpeg's swscale: the conversion a player of the exported file makes."""
    frame = av.VideoFrame.from_ndarray(buf.reshape(h * 3 // 2, w), format="yuv420p")
    if size is None:
        return frame.to_ndarray(format=fmt)
    return frame.to_ndarray(format=fmt, width=size[0], height=size[1])


def preview_size(out: OutputSettings, width: int | None) -> tuple[int, int]:
    """``out`` scaled to ``width`` (even sides, the output's ratio); the output size without."""
    if not width or width >= out.width:
        return out.width, out.height
    w = max(2, 2 * round(width / 2))
    return w, max(2, 2 * round(w * out.height / out.width / 2))


def reel_audio(spec: RenderSpec, resolve_media: Callable[[str], Path]) -> np.ndarray:
    """The reel's sound as the export makes it (each clip's sound stretched by its segment
    speeds, with its fades and dissolves, mixed at its start): (2, n) float32 at 48 kHz."""
    from core.export.sound import AUDIO_RATE, clip_audio  # the export's own per-clip sound (imports this module)

    placements = layout(spec, [resolve_source(c, resolve_media) for c in spec.clips])
    out = np.zeros((2, round(spec.output_duration * AUDIO_RATE)), np.float32)
    for p in placements:
        samples = clip_audio(p, lambda: False)
        a = round(p.start * AUDIO_RATE)
        b = min(out.shape[1], a + samples.shape[1])
        out[:, a:b] += samples[:, : b - a]
    return out


class ProgramPreview:
    """The program view's pictures: the export's frames at preview size, on the export's grid.

    ``rgb_at(T)`` is the output frame the export shows at output time ``T`` (frame
    ``floor(T · fps)``), composed by the same ``ProgramFrames`` at a smaller size. Raises
    RenderError when a source is missing or unreadable.
    """

    def __init__(self, spec: RenderSpec, resolve_media: Callable[[str], Path],
                 width: int | None = None) -> None:
        paths = [resolve_source(c, resolve_media) for c in spec.clips]
        w, h = preview_size(spec.output, width)
        self.output = dataclasses.replace(spec.output, width=w, height=h, upscaler=Upscaler.NONE)
        self.fps = spec.output.fps
        self.duration = spec.output_duration
        self.frames_total = max(1, math.floor(self.duration * self.fps + 0.5))
        self.placements = layout(spec, paths)
        self._frames = ProgramFrames(self.placements, self.output)

    @property
    def size(self) -> tuple[int, int]:
        return self.output.width, self.output.height

    def frame_index(self, t: float) -> int:
        """The output frame shown at output time ``t`` (clamped to the reel)."""
        k = math.floor(t * self.fps.numerator / self.fps.denominator + EPS)
        return min(max(k, 0), self.frames_total - 1)

    def frame_time(self, k: int) -> float:
        """Output time of frame ``k``: the renderer's own formula, so both land on one frame."""
        return k * self.fps.denominator / self.fps.numerator

    def yuv_at(self, t: float) -> np.ndarray:
        return self._frames.at(self.frame_time(self.frame_index(t)))

    def rgb_at(self, t: float, fmt: str = "rgb24", size: tuple[int, int] | None = None) -> np.ndarray:
        w, h = self.size
        return yuv_to_rgb(self.yuv_at(t), w, h, fmt, size)

    def clip_at(self, t: float) -> tuple[int, float]:
        """(index, clip source seconds) of the topmost clip at output time ``t``."""
        i = self._frames.showing(t)[-1]
        p = self.placements[i]
        return i, p.timeline.output_to_source(min(max(t - p.start, 0.0), p.duration))

    def close(self) -> None:
        self._frames.close()
