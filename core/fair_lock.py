"""A re-entrant lock granted in arrival order.

``threading.RLock`` lets a thread that releases and at once re-acquires (a merge committing chunk
after chunk) win again and again over a thread already waiting (the UI's apply); handing the lock
over in ticket order bounds that wait by one chunk.
"""
from __future__ import annotations

import threading
from types import TracebackType


class FairRLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._depth = 0
        self._next_ticket = 0  # handed to the next thread that has to wait
        self._serving = 0  # the ticket whose turn it is

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return
            ticket = self._next_ticket
            self._next_ticket += 1
            self._cond.notify_all()  # wake wait_for_queued
            while self._owner is not None or self._serving != ticket:
                self._cond.wait()
            self._owner, self._depth = me, 1
            self._serving += 1

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        with self._cond:
            return self._owner == threading.get_ident()

    def queued(self) -> int:
        """Threads waiting for the lock (not counting its holder)."""
        with self._cond:
            return self._next_ticket - self._serving

    def wait_for_queued(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` threads wait for the lock (False after ``timeout`` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._next_ticket - self._serving >= n, timeout)

    def __enter__(self) -> FairRLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
