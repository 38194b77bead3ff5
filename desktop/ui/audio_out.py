"""Sound while playing: decoded and tempo-corrected on a worker, played through a QAudioSink.

Sound plays forwards from 0.5x to 4x with its pitch kept (FFmpeg's atempo); slower, backwards or
with no output device it is silent and the picture keeps the monotonic clock. While sound plays,
its played position is the presentation clock, so the picture follows the sound. The UI thread
only copies ready PCM into the sink every 20 ms.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from PySide6.QtCore import QIODevice, QObject, QTimer

from desktop.ui.player_engine import Clock

if TYPE_CHECKING:  # QtMultimedia loads only when sound plays (it may be missing)
    from PySide6.QtMultimedia import QAudioSink

log = logging.getLogger(__name__)

RATE = 48_000
_BYTES_PER_SAMPLE = 4  # s16, stereo
MIN_RATE, MAX_RATE = 0.5, 4.0
_AHEAD_S = 1.0  # PCM decoded ahead of the sink
_FEED_MS = 20

Sound = Callable[[float, float], Iterator[np.ndarray]]  # (t, rate) -> s16 stereo 48 kHz blocks


def output_device():  # -> QAudioDevice | None
    """The default audio output, or None (no device, or a build without QtMultimedia)."""
    try:
        from PySide6.QtMultimedia import QMediaDevices
    except ImportError:
        return None
    device = QMediaDevices.defaultAudioOutput()
    return None if device.isNull() else device


def tempo(blocks: Iterator[np.ndarray], rate: float) -> Iterator[np.ndarray]:
    """float32 stereo blocks (2, n) stretched by 1/``rate``, pitch kept, as s16 interleaved."""
    graph = None
    if abs(rate - 1.0) > 1e-6:
        graph = av.filter.Graph()
        src = graph.add_abuffer(sample_rate=RATE, format="fltp", layout="stereo", time_base=Fraction(1, RATE))
        node = graph.add("atempo", repr(rate))
        fmt = graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
        sink = graph.add("abuffersink")
        src.link_to(node)
        node.link_to(fmt)
        fmt.link_to(sink)
        graph.configure()
    pts = 0
    for block in blocks:
        if graph is None:
            yield _s16(block)
            continue
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RATE, pts, Fraction(1, RATE)
        pts += block.shape[1]
        graph.push(frame)
        while True:
            try:
                yield _s16(graph.pull().to_ndarray())
            except (av.BlockingIOError, av.EOFError):
                break


def _s16(block: np.ndarray) -> np.ndarray:
    return (np.clip(block.T, -1.0, 1.0) * 32767).astype(np.int16)


def media_sound(path: Path) -> Sound:
    """A media file's sound from media time ``t`` (nothing when it has none)."""

    def blocks(t: float, rate: float) -> Iterator[np.ndarray]:
        return tempo(_decode(path, t), rate)

    return blocks


def _decode(path: Path, t: float) -> Iterator[np.ndarray]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        start = container.start_time / av.time_base if container.start_time is not None else 0.0
        if t > 0.001 and stream.time_base is not None:
            container.seek(math.floor((start + t) / stream.time_base), stream=stream, backward=True)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            for out in resampler.resample(frame):
                block = out.to_ndarray()
                skip = round((t - (frame.time - start)) * RATE)  # cut what lies before t
                if skip >= block.shape[1]:
                    continue
                yield block[:, max(0, skip):]


def program_sound(samples: Callable[[], np.ndarray]) -> Sound:
    """The reel's mixed sound (``samples()``: (2, n) float32 at 48 kHz from output time 0)."""

    def blocks(t: float, rate: float) -> Iterator[np.ndarray]:
        all_samples = samples()
        first = max(0, round(t * RATE))
        return tempo((all_samples[:, i: i + 8192] for i in range(first, all_samples.shape[1], 8192)), rate)

    return blocks


_WARM_UP_MS = 300  # after start-up has painted the window


