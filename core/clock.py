"""An injectable clock: monotonic and wall time and a wait that either an event or the clock ends.

Code with time-based behaviour (poll intervals, settle and debounce timers, retry back-off) takes
a :class:`Clock` and defaults to :data:`REAL`. Tests pass a :class:`FakeClock` and move time with
:meth:`FakeClock.advance`, so they never sleep and never depend on how fast the machine is.
"""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (intervals and deadlines)."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch (timestamps shown or stored)."""
        ...

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        """Block until ``event`` is set (True) or ``timeout`` seconds of this clock passed (False)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` of this clock."""
        ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        return event.wait(timeout)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


REAL: Clock = RealClock()


class FakeClock:
    """A clock that only moves when a test calls :meth:`advance`.

    Waiters block until their event is set or the fake time reaches their deadline.
    :meth:`wait_for_waiters` lets a test know a worker thread is parked in a wait (so the next
    ``advance`` is the one it sees), which is what makes time-based tests deterministic.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start
        self._cond = threading.Condition()
        self._waiting: dict[int, float] = {}  # waiter id -> deadline (inf: no timeout)
        self._next_id = 0

    def monotonic(self) -> float:
        with self._cond:
            return self._now

    def wall(self) -> float:
        with self._cond:
            return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every waiter whose deadline has come."""
        if seconds < 0:
            raise ValueError("a clock never goes back")
        with self._cond:
            self._now += seconds
            self._cond.notify_all()

    def wait(self, event: threading.Event, timeout: float | None) -> bool:
        with self._cond:
            deadline = float("inf") if timeout is None else self._now + max(0.0, timeout)
            me = self._next_id
            self._next_id += 1
            self._waiting[me] = deadline
            self._cond.notify_all()  # wait_for_waiters() may be watching
            try:
                # The short real timeout only notices event.set() (which cannot notify this
                # condition); the fake time alone decides when a timeout has passed.
                while not event.is_set() and self._now < deadline:
                    self._cond.wait(0.01)
                return event.is_set()
            finally:
                del self._waiting[me]
                self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        self.wait(threading.Event(), seconds)

    def waiters(self) -> int:
        with self._cond:
            return len(self._waiting)

    def wait_for_waiters(self, count: int = 1, *, until: float | None = None, timeout: float = 10.0) -> None:
        """Block (real time, bounded) until ``count`` threads wait on this clock, each with a
        deadline after fake time ``until`` when given (i.e. they went round since the last advance).
        """
        def ready() -> bool:
            deadlines = [d for d in self._waiting.values() if until is None or d > until]
            return len(deadlines) >= count

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(f"{count} waiter(s) expected on the fake clock, {len(self._waiting)} there")
