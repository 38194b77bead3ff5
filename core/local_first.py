"""Local applies before a remote merge's work.

A merge runs on another thread (the sync's) for seconds: it parses, plans and commits chunk after
chunk. The write lock already lets a waiting apply in between two chunks, but outside the lock the
merging thread still competes with the apply for the interpreter: each time the apply lets go of it
(every SQLite call), getting it back can take a switch interval. So ``apply`` counts itself pending
for its whole length, and the merge, at pauses between pieces of its work, waits until no apply is.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class LocalFirst:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._pending = 0  # applies begun and not finished, on any thread
        self._paused = 0  # merges waiting in pause()

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Around one local apply: merges pause until it (and any other pending apply) is done."""
        with self._cond:
            self._pending += 1
        try:
            yield
        finally:
            with self._cond:
                self._pending -= 1
                if not self._pending:
                    self._cond.notify_all()

    def pause(self) -> None:
        """A merge between two pieces of its work: return once no local apply is pending. The
        caller must not hold anything such an apply waits for (the write lock)."""
        with self._cond:
            if not self._pending:
                return
            self._paused += 1
            self._cond.notify_all()  # wake wait_for_paused
            try:
                self._cond.wait_for(lambda: not self._pending)
            finally:
                self._paused -= 1

    def wait_for_paused(self, timeout: float) -> bool:
        """Block until a merge waits in :meth:`pause` (False after ``timeout`` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._paused > 0, timeout)
