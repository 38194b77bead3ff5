"""The reel's sound: each clip's audio decoded once, cut at its segment bounds, time-stretched by
each segment's speed with FFmpeg's ``atempo`` (pitch kept) and padded/trimmed to the exact sample
count its Timeline gives, so it can never drift from the picture; clips are mixed at their output
sample and encoded in order beside the picture (``AudioTrack``)."""
from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.enums import AudioCodec
from core.export.picture import EPS, RenderError, Source, media_origin, open_source
from core.export.progress import RenderCancelled
from core.export.program import Placement
from core.export.spec import OutputSettings

__all__ = ["AUDIO_RATE", "AudioTrack", "clip_audio"]

AUDIO_RATE = 48_000
_AAC_FRAME = 1024
_ATEMPO_PREROLL_S = 0.25
_AUDIO_LEAD_S = 1.0  # encode audio at most this far ahead of the picture (keeps muxing interleaved)



class AudioTrack:
    """The reel's sound: clips are mixed in at their output sample, encoded as AAC in order."""

    def __init__(
        self, container: av.container.OutputContainer, out: OutputSettings, total: int
    ) -> None:
        self._container = container
        self._stream = container.add_stream(out.audio_codec.value, rate=AUDIO_RATE)
        self._stream.layout = "stereo"
        if out.audio_codec is AudioCodec.AAC:
            self._stream.bit_rate = out.audio_bitrate
        self._total = total
        self._written = 0  # samples already encoded; _buf[:, 0] is sample _written
        self._buf = np.zeros((2, 0), np.float32)

    def follow(self, placements: list[Placement], next_clip: int, t: float,
               cancelled: Callable[[], bool]) -> int:
        """Mix in every clip that has started by output time ``t``, encode what can no longer
        change (up to the next clip's start, at most _AUDIO_LEAD_S ahead of the picture, which
        keeps the file interleaved); returns the index of the next clip still to mix in."""
        while next_clip < len(placements) and placements[next_clip].start <= t + EPS:
            self.add(placements[next_clip], clip_audio(placements[next_clip], cancelled))
            next_clip += 1
        limit = t + _AUDIO_LEAD_S
        if next_clip < len(placements):
            limit = min(limit, placements[next_clip].start)
        self.flush(math.floor(limit * AUDIO_RATE))
        return next_clip

    def _ensure(self, n: int) -> None:
        if self._buf.shape[1] < n:
            grow = np.zeros((2, n - self._buf.shape[1]), np.float32)
            self._buf = np.concatenate([self._buf, grow], axis=1)

    def add(self, p: Placement, samples: np.ndarray) -> None:
        start = round(p.start * AUDIO_RATE)
        end = min(start + samples.shape[1], self._total)
        if end <= start:
            return
        lo = start - self._written  # >= 0: flushing never passes an unopened clip's start
        self._ensure(end - self._written)
        self._buf[:, lo: end - self._written] += samples[:, : end - start]

    def flush(self, upto: int, final: bool = False) -> None:
        n = min(upto, self._total) - self._written
        if not final:
            n -= n % _AAC_FRAME  # whole AAC frames only, until the end
        if n <= 0 and not final:
            return
        n = max(n, 0)
        self._ensure(n)
        for i in range(0, n, _AAC_FRAME):
            chunk = np.ascontiguousarray(self._buf[:, i: min(n, i + _AAC_FRAME)])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self._written + i
            frame.time_base = Fraction(1, AUDIO_RATE)
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        self._buf = self._buf[:, n:]
        self._written += n
        if final:
            for packet in self._stream.encode(None):
                self._container.mux(packet)


