"""The playback engine: pictures are decoded and converted on a worker, the UI thread only shows them.

A worker thread owns a ``PictureSource`` (one media file, or the reel's program) and serves the
newest command:

* **play** (forward, any rate): decodes in order from the start time, converts each picture to a
  QImage at the display size (swscale, off the UI thread) and queues it. The queue is bounded:
  the worker waits while the presenter is ``AHEAD`` pictures behind. A picture whose successor is
  already due on the presentation clock is dropped before conversion; when the decoder falls far
  behind (4x on 4K footage) it jumps to the clock with a keyframe seek.
* **seek** (paused: scrub, frame step): exact "latest frame at or before t"; a request arriving
  during a decode retargets it (the newest request wins); recent pictures are cached.
* **reverse** (J): repeatedly shows the picture at the clock's (falling) time, like a scrub.

The presenter (UI thread, a single-shot precise timer) shows the newest queued picture whose time
has come on the clock and drops the ones it replaced. The clock is monotonic, anchored when play
starts; an audio output may drive it instead (``Clock.follow``).
"""
from __future__ import annotations

import atexit
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QImage

log = logging.getLogger(__name__)

AHEAD = 4  # pictures queued ahead of the clock while playing
CACHE_PICTURES = 48
_CATCH_UP_S = 0.5  # seconds of clock time the decoder may lag before it seeks ahead
_MAX_HOLD_S = 0.1  # show at least one picture this often, however late the decoder is
_DUE_SLACK_S = 0.002  # show a picture this early rather than wake again for it


# Workers still finishing a picture when their engine closed; interpreter exit waits for them.
_STRAGGLERS: set[QThread] = set()


@atexit.register
def _wait_for_stragglers() -> None:
    for worker in list(_STRAGGLERS):
        worker.wait(10_000)


class PictureSource(Protocol):
    """What the worker plays: pictures at times, and their conversion to QImages."""

    fps: Fraction
    duration: float

    def read(self, t: float, newer: Callable[[], float | None]) -> tuple[float, float, float, Any] | None:
        """(t served, picture start, picture end, picture) for the latest picture at or before
        ``t``; ``newer()`` may hand over a newer target mid-decode (it is then the one served)."""

    def to_image(self, picture: Any, box: tuple[int, int]) -> QImage:
        """The picture as a QImage fitting inside ``box`` (w, h device pixels)."""

    def close(self) -> None: ...


