"""Moving WAL pages into the database file on a background thread.

SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, so one apply()
in a few hundred paid for copying and fsyncing megabytes (the p99 latency). Here commits only
append to the WAL; this thread checkpoints shortly after writes, and the automatic checkpoint
stays on with a much higher threshold as a backstop.
"""
from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 16_000  # ~64 MB of WAL before a commit checkpoints by itself


class WalCheckpointer:
    def __init__(self, engine: Engine, *, delay_s: float = 0.5) -> None:
        self._engine = engine
        self._delay_s = delay_s
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A transaction committed: checkpoint soon."""
        self._dirty.set()

    def _checkpoint(self, mode: str) -> None:
        try:
            with self._engine.connect() as conn:
                conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")
        except SQLAlchemyError as exc:  # busy or closing: the next round (or the backstop) catches up
            log.debug("checkpoint %s skipped: %s", mode, exc)

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(timeout=1.0):
                continue
            # Let a burst of commits finish before copying pages.
            if self._stop.wait(self._delay_s):
                break
            self._dirty.clear()
            self._checkpoint("PASSIVE")

    def stop(self) -> None:
        self._stop.set()
        self._dirty.set()
        self._thread.join(timeout=5)
        self._checkpoint("TRUNCATE")  # leave a small WAL behind for the next start
