"""Playback: QMediaPlayer + QVideoSink while playing, exact frames from a FrameSource while paused.

QtMultimedia positions are milliseconds from a real-time clock, fine for watching but not for
editing; every paused position (scrub, ←/→ step, J/K/L stop) is therefore snapped to the media's
frame grid (its real rational rate, never 30 fps) and decoded exactly by a FrameSource on a worker.
Reverse shuttle (J) steps exact frames on a timer, because QMediaPlayer cannot play backwards.
"""
from __future__ import annotations

import logging
import math
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QImage

from core.editmath import frame_duration, frame_index, frame_time
from desktop.ui.frame_source import FrameSource

log = logging.getLogger(__name__)

SHUTTLE_RATES = (1.0, 2.0, 4.0, 8.0)
_REVERSE_TICK_MS = 66  # ~15 exact frames per second while shuttling backwards
_POSITION_EPS = 1e-6


def make_frame_source(path: Path, parent: QObject | None = None) -> FrameSource:
    return FrameSource(path, parent=parent)


class Playback(QObject):
    """One media file's transport: play/pause, J/K/L shuttle, rate, loop, exact stepping."""

    frameReady = Signal(QImage)
    positionChanged = Signal(float)  # seconds of media time
    playingChanged = Signal(bool)
    rateChanged = Signal(float)
    message = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.fps = Fraction(30)
        self.duration = 0.0
        self.range: tuple[float, float] | None = None  # the clip being edited: loop and clamp
        self.loop = False
        self.rate = 1.0
        self._position = 0.0
        self._direction = 0  # 1 forward (player), -1 reverse (timer), 0 paused
        self._player = None
        self._sink = None
        self._audio = None
        self._source: FrameSource | None = None
        self._last_emit = -1.0
        self._start_from: float | None = None  # frames before this are stale (the player seeks async)
        self._reverse = QTimer(self)
        self._reverse.setInterval(_REVERSE_TICK_MS)
        self._reverse.timeout.connect(self._reverse_tick)

    # -- media -----------------------------------------------------------------------------------
    def set_media(self, path: Path | None, fps: Fraction, duration: float) -> None:
        if path == self.path and self._source is not None:
            self.fps, self.duration = fps, duration
            return
        self.pause()
        self._close_source()
        self.path = Path(path) if path is not None else None
        self.fps = Fraction(fps) if fps else Fraction(30)
        self.duration = max(0.0, float(duration))
        self._position = 0.0
        if self.path is None or not self.path.is_file():
            if self.path is not None:
                self.message.emit("The media file is not on this machine yet")
            return
        self._source = make_frame_source(self.path, self)
        self._source.frameReady.connect(self._on_exact_frame)
        if self._player is not None:
            self._player.setSource(QUrl.fromLocalFile(str(self.path)))

    def _ensure_player(self) -> bool:
        if self._player is not None:
            return True
        if self.path is None:
            return False
        try:
            from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer, QVideoSink
        except ImportError:  # a build without QtMultimedia: stepping still works
            self.message.emit("Playback is unavailable on this system; use ←/→ to step")
            return False
        self._player = QMediaPlayer(self)
        self._sink = QVideoSink(self)
        self._player.setVideoOutput(self._sink)
        if not QMediaDevices.defaultAudioOutput().isNull():
            self._audio = QAudioOutput(self)
            self._player.setAudioOutput(self._audio)
        self._sink.videoFrameChanged.connect(self._on_video_frame)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.errorOccurred.connect(self._on_player_error)
        self._player.setSource(QUrl.fromLocalFile(str(self.path)))
        return True

    def _close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source.deleteLater()
            self._source = None

    def close(self) -> None:
        self.pause()
        self._close_source()
        if self._player is not None:
            self._player.stop()
            self._player.setSource(QUrl())

    # -- state -----------------------------------------------------------------------------------
    @property
    def position(self) -> float:
        return self._position

    @property
    def playing(self) -> bool:
        return self._direction != 0

    def set_range(self, rng: tuple[float, float] | None) -> None:
        self.range = rng

    def set_loop(self, loop: bool) -> None:
        self.loop = loop

    def _bounds(self) -> tuple[float, float]:
        last = max(0.0, self.duration - frame_duration(self.fps))
        if self.range is not None:
            return max(0.0, self.range[0]), min(last, self.range[1])
        return 0.0, last

    def snap(self, t: float) -> float:
        """Nearest frame start on the media's own frame grid, kept inside the bounds."""
        lo, hi = self._bounds()
        t = min(max(t, 0.0), max(hi, 0.0))
        i = frame_index(t + 0.5 * frame_duration(self.fps), self.fps)
        return min(max(frame_time(i, self.fps), 0.0), max(self.duration, 0.0))

    # -- transport -------------------------------------------------------------------------------
    def play(self, rate: float = 1.0) -> None:
        if self.path is None or self._source is None:
            return
        self._reverse.stop()
        lo, hi = self._bounds()
        if self._position >= hi - frame_duration(self.fps):
            self._position = lo  # at the end: play again from the start, as players do
        if not self._ensure_player():
            return
        self._set_rate(rate)
        self._player.setPlaybackRate(rate)
        self._start_from = self._position
        self._player.setPosition(int(round(self._position * 1000)))
        self._player.play()
        self._set_direction(1)

    def pause(self) -> None:
        was = self._direction
        self._start_from = None
        self._reverse.stop()
        if self._player is not None and was == 1:
            self._player.pause()
        self._set_direction(0)
        if was:
            self.seek(self._position)  # land on an exact frame

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play(1.0)

    def shuttle_forward(self) -> None:
        """L: play; pressed again while playing forward, faster (1×, 2×, 4×, 8×)."""
        rate = self._next_rate() if self._direction == 1 else 1.0
        self.play(rate)

    def shuttle_backward(self) -> None:
        """J: play backwards; pressed again, faster."""
        rate = self._next_rate() if self._direction == -1 else 1.0
        if self.path is None or self._source is None:
            return
        if self._direction == 1 and self._player is not None:
            self._player.pause()
        self._set_rate(rate)
        self._set_direction(-1)
        self._reverse.start()

    def shuttle_stop(self) -> None:
        """K: stop and reset the shuttle speed."""
        self.pause()
        self._set_rate(1.0)

    def set_playback_rate(self, rate: float) -> None:
        self._set_rate(rate)
        if self._direction == 1 and self._player is not None:
            self._player.setPlaybackRate(rate)

    def _next_rate(self) -> float:
        bigger = [r for r in SHUTTLE_RATES if r > self.rate + 1e-9]
        return bigger[0] if bigger else SHUTTLE_RATES[-1]

    def _set_rate(self, rate: float) -> None:
        if abs(rate - self.rate) > 1e-9:
            self.rate = rate
            self.rateChanged.emit(rate)

    def _set_direction(self, d: int) -> None:
        if d != self._direction:
            self._direction = d
            self.playingChanged.emit(d != 0)

    def seek(self, t: float) -> None:
        """Pause-accurate seek: snap to a frame and decode exactly that frame."""
        t = self.snap(t)
        self._position = t
        if self._direction == 1 and self._player is not None:
            self._start_from = t
            self._player.setPosition(int(round(t * 1000)))
        elif self._source is not None:
            self._source.request(t)
        self._emit_position(t, force=True)

    def step(self, frames: int) -> None:
        if self.playing:
            self.pause()
        i = frame_index(self._position + 0.5 * frame_duration(self.fps), self.fps) + frames
        self.seek(frame_time(max(0, i), self.fps))

    def step_seconds(self, seconds: float) -> None:
        if self.playing:
            self.pause()
        self.seek(self._position + seconds)

    # -- callbacks -------------------------------------------------------------------------------
    @Slot(float, QImage)
    def _on_exact_frame(self, t: float, image: QImage) -> None:
        if self._direction != 1:
            self.frameReady.emit(image)

    def _on_status(self, status) -> None:
        from PySide6.QtMultimedia import QMediaPlayer

        # A position set before the file finished loading is dropped by the player: set it again.
        if status in (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia) \
                and self._start_from is not None and self._direction == 1:
            self._player.setPosition(int(round(self._start_from * 1000)))

    def _on_video_frame(self, frame) -> None:  # QVideoFrame, on the UI thread (queued by Qt)
        if self._direction != 1 or not frame.isValid():
            return
        t = frame.startTime() / 1_000_000 if frame.startTime() >= 0 else self._player.position() / 1000
        if self._start_from is not None:
            if abs(t - self._start_from) > 0.5:
                return  # a frame from before the seek landed
            self._start_from = None
        image = frame.toImage()
        if image.isNull():
            return
        self.frameReady.emit(image)
        self._position = t
        lo, hi = self._bounds()
        if t >= hi - _POSITION_EPS:
            if self.loop:
                self._position = lo
                self._start_from = lo
                self._player.setPosition(int(round(lo * 1000)))
            else:
                self._position = hi
                self.pause()
                return
        self._emit_position(t)

    def _reverse_tick(self) -> None:
        lo, hi = self._bounds()
        t = self._position - self.rate * _REVERSE_TICK_MS / 1000.0
        if t <= lo:
            if self.loop:
                t = hi
            else:
                self._position = lo
                self.pause()
                return
        self._position = t
        if self._source is not None:
            self._source.request(self.snap(t))
        self._emit_position(t)

    def _emit_position(self, t: float, force: bool = False) -> None:
        # ~30 updates a second are plenty for the playhead; exact seeks always report.
        if force or abs(t - self._last_emit) >= 1 / 30 or math.isclose(t, 0.0):
            self._last_emit = t
            self.positionChanged.emit(t)

    def _on_player_error(self, error, text: str) -> None:
        log.warning("playback error %s: %s", error, text)
        self.pause()
        self.message.emit("This file cannot be played; stepping with ←/→ still works")


__all__ = ["Playback", "SHUTTLE_RATES", "make_frame_source"]
