"""Opening a library database: SQLite pragmas on every connection, migrations at start-up."""
from __future__ import annotations

import functools
import logging
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from core.db.checkpoint import BACKSTOP_PAGES

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 10_000


def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    # Autocommit mode in the driver: SQLAlchemy's "BEGIN IMMEDIATE" below then owns transactions.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # PRAGMA takes no bound parameters; these values are int constants of this module.
    cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    # WAL + NORMAL: a killed process never loses a committed transaction.
    cur.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints run on WalCheckpointer's thread; this only bounds the WAL if that falls behind.
    cur.execute(f"PRAGMA wal_autocheckpoint={int(BACKSTOP_PAGES)}")
    cur.close()


def _on_begin(conn: Connection) -> None:
    # Writers take the write lock up front (execution option write=True) so two writers queue
    # on busy_timeout instead of failing with SQLITE_BUSY when a read transaction upgrades.
    if conn.get_execution_options().get("write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def open_engine(db_path: Path, *, migrate: bool = True) -> Engine:
    """Engine for ``db_path``; runs pending Alembic migrations before returning."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{db_path.as_posix()}")
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    if migrate:
        upgrade(engine)
    return engine


@functools.lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration shipped with this build (parsing the scripts once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine) -> None:
    cfg = alembic_config()
    head = head_revision()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    log.info("migrating library database from %s to %s", current, head)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
