"""The picture side of an encode: the H.264 stream every render (and every cached part of one) is
written with, and the output pictures made ahead on a thread into reused encoder frames."""
from __future__ import annotations

import queue
import threading
from typing import Protocol

import av
import numpy as np

from core.enums import VideoEncoder
from core.export.encoders import CODECS, stream_options
from core.export.planes import yuv_views
from core.export.spec import OutputSettings

__all__ = ["FrameSource", "PictureQueue", "add_video_stream", "fill_frame"]


class FrameSource(Protocol):
    """Output pictures by output frame number (flat yuv420p, valid until the next call)."""

    def at(self, k: int) -> np.ndarray: ...

    def close(self) -> None: ...


def add_video_stream(container: av.container.OutputContainer, out: OutputSettings,
                     encoder: VideoEncoder = VideoEncoder.X264) -> av.VideoStream:
    """The H.264 stream every render (and every cached part of one) is encoded with."""
    video = container.add_stream(CODECS[encoder], rate=out.fps)
    assert isinstance(video, av.VideoStream)  # every encoder of CODECS is a video encoder
    video.width, video.height, video.pix_fmt = out.width, out.height, "yuv420p"
    video.options = {**stream_options(encoder, out.crf, out.preset)}
    # PyAV defaults to slice threads, which makes x264 slower and worse than the frame
    # threads the ffmpeg command line uses.
    video.codec_context.thread_type = "AUTO"
    video.codec_context.time_base = 1 / out.fps
    return video


def fill_frame(frame: av.VideoFrame, buf: np.ndarray, w: int, h: int) -> None:
    """Copy ``buf`` into the encoder frame's planes (plain numpy copies: from_ndarray is 3x
    slower)."""
    for plane, view in zip(frame.planes, yuv_views(buf, w, h), strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : plane.width] = view


class PictureQueue:
    """Output frames [first, end) of ``source``, made ahead on a thread into a small ring of
    reused encoder frames: on two cores the encoder no longer waits for our per-frame work.

    libx264 copies each picture into its own frame pool during encode(), so a ring slot can be
    refilled once the frame handed out before it has been encoded; the bounded queue keeps the
    producer at most ``_AHEAD`` frames ahead, which is what makes the reuse safe. The queue
    owns ``source`` and closes it."""

    _AHEAD = 4

    def __init__(self, source: FrameSource, out: OutputSettings, first: int, end: int) -> None:
        self._queue: queue.Queue[av.VideoFrame | BaseException] = queue.Queue(self._AHEAD)
        self._stop = threading.Event()
        # queue + the one being filled + the one the encoder holds
        self._ring = [av.VideoFrame(out.width, out.height, "yuv420p") for _ in range(self._AHEAD + 2)]
        self._thread = threading.Thread(
            target=self._run, args=(source, out.width, out.height, first, end),
            name="render-pictures", daemon=True,
        )
        self._thread.start()

    def get(self) -> av.VideoFrame:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item: av.VideoFrame | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _run(self, source: FrameSource, w: int, h: int, first: int, end: int) -> None:
        try:
            for k in range(first, end):
                vf = self._ring[k % len(self._ring)]
                fill_frame(vf, source.at(k), w, h)
                if not self._put(vf):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the encoding thread, raised there
            self._put(e)
        finally:
            source.close()