class Clock:
    """Presentation time: ``t0 + rate · (now - anchor)`` on the monotonic clock while running, or
    an external clock (an audio output's played position) when one is followed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._wall0 = 0.0
        self._rate = 0.0
        self._external: Callable[[], float | None] | None = None

    def start(self, t: float, rate: float) -> None:
        with self._lock:
            self._t0, self._wall0, self._rate, self._external = t, time.monotonic(), rate, None

    def stop(self) -> float:
        t = self.now()
        with self._lock:
            self._t0, self._rate, self._external = t, 0.0, None
        return t

    def follow(self, source: Callable[[], float | None]) -> None:
        """Take time from ``source`` (seconds of presentation time; None: not started yet)."""
        with self._lock:
            self._external = source

    @property
    def rate(self) -> float:
        return self._rate

    def now(self) -> float:
        with self._lock:
            external, t0, wall0, rate = self._external, self._t0, self._wall0, self._rate
        if external is not None:
            t = external()
            if t is not None:
                return t
        return t0 + (time.monotonic() - wall0) * rate if rate else t0


class Kind(str, Enum):
    IDLE = "idle"
    SEEK = "seek"
    PLAY = "play"
    REVERSE = "reverse"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Command:
    gen: int
    kind: Kind
    t: float = 0.0
    lo: float = 0.0
    hi: float = math.inf


@dataclass(frozen=True, slots=True)
class Shown:
    """A converted picture for the presenter (``image`` None marks the end of the range)."""

    gen: int
    start: float
    end: float
    image: QImage | None
    immediate: bool  # seek / reverse results: show on arrival, not at a clock time


class _Worker(QThread):
    def __init__(self, engine: PlayerEngine, open_source: Callable[[], PictureSource], name: str) -> None:
        super().__init__()
        self.setObjectName(f"player:{name}")
        self._engine = engine
        self._open = open_source
        self._cond = engine._cond
        self._cache: OrderedDict[float, tuple[float, float, QImage]] = OrderedDict()
        self._box: tuple[int, int] = (1280, 720)
        self.dropped = 0  # pictures skipped before conversion because they were late

    # -- commands ------------------------------------------------------------------------------
    def _command(self) -> Command:
        return self._engine._command

    def _current(self, gen: int) -> bool:
        return self._engine._command.gen == gen

    def _wait_command(self, served: int) -> Command:
        with self._cond:
            while self._engine._command.gen == served:
                self._cond.wait()
            return self._engine._command

    def _push(self, item: Shown) -> bool:
        """Queue ``item``; while playing wait for room. False: the command changed meanwhile."""
        with self._cond:
            while (not item.immediate and len(self._engine._items) >= AHEAD
                   and self._current(item.gen)):
                self._cond.wait()
            if not self._engine._accepts(item.gen, item.immediate):
                return False
            self._engine._items.append(item)
        self._engine._wake.emit()  # queued to the UI thread
        return True

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            source = self._open()
        except Exception as exc:  # any failure to open is reported, in words
            log.warning("cannot open for playback: %s", exc)
            self._engine._failed.emit(str(getattr(exc, "message", None) or exc))
            return
        self._engine._opened.emit(source)
        served = -1
        try:
            while True:
                cmd = self._wait_command(served)
                served = cmd.gen
                if cmd.kind is Kind.STOP:
                    return
                with self._cond:
                    box = self._engine._box
                if box != self._box:
                    self._box = box
                    self._cache.clear()
                try:
                    if cmd.kind is Kind.SEEK:
                        served = self._seek(source, cmd)
                    elif cmd.kind is Kind.PLAY:
                        self._play(source, cmd)
                    elif cmd.kind is Kind.REVERSE:
                        self._reverse(source, cmd)
                except Exception as exc:  # a damaged file must not end the worker
                    log.warning("playback at %.3f s failed: %s", cmd.t, exc)
                    self._engine._failed.emit(f"the picture at {cmd.t:.2f} s could not be decoded")
        finally:
            source.close()

    def _cached(self, t: float) -> tuple[float, float, QImage] | None:
        for key, (start, end, image) in self._cache.items():
            if start <= t < end:
                self._cache.move_to_end(key)
                return start, end, image
        return None

    def _remember(self, start: float, end: float, image: QImage) -> None:
        self._cache[start] = (start, end, image)
        while len(self._cache) > CACHE_PICTURES:
            self._cache.popitem(last=False)

    def _picture(self, source: PictureSource, t: float, newer: Callable[[], float | None]
                 ) -> tuple[float, float, QImage] | None:
        hit = self._cached(t)
        if hit is not None:
            return hit
        found = source.read(t, newer)
        if found is None:
            return None
        _t, start, end, picture = found
        image = source.to_image(picture, self._box)
        self._remember(start, end, image)
        return start, end, image

    def _seek(self, source: PictureSource, cmd: Command) -> int:
        gen, t = cmd.gen, cmd.t

        shown_at = time.monotonic()

        def newer() -> float | None:
            # Mid-decode, take over only a newer target that lies before the one being decoded
            # to: one further on is served next anyway, and chasing it while a drag runs ahead
            # of the decoder would show nothing until the drag stops.
            nonlocal gen, t, shown_at
            latest = self._engine._command
            if latest.gen != gen and latest.kind is Kind.SEEK and latest.t < t:
                gen, t = latest.gen, latest.t
                return t
            if latest.gen != gen and time.monotonic() - shown_at > _MAX_HOLD_S:
                # A drag outruns a long decode (a far keyframe, 4K): show where it has got to.
                passing = source.current() if hasattr(source, "current") else None
                if passing is not None:
                    image = source.to_image(passing[2], self._box)
                    self._push(Shown(gen, passing[0], passing[1], image, immediate=True))
                shown_at = time.monotonic()
            return None

        while True:
            shown = self._picture(source, t, newer)
            shown_at = time.monotonic()
            if shown is not None:
                # Shown even when newer requests wait: a drag shows pictures as it goes.
                self._push(Shown(gen, shown[0], shown[1], shown[2], immediate=True))
            latest = self._engine._command
            if latest.gen == gen or latest.kind is not Kind.SEEK:
                return gen
            gen, t = latest.gen, latest.t  # arrived meanwhile: serve the newest next

    def _play(self, source: PictureSource, cmd: Command) -> None:
        clock = self._engine.clock
        t, first = cmd.t, True
        pushed = time.monotonic()
        while self._current(cmd.gen):
            found = source.read(t, lambda: None)
            if found is None:
                break
            _t, start, end, picture = found
            last = end >= cmd.hi or math.isinf(end)
            now = clock.now()
            # Late (its successor is already due): drop it, unless nothing has been shown for a
            # while: a decoder slower than the clock then still shows a picture now and then.
            if not first and not last and end <= now and time.monotonic() - pushed < _MAX_HOLD_S:
                self.dropped += 1
                t = end if now - end < _CATCH_UP_S * max(1.0, clock.rate) else now
                continue
            image = source.to_image(picture, self._box)
            self._remember(start, end, image)  # pausing, then stepping back, needs no decode
            if not self._push(Shown(cmd.gen, max(start, cmd.t) if first else start, end, image, False)):
                return
            pushed = time.monotonic()
            first = False
            if last:
                # The end is due when the last picture has had its time on screen.
                t = end if not math.isinf(end) else start + float(1 / source.fps)
                break
            t = end
        self._push(Shown(cmd.gen, min(cmd.hi, max(t, cmd.t)), math.inf, None, False))

    def _reverse(self, source: PictureSource, cmd: Command) -> None:
        clock = self._engine.clock
        shown_start: float | None = None
        while self._current(cmd.gen):
            now = clock.now()
            if now <= cmd.lo:
                self._push(Shown(cmd.gen, cmd.lo, math.inf, None, True))
                return
            if shown_start is not None and now >= shown_start:
                # Still inside the picture on screen: wait for the clock to leave it.
                with self._cond:
                    self._cond.wait(max(0.001, (now - shown_start) / max(1e-3, -clock.rate)))
                continue
            shown = self._picture(source, now, lambda: None)
            if shown is None:
                return
            shown_start = shown[0]
            if not self._push(Shown(cmd.gen, shown[0], shown[1], shown[2], True)):
                return


class PlayerEngine(QObject):
    """Transport over one PictureSource: ``play``, ``reverse``, ``pause``, ``request`` (seek).

    ``frameShown(start, image)`` fires on the UI thread for each picture shown; ``reachedEnd(t)``
    when playing reaches the range end (or the start, backwards). ``opened(source)`` and
    ``failed(text)`` report the worker opening the source. Call ``close()`` when done.
    """

    frameShown = Signal(float, QImage)
    reachedEnd = Signal(float)
    opened = Signal(object)
    failed = Signal(str)
    _wake = Signal()
    _opened = Signal(object)
    _failed = Signal(str)

    def __init__(self, open_source: Callable[[], PictureSource], name: str = "",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = Clock()
        self._cond = threading.Condition()
        self._items: deque[Shown] = deque()
        self._command = Command(0, Kind.IDLE)
        self._floor = 0  # oldest command whose seek pictures may still be shown
        self._shown_gen = 0  # newest command a picture was shown for: never go back to older
        self._box = (1280, 720)
        self.shown = 0  # pictures shown while playing (the benchmark's "frames shown")
        self.replaced = 0  # pictures that arrived but were overtaken before their turn
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._present)
        self._wake.connect(self._present, Qt.ConnectionType.QueuedConnection)
        self._opened.connect(self.opened, Qt.ConnectionType.QueuedConnection)
        self._failed.connect(self.failed, Qt.ConnectionType.QueuedConnection)
        self._closed = False
        self._worker = _Worker(self, open_source, name)
        self._worker.start()

    def _accepts(self, gen: int, immediate: bool) -> bool:
        """Whether a picture for command ``gen`` may still be shown (call with the lock held)."""
        if immediate and self._command.kind is Kind.SEEK:
            return gen >= max(self._floor, self._shown_gen)
        return gen == self._command.gen

    @property
    def dropped(self) -> int:
        return self._worker.dropped + self.replaced

    def _send(self, kind: Kind, t: float = 0.0, lo: float = 0.0, hi: float = math.inf) -> int:
        with self._cond:
            gen = self._command.gen + 1
            # A run of seeks (a drag) keeps the pictures of earlier requests coming; anything
            # else starts afresh.
            if not (kind is Kind.SEEK and self._command.kind is Kind.SEEK):
                self._floor = gen
                self._items.clear()
            self._command = Command(gen, kind, t, lo, hi)
            self._cond.notify_all()
        self._timer.stop()
        return gen

    def set_box(self, width: int, height: int) -> None:
        """The display size (device pixels) pictures are converted to fit."""
        with self._cond:
            self._box = (max(16, int(width)), max(16, int(height)))

    def play(self, t: float, rate: float, lo: float, hi: float) -> None:
        """Play from ``t`` at ``rate`` (> 0 forwards, < 0 backwards) inside [lo, hi]."""
        self.clock.start(t, rate)
        self._send(Kind.PLAY if rate > 0 else Kind.REVERSE, t, lo, hi)

    def pause(self) -> float:
        """Stop at once (nothing more is shown) and return the clock's time."""
        t = self.clock.stop()
        self._send(Kind.IDLE)
        return t

    def request(self, t: float) -> None:
        """Show the exact picture at ``t``; a newer request replaces one not yet served."""
        self._send(Kind.SEEK, t)

    def close(self, wait_ms: int = 0) -> None:
        """Stop the worker. It may be finishing a picture (a 4K decode): that ends in the
        background instead of blocking the UI thread; interpreter exit waits for it."""
        if self._closed:
            return
        self._closed = True
        self._send(Kind.STOP)
        for worker in [w for w in _STRAGGLERS if w.isFinished()]:
            _STRAGGLERS.discard(worker)
        if not self._worker.wait(wait_ms):
            _STRAGGLERS.add(self._worker)  # a running QThread must not be destroyed

    # -- the presenter (UI thread) -------------------------------------------------------------
    def _present(self) -> None:
        now = self.clock.now()
        rate = self.clock.rate
        latest: Shown | None = None
        end: Shown | None = None
        wait_s: float | None = None
        with self._cond:
            while self._items:
                item = self._items[0]
                if not self._accepts(item.gen, item.immediate):
                    self._items.popleft()
                    continue
                due = item.immediate or (now >= item.start - _DUE_SLACK_S if rate >= 0 else True)
                if not due:
                    wait_s = (item.start - now) / max(rate, 1e-6)
                    break
                self._items.popleft()
                if item.image is None:
                    end = item
                    break
                if latest is not None:
                    self.replaced += 1
                latest = item
                self._shown_gen = max(self._shown_gen, item.gen)
            self._cond.notify_all()  # room in the queue
        if latest is not None and latest.image is not None:
            if self._command.kind in (Kind.PLAY, Kind.REVERSE):
                self.shown += 1
            self.frameShown.emit(latest.start, latest.image)
        if end is not None:
            self.reachedEnd.emit(end.start)
        elif wait_s is not None:
            self._timer.start(max(0, math.floor(wait_s * 1000)))


__all__ = ["AHEAD", "CACHE_PICTURES", "Clock", "PictureSource", "PlayerEngine"]
