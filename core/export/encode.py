"""The picture side of an encode: the H.264 stream every render (and every cached part of one) is
written with, and the output pictures made ahead on a thread into reused encoder frames."""
from __future__ import annotations

import queue
import threading
from typing import Protocol

import av
import cv2
import numpy as np

from core.enums import VideoEncoder
from core.export.encoders import CODECS, stream_options
from core.export.spec import OutputSettings

__all__ = ["FrameSource", "PictureQueue", "add_video_stream"]


class FrameSource(Protocol):
    """Output pictures by output frame number: flat yuv420p, drawn in ``into`` (or in a buffer
    of the source's own, valid until the next call)."""

    def at(self, k: int, into: np.ndarray | None = None) -> np.ndarray: ...

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


class PictureQueue:
    """Output frames [first, end) of ``source``, made ahead on a thread into a small ring of
    reused encoder frames: on two cores the encoder no longer waits for our per-frame work.

    Each encoder frame wraps a flat buffer (no copy) that the source draws in: the warp writes
    the encoder's picture directly. libx264 copies each picture into its own frame pool during
    encode(), so a ring slot can be refilled once the frame handed out before it has been
    encoded; the bounded queue keeps the producer at most ``_AHEAD`` frames ahead, which is what
    makes the reuse safe. The queue owns ``source`` and closes it."""

    _AHEAD = 4

    def __init__(self, source: FrameSource, out: OutputSettings, first: int, end: int) -> None:
        # This thread already runs beside the encoder's own threads: OpenCV's worker pool would
        # only add threads that spin while they wait (a render took ~5 % more CPU with it).
        # Process-wide; renders run in the export worker, a Modal container or the CLI.
        cv2.setNumThreads(1)
        self._queue: queue.Queue[av.VideoFrame | BaseException] = queue.Queue(self._AHEAD)
        self._stop = threading.Event()
        # queue + the one being filled + the one the encoder holds
        self._bufs = [np.empty(out.width * out.height * 3 // 2, np.uint8) for _ in range(self._AHEAD + 2)]
        self._ring = [av.VideoFrame.from_numpy_buffer(b.reshape(out.height * 3 // 2, out.width), "yuv420p")
                      for b in self._bufs]
        self._thread = threading.Thread(
            target=self._run, args=(source, first, end),
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

    def _run(self, source: FrameSource, first: int, end: int) -> None:
        try:
            for k in range(first, end):
                buf = self._bufs[k % len(self._bufs)]
                picture = source.at(k, buf)
                if picture is not buf:  # a source that draws in a buffer of its own
                    np.copyto(buf, picture)
                if not self._put(self._ring[k % len(self._ring)]):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the encoding thread, raised there
            self._put(e)
        finally:
            source.close()