class AudioOut(QObject):
    """Plays a Sound from a time at a rate; drives the picture's clock while it does."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink: QAudioSink | None = None
        self._io: QIODevice | None = None
        self._pcm = bytearray()
        self._cond = threading.Condition()
        self._gen = 0
        self._worker: threading.Thread | None = None
        self._t0 = 0.0
        self._rate = 1.0
        self._played: tuple[float, float] | None = None  # (sink seconds, monotonic) at the last feed
        self._timer = QTimer(self)
        self._timer.setInterval(_FEED_MS)
        self._timer.timeout.connect(self._feed)
        # Finding the device loads QtMultimedia and reaches the sound server (40-170 ms on a 2-core
        # laptop): do it once the window has settled, not as a stall when Space is first pressed.
        QTimer.singleShot(_WARM_UP_MS, self, self._warm_up)

    @staticmethod
    def _warm_up() -> None:
        output_device()

    @property
    def playing(self) -> bool:
        return self._sink is not None

    def start(self, clock: Clock, sound: Sound | None, t: float, rate: float) -> bool:
        """Play ``sound`` from ``t`` at ``rate`` and let it drive ``clock``; False (silent) when
        it cannot or should not (no device, no sound, below 0.5x or backwards)."""
        self.stop()
        if sound is None or not MIN_RATE <= rate <= MAX_RATE:
            return False
        device = output_device()
        if device is None:
            return False
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink

        fmt = QAudioFormat()
        fmt.setSampleRate(RATE)
        fmt.setChannelCount(2)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        if not device.isFormatSupported(fmt):
            log.info("the audio output does not take 48 kHz stereo; playing without sound")
            return False
        self._sink = QAudioSink(device, fmt, self)
        self._io = self._sink.start()
        self._t0, self._rate, self._played = t, rate, None
        with self._cond:
            self._gen += 1
            self._pcm.clear()
        gen = self._gen
        self._worker = threading.Thread(target=self._fill, args=(sound, t, rate, gen), name="audio", daemon=True)
        self._worker.start()
        clock.follow(self._now)
        self._timer.start()
        return True

    def stop(self) -> None:
        self._timer.stop()
        with self._cond:
            self._gen += 1
            self._pcm.clear()
            self._cond.notify_all()
        if self._worker is not None:
            # It notices the new generation after its current block; mixing a reel's sound can
            # take longer, and the UI thread does not wait for that (the thread is a daemon).
            self._worker.join(0.2)
            self._worker = None
        if self._sink is not None:
            self._sink.stop()
            self._sink.deleteLater()
            self._sink = self._io = None

    def _now(self) -> float | None:
        """Presentation time from the sound played (any thread); None before it has started."""
        played = self._played
        if played is None:
            return None
        seconds, stamp = played
        return self._t0 + self._rate * (seconds + time.monotonic() - stamp)

    def _fill(self, sound: Sound, t: float, rate: float, gen: int) -> None:
        try:
            for block in sound(t, rate):
                data = block.tobytes()
                with self._cond:
                    while self._gen == gen and len(self._pcm) > _AHEAD_S * RATE * _BYTES_PER_SAMPLE:
                        self._cond.wait()
                    if self._gen != gen:
                        return
                    self._pcm += data
        except (av.FFmpegError, OSError, ValueError) as exc:  # no sound is better than no picture
            log.warning("sound stopped: %s", exc)

    def _feed(self) -> None:
        sink, io = self._sink, self._io
        if sink is None or io is None:
            return
        with self._cond:
            n = min(sink.bytesFree(), len(self._pcm))
            n -= n % _BYTES_PER_SAMPLE
            chunk = bytes(self._pcm[:n])
            del self._pcm[:n]
            self._cond.notify_all()
        if chunk:
            io.write(chunk)
        processed = sink.processedUSecs() / 1e6
        if processed > 0:
            self._played = (processed, time.monotonic())


__all__ = ["AudioOut", "MAX_RATE", "MIN_RATE", "media_sound", "output_device", "program_sound", "tempo"]
