"""Playback: the editor's transport over a source (one media file) or the program (the reel's output).

Pictures come from a ``PlayerEngine`` each (decoded and converted on its worker; the UI thread only
shows them). Every paused position (scrub, ←/→ step, pause) is snapped to the frame grid of what
is shown — the media's real rational rate, or the export's output rate in the program — and
decoded exactly. J/K/L shuttle from −4× to 4×. Sound (``AudioOut``) follows the rate with its
pitch kept and drives the picture clock; it is silent below 0.5×, backwards, or without an
output device, and the picture then runs on the monotonic clock. The program track is active
while the Program monitor is shown: transport commands then move output time; ``seek`` (media
time, from the timeline and the panels) returns to the source.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from core.editmath import frame_duration, frame_index, frame_time
from core.export.program import ProgramPreview
from desktop.ui.audio_out import AudioOut, Sound, media_sound
from desktop.ui.pictures import MediaPictures, ProgramPictures
from desktop.ui.player_engine import PlayerEngine

log = logging.getLogger(__name__)

SHUTTLE_RATES = (1.0, 2.0, 4.0)
_POSITION_EVERY_S = 1 / 20  # playhead updates while playing (each repaints the timeline's strip)


@dataclass
class _Track:
    """One thing the transport can play, and where it stands."""

    program: bool
    engine: PlayerEngine | None = None
    fps: Fraction = field(default_factory=lambda: Fraction(30))
    duration: float = 0.0
    position: float = 0.0
    range: tuple[float, float] | None = None
    last_emit: float = -math.inf
    sound: Sound | None = None

    def bounds(self) -> tuple[float, float]:
        """First and last frame start that may be shown."""
        last = max(0.0, self.duration - frame_duration(self.fps))
        if self.range is not None:
            return max(0.0, self.range[0]), min(last, self.range[1])
        return 0.0, last

    def snap(self, t: float) -> float:
        lo, hi = self.bounds()
        t = min(max(t, 0.0), max(hi, 0.0))
        i = frame_index(t + 0.5 * frame_duration(self.fps), self.fps)
        return min(max(frame_time(i, self.fps), 0.0), max(self.duration, 0.0))


class Playback(QObject):
    """The transport: play/pause, J/K/L shuttle, rate, loop, exact stepping and seeking."""

    frameReady = Signal(QImage)  # a source picture
    positionChanged = Signal(float)  # seconds of media time
    playingChanged = Signal(bool)
    rateChanged = Signal(float)
    message = Signal(str)
    programFrameReady = Signal(QImage)
    programPositionChanged = Signal(float)  # seconds of output time
    programChanged = Signal(bool)  # the program track became (in)active

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.loop = False
        self.rate = 1.0
        self._media = _Track(program=False)
        self._program = _Track(program=True)
        self._active = self._media
        self._direction = 0  # 1 forward, -1 backward, 0 paused
        self._box = (1280, 720)
        self._audio = AudioOut(self)

    # -- what plays ------------------------------------------------------------------------------
    @property
    def fps(self) -> Fraction:
        return self._media.fps

    @property
    def duration(self) -> float:
        return self._media.duration

    @property
    def range(self) -> tuple[float, float] | None:
        return self._media.range

    @property
    def program_active(self) -> bool:
        return self._active is self._program

    @property
    def program_duration(self) -> float:
        return self._program.duration

    def engine(self) -> PlayerEngine | None:
        """The active track's engine (benchmarks read its counters)."""
        return self._active.engine

    def set_media(self, path: Path | None, fps: Fraction, duration: float) -> None:
        m = self._media
        if path == self.path and m.engine is not None:
            m.fps, m.duration = Fraction(fps) if fps else Fraction(30), max(0.0, float(duration))
            return
        if self._active is m:
            self.pause()
        self._close(m)
        self.path = Path(path) if path is not None else None
        m.fps = Fraction(fps) if fps else Fraction(30)
        m.duration = max(0.0, float(duration))
        m.position = 0.0
        if self.path is None or not self.path.is_file():
            if self.path is not None:
                self.message.emit("The media file is not on this machine yet")
            return
        media_path = self.path
        m.sound = media_sound(media_path)
        self._open(m, lambda: MediaPictures(media_path), media_path.name)

    def set_program(self, open_preview: Callable[[], ProgramPreview] | None, fps: Fraction = Fraction(30),
                    duration: float = 0.0, sound: Sound | None = None) -> None:
        """Give the program track a reel (``open_preview`` runs on the worker) and its ``sound``,
        keeping its output time; None forgets it. Does not change which track is active."""
        p = self._program
        was_playing = self._active is p and self.playing
        if was_playing:
            self.pause()
        self._close(p)
        p.fps, p.duration, p.sound = Fraction(fps), max(0.0, float(duration)), sound
        if open_preview is None:
            if self._active is p:
                self.show_program(False)
            return
        self._open(p, lambda: ProgramPictures(open_preview()), "program")
        p.position = p.snap(p.position)
        if self._active is p:
            self._seek_track(p, p.position)

    def show_program(self, on: bool) -> None:
        """Make the program (True) or the source (False) the track the transport drives."""
        track = self._program if on and self._program.engine is not None else self._media
        if track is self._active:
            return
        self.pause()
        self._active = track
        self.programChanged.emit(track is self._program)
        if track.engine is not None:
            self._seek_track(track, track.position)

    def _open(self, track: _Track, open_source: Callable, name: str) -> None:
        engine = PlayerEngine(open_source, name, self)
        engine.set_box(*self._box)
        engine.frameShown.connect(lambda t, image, tr=track: self._shown(tr, t, image))
        engine.reachedEnd.connect(lambda t, tr=track: self._reached_end(tr, t))
        engine.failed.connect(self._failed)
        track.engine = engine

    def _close(self, track: _Track) -> None:
        if track.engine is not None:
            track.engine.close()
            # Owned by Python from here: freed when the last reference goes (deleteLater on a
            # parented engine crashed in ~QObject after its worker had stopped).
            track.engine.setParent(None)
            track.engine = None

    def close(self) -> None:
        self.pause()
        self._audio.stop()
        self._close(self._media)
        self._close(self._program)

    def set_display_size(self, width: int, height: int) -> None:
        """Device pixels pictures are shown at: they are converted to fit, off the UI thread."""
        self._box = (max(16, int(width)), max(16, int(height)))
        for track in (self._media, self._program):
            if track.engine is not None:
                track.engine.set_box(*self._box)

    # -- state -----------------------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Media time of the source (the program's output time is ``program_position``)."""
        return self._media.position

    @property
    def program_position(self) -> float:
        return self._program.position

    @property
    def playing(self) -> bool:
        return self._direction != 0

    def set_range(self, rng: tuple[float, float] | None) -> None:
        self._media.range = rng

    def set_loop(self, loop: bool) -> None:
        self.loop = loop

    def snap(self, t: float) -> float:
        """Nearest frame start on the media's own frame grid, kept inside the bounds."""
        return self._media.snap(t)

    # -- transport -------------------------------------------------------------------------------
    def play(self, rate: float = 1.0) -> None:
        self._run(abs(rate))

    def _run(self, rate: float) -> None:
        """Play the active track at ``rate`` (negative: backwards)."""
        track = self._active
        if track.engine is None:
            return
        lo, hi = track.bounds()
        frame = frame_duration(track.fps)
        if rate > 0 and track.position >= hi - frame / 2:
            track.position = lo  # at the end: play again from the start, as players do
        elif rate < 0 and track.position <= lo + frame / 2:
            track.position = hi
        self._set_rate(abs(rate))
        self._start(track, rate)
        self._set_direction(1 if rate > 0 else -1)

    def _start(self, track: _Track, rate: float) -> None:
        """Pictures and sound from ``track.position`` at ``rate``."""
        assert track.engine is not None
        lo, hi = track.bounds()
        track.engine.play(track.position, rate, lo, hi + frame_duration(track.fps))
        self._audio.start(track.engine.clock, track.sound, track.position, rate)

    def pause(self) -> None:
        track = self._active
        if self._direction == 0 or track.engine is None:
            return
        self._audio.stop()
        track.engine.pause()
        self._set_direction(0)
        # Stop on the picture on screen: no decode, no jump.
        self._emit_position(track, track.position, force=True)

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play(1.0)

    def shuttle_forward(self) -> None:
        """L: play; pressed again while playing forward, faster (1×, 2×, 4×)."""
        self._run(self._next_rate() if self._direction == 1 else 1.0)

    def shuttle_backward(self) -> None:
        """J: play backwards; pressed again, faster (−1×, −2×, −4×)."""
        self._run(-(self._next_rate() if self._direction == -1 else 1.0))

    def shuttle_stop(self) -> None:
        """K: stop and reset the shuttle speed."""
        self.pause()
        self._set_rate(1.0)

    def set_playback_rate(self, rate: float) -> None:
        self._set_rate(rate)
        if self._direction:
            self._run(self._direction * rate)

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
        """Show the exact source frame at media time ``t`` (the program monitor gives way)."""
        if self._active is not self._media:
            self.show_program(False)
        self._seek_track(self._media, t)

    def program_seek(self, t: float) -> None:
        """Show the exact program frame at output time ``t``."""
        if self._active is not self._program:
            self.show_program(True)
        if self._active is self._program:
            self._seek_track(self._program, t)

    def _seek_track(self, track: _Track, t: float) -> None:
        t = track.snap(t)
        track.position = t
        if track.engine is not None:
            if self._direction and track is self._active:
                self._start(track, self._direction * self.rate)
            else:
                track.engine.request(t)
        self._emit_position(track, t, force=True)

    def step(self, frames: int) -> None:
        self.pause()
        track = self._active
        i = frame_index(track.position + 0.5 * frame_duration(track.fps), track.fps) + frames
        self._seek_track(track, frame_time(max(0, i), track.fps))

    def step_seconds(self, seconds: float) -> None:
        self.pause()
        self._seek_track(self._active, self._active.position + seconds)

    def go_start(self) -> None:
        self._seek_track(self._active, self._active.bounds()[0])

    def go_end(self) -> None:
        self._seek_track(self._active, self._active.bounds()[1])

    # -- engine reports --------------------------------------------------------------------------
    def _shown(self, track: _Track, t: float, image: QImage) -> None:
        if track.program:
            self.programFrameReady.emit(image)
        else:
            self.frameReady.emit(image)
        if track is self._active and self._direction:
            lo, hi = track.bounds()
            track.position = min(max(t, lo), hi)
            self._emit_position(track, track.position)

    def _reached_end(self, track: _Track, t: float) -> None:
        if track is not self._active or not self._direction:
            return
        lo, hi = track.bounds()
        if self.loop:
            track.position = lo if self._direction > 0 else hi
            self._run(self._direction * self.rate)
            return
        forward = self._direction > 0
        self.pause()
        self._seek_track(track, hi if forward else lo)

    def _failed(self, text: str) -> None:
        self.pause()
        self.message.emit(text[:1].upper() + text[1:] if text else "This file cannot be played")

    def _emit_position(self, track: _Track, t: float, force: bool = False) -> None:
        if force or abs(t - track.last_emit) >= _POSITION_EVERY_S:
            track.last_emit = t
            (self.programPositionChanged if track.program else self.positionChanged).emit(t)


__all__ = ["Playback", "SHUTTLE_RATES"]
