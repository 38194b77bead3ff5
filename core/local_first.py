"""Local applies before a remote merge's work.

A merge runs on another thread (the sync's) for seconds: it parses, plans and commits chunk after
chunk. The write lock already lets a waiting apply in between two chunks, but outside the lock the
merging thread still competes with the apply for the interpreter: each time the apply lets go of it
(every SQLite call), getting it back can take a switch interval. So ``apply`` counts itself pending
for its whole length, and the merge, at pauses between pieces of its work, waits until no apply is.
"""
from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from typing import Iterator


class LocalFirst:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._pending: Counter[int] = Counter()  # thread -> its applies begun and not finished
        self._paused = 0  # merges waiting in pause()

    @contextmanager
    def applying(self) -> Iterator[None]:
        """Around one local apply: merges pause until it (and any other pending apply) is done."""
        me = threading.get_ident()
        with self._cond:
            self._pending[me] += 1
        try:
            yield
        finally:
            with self._cond:
                self._pending[me] -= 1
                if not self._pending[me]:
                    del self._pending[me]
                    self._cond.notify_all()

    def pause(self) -> None:
        """A merge between two pieces of its work: return once no local apply is pending on another
        thread (one of this thread's own, the merge running inside it, cannot finish first). The
        caller must not hold anything such an apply waits for (the write lock)."""
        me = threading.get_ident()

        def others() -> bool:
            return any(thread != me for thread in self._pending)

        with self._cond:
            if not others():
                return
            self._paused += 1
            self._cond.notify_all()  # wake wait_for_paused
            try:
                self._cond.wait_for(lambda: not others())
            finally:
                self._paused -= 1

    def wait_for_paused(self, timeout: float) -> bool:
        """Block until a merge waits in :meth:`pause` (False after ``timeout`` seconds)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._paused > 0, timeout)
