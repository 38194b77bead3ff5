"""Decoding a clip's frames for the tracker with PyAV: forwards from a time, or backwards.

Frames come as (frame index from the media start, BGR ndarray in source pixels). Backwards
decoding walks chunks of about a second from the end towards the start (seek to the chunk's
keyframe, decode the chunk, hand its frames out newest first), so memory stays bounded.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.editmath.timebase import frame_index

Frame = tuple[int, np.ndarray]
# Frames decoded per backwards chunk, as seconds of footage.
BACK_CHUNK_S = 1.0


class DecodeError(RuntimeError):
    """The clip's media cannot be opened or decoded."""


def _open(path: Path | str) -> tuple[av.container.InputContainer, av.video.stream.VideoStream, float]:
    """``path`` is a file or an http(s) URL (read with range requests, never downloaded whole)."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        name = path.name if isinstance(path, Path) else "the media URL"
        raise DecodeError(f"cannot open {name}: {e}") from e
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    origin = container.start_time / av.time_base if container.start_time is not None else 0.0
    return container, stream, origin


def _frames_between(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                    origin: float, fps: Fraction, first: int, last: int,
                    convert: Callable[[av.VideoFrame], np.ndarray]) -> Iterator[Frame]:
    """Frames with index first..last (inclusive), in order, converted."""
    t = origin + float(first * fps.denominator / fps.numerator)
    # Always seek: going backwards, the container sits after the previous (later) chunk.
    if stream.time_base is None:
        raise ValueError("the video stream has no time base")
    container.seek(math.floor(t / stream.time_base), stream=stream, backward=True)
    try:
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            i = frame_index(frame.time - origin + 0.25 / float(fps), fps)
            if i < first:
                continue
            if i > last:
                return
            yield i, convert(frame)
    except av.FFmpegError as e:
        raise DecodeError(f"cannot decode {container.name}: {e}") from e


def to_bgr(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="bgr24")


def decode_forward(path: Path | str, fps: Fraction, first: int, last: int,
                   convert: Callable[[av.VideoFrame], np.ndarray] = to_bgr) -> Iterator[Frame]:
    """Frames first..last of the media, oldest first."""
    container, stream, origin = _open(path)
    try:
        yield from _frames_between(container, stream, origin, fps, first, last, convert)
    finally:
        container.close()


def decode_backward(path: Path | str, fps: Fraction, first: int, last: int,
                    convert: Callable[[av.VideoFrame], np.ndarray] = to_bgr) -> Iterator[Frame]:
    """Frames last..first of the media, newest first."""
    chunk = max(1, round(BACK_CHUNK_S * float(fps)))
    container, stream, origin = _open(path)
    try:
        hi = last
        while hi >= first:
            lo = max(first, hi - chunk + 1)
            frames = list(_frames_between(container, stream, origin, fps, lo, hi, convert))
            yield from reversed(frames)
            hi = lo - 1
    finally:
        container.close()