def clip_audio(p: Placement, cancelled: Callable[[], bool]) -> np.ndarray:
    """The clip's sound over its whole output duration (2 x samples, float32): kept segments
    stretched to their output length, silence where the source has none, transition ramps."""
    clip, segments = p.clip, p.timeline.segments
    bounds = [round(s.out_start * AUDIO_RATE) for s in segments] + [
        round(segments[-1].out_end * AUDIO_RATE)
    ]
    result = np.zeros((2, bounds[-1]), np.float32)
    source = _decode_audio(
        p.path,
        max(0.0, clip.src_start + segments[0].src_start - _ATEMPO_PREROLL_S),
        clip.src_start + segments[-1].src_end,
        cancelled,
    )
    if source is not None:
        samples, first = source  # first: clip-media seconds of samples[:, 0]
        for seg, lo, hi in zip(segments, bounds, bounds[1:], strict=False):
            a = round((clip.src_start + seg.src_start - first) * AUDIO_RATE)
            b = round((clip.src_start + seg.src_end - first) * AUDIO_RATE)
            if seg.speed == 1.0:
                result[:, lo:hi] = _slice_padded(samples, a, a + hi - lo)
            else:
                # atempo squeezes its first window, shifting everything after it early (50 ms
                # at 0.25x); stretching some audio before the cut too and keeping the tail
                # puts the segment's sound on its picture.
                pre = round(_ATEMPO_PREROLL_S * AUDIO_RATE)
                stretched = _atempo(_slice_padded(samples, a - pre, b), seg.speed)
                result[:, lo:hi] = _tail(stretched, hi - lo)
    u = np.arange(result.shape[1]) / AUDIO_RATE
    gain = np.asarray(p.gain(u), np.float32)
    if not np.all(gain == 1.0):
        result *= gain
    return result


def _decode_audio(
    path: Source, start: float, end: float, cancelled: Callable[[], bool]
) -> tuple[np.ndarray, float] | None:
    """48 kHz stereo float samples covering media seconds [start, end], and the media time of
    the first one; None when the file has no sound."""
    with open_source(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        origin = media_origin(container)
        if start > 0.001 and stream.time_base is not None:  # without one: decode from the top
            container.seek(
                math.floor((origin + start) / stream.time_base), stream=stream, backward=True
            )
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        chunks: list[np.ndarray] = []
        first: float | None = None
        try:
            for frame in container.decode(stream):
                if cancelled():
                    raise RenderCancelled()
                if frame.time is None:
                    continue
                if first is None:
                    first = frame.time - origin
                if frame.time - origin > end:
                    break
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.FFmpegError as e:
            name = path.name if isinstance(path, Path) else "the source URL"  # never a presigned query
            raise RenderError(f"cannot decode the sound of {name}: {e}") from e
    if first is None or not chunks:
        return None
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), first


def _slice_padded(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """a[:, lo:hi], with silence where the range runs outside ``a``."""
    out = np.zeros((a.shape[0], max(0, hi - lo)), np.float32)
    s0, s1 = max(lo, 0), min(hi, a.shape[1])
    if s1 > s0:
        out[:, s0 - lo: s1 - lo] = a[:, s0:s1]
    return out


def _tail(a: np.ndarray, n: int) -> np.ndarray:
    """The last ``n`` samples of ``a``, silence in front if it is shorter."""
    if a.shape[1] >= n:
        return a[:, a.shape[1] - n:]
    return np.concatenate([np.zeros((a.shape[0], n - a.shape[1]), np.float32), a], axis=1)


def _atempo(samples: np.ndarray, speed: float) -> np.ndarray:
    """Time-stretch by ``speed`` keeping the pitch (FFmpeg atempo; one stage does 0.5..100, so
    slower speeds chain several)."""
    factors = []
    f = speed
    while f < 0.5:
        factors.append(0.5)
        f /= 0.5
    factors.append(f)
    graph = av.filter.Graph()
    node = graph.add_abuffer(
        sample_rate=AUDIO_RATE, format="fltp", layout="stereo", time_base=Fraction(1, AUDIO_RATE)
    )
    for factor in factors:
        nxt = graph.add("atempo", repr(factor))
        node.link_to(nxt)
        node = nxt
    fmt = graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
    sink = graph.add("abuffersink")
    node.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                out.append(graph.pull().to_ndarray())
            except (av.BlockingIOError, av.EOFError):
                return

    step = 8192
    for i in range(0, samples.shape[1], step):
        chunk = np.ascontiguousarray(samples[:, i: i + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, i, Fraction(1, AUDIO_RATE)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    if not out:
        return np.zeros((2, 0), np.float32)
    return np.concatenate(out, axis=1).astype(np.float32, copy=False)
