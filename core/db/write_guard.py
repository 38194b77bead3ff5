"""SQLite's authorizer as the guard of the single write path.

Domain tables are written by ``Library.apply`` / ``merge_remote`` only. Bookkeeping writers (export
jobs, the sync ledger, settings) get their connection from ``Library.transaction()``, drawn from
:func:`guarded_engine`, whose connections carry :func:`refuse_domain_writes`: an INSERT, UPDATE or
DELETE of a domain table there fails as SQLite's "not authorized" before it runs. Cheap enough to
be always on (benchmarks/bench_write_guard.py).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, event

from core.db.engine import open_engine

# Every table is one or the other (tests/test_write_guard.py checks the models against both).
DOMAIN_TABLES = frozenset({
    "media", "games", "game_media", "raw_clips", "projects", "working_clips", "working_clip_versions",
    "gesture_log", "fold_state", "conflicts",
})
BOOKKEEPING_TABLES = frozenset({
    "settings", "export_jobs", "final_videos", "sync_cursors", "sync_batches", "sync_quarantine",
    "media_transfers", "alembic_version",
})
# The push records which batch carried a gesture together with the batch itself.
BOOKKEEPING_COLUMNS = frozenset({("gesture_log", "pushed_batch")})

_WRITES = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_DELETE, sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_ALTER_TABLE,
           sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER, sqlite3.SQLITE_CREATE_INDEX,
           sqlite3.SQLITE_DROP_INDEX}

# These actions name an index, trigger or database first and the table second.
_TABLE_SECOND = {sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_CREATE_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER,
                 sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_DROP_INDEX}


def refuse_domain_writes(action: int, arg1: str | None, arg2: str | None, _db: str | None,
                         _trigger: str | None) -> int:
    """``sqlite3.Connection.set_authorizer`` callback: deny writes to domain tables."""
    if action == sqlite3.SQLITE_UPDATE:
        table, column = arg1, arg2
    elif action in _WRITES:
        table = arg2 if action in _TABLE_SECOND else arg1
        column = None
    else:
        return sqlite3.SQLITE_OK
    if table in DOMAIN_TABLES and (table, column) not in BOOKKEEPING_COLUMNS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def guarded_engine(db_path: Path) -> Engine:
    """A second engine on the library file whose every connection refuses domain writes.

    The authorizer is installed once per connection (pool ``connect`` event), so statements are
    compiled under it and stay cached: the guard costs a few microseconds per statement. (Toggling
    it on a shared connection would make SQLite recompile every cached statement, twice.)
    """
    engine = open_engine(db_path, migrate=False)  # the main engine migrated the file already
    event.listen(engine, "connect", _install)
    return engine


def _install(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    dbapi_conn.set_authorizer(refuse_domain_writes)
