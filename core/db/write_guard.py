"""SQLite's authorizer as the guard of the single write path.

Domain tables are written by ``Library.apply`` / ``merge_remote`` only. Bookkeeping writers (export
jobs, the sync ledger, settings) get their connection from ``Library.transaction()``, which installs
:func:`refuse_domain_writes` for as long as the transaction lasts: an INSERT, UPDATE or DELETE of a
domain table there fails as SQLite's "not authorized" before it runs. The check costs one Python
call per statement compiled, so it is always on.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

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


@contextmanager
def bookkeeping_only(conn: Connection) -> Iterator[Connection]:
    """Refuse domain writes on ``conn`` until the block ends (the pooled connection is then
    handed back without the authorizer, so ``apply`` can reuse it)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection), "the library runs on sqlite3"
    # Installing (and removing) an authorizer expires the connection's prepared statements, so
    # cached statements are compiled again under it.
    raw.set_authorizer(refuse_domain_writes)
    try:
        yield conn
    finally:
        raw.set_authorizer(None)
