"""Bounded waits for tests: on a condition (real time) and on a worker driven by a FakeClock."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from core.clock import FakeClock

TIMEOUT_S = 30.0  # generous: the machine may be loaded; a correct run returns as soon as it can
_TICK_S = 0.02


def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT_S, what: str = "the condition") -> None:
    """Return once ``predicate()`` holds; fail after ``timeout`` seconds. For state that has no
    event to wait on (another thread's or process's progress); it re-checks every few ms."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        pause.wait(_TICK_S)


def went_round(clock: FakeClock, workers: int = 1) -> None:
    """Wait until ``workers`` threads waiting on ``clock`` have handled its current time (each is
    parked again with a deadline in the future)."""
    clock.wait_for_waiters(workers, until=clock.monotonic(), timeout=TIMEOUT_S)


def pass_time(clock: FakeClock, seconds: float, step: float, workers: int = 1) -> None:
    """Let ``seconds`` of fake time pass in ``step``s, each handled by the workers before the next."""
    went_round(clock, workers)
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        clock.advance(min(step, end - clock.monotonic()))
        went_round(clock, workers)


def run_clock_until(clock: FakeClock, predicate: Callable[[], bool], step: float, *, workers: int = 1,
                    timeout: float = TIMEOUT_S, what: str = "the condition") -> None:
    """Advance ``clock`` by ``step`` per round until ``predicate()`` holds (bounded in real time):
    for outcomes that also wait on something outside the clock (file-system events, an import)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    went_round(clock, workers)
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        clock.advance(step)
        went_round(clock, workers)
        pause.wait(_TICK_S)  # give the real-time side (event threads) a turn; not a correctness wait
