"""Bookkeeping writers (export jobs, the sync ledger, settings) run under SQLite's authorizer:
a domain table cannot be written through ``Library.transaction()``, only through ``apply``."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import DatabaseError

from core.db import models as m
from core.db.write_guard import BOOKKEEPING_TABLES, DOMAIN_TABLES
from core.enums import GestureKind, JobState
from core.export.jobs import ExportJobs
from core.gestures.model import Gesture
from core.library import Library
from sync.ledger import Ledger, TransferDirection, TransferStatus
from tests.fixtures.library import seed_clip


def test_every_table_is_domain_or_bookkeeping() -> None:
    tables = set(m.Base.metadata.tables)
    assert not DOMAIN_TABLES & BOOKKEEPING_TABLES
    assert tables <= DOMAIN_TABLES | BOOKKEEPING_TABLES, "classify the new table in core/db/write_guard.py"


def _count(library: Library, model: type[m.Base]) -> int:
    with library.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar() or 0)


@pytest.mark.parametrize("statement", [
    lambda: insert(m.Project).values(uid="00000000-0000-7000-8000-000000000001", name="sneaky", aspect="9:16"),
    lambda: update(m.Project).values(name="renamed behind apply's back"),
    lambda: update(m.WorkingClipVersion).values(edit_json="{}"),
    lambda: delete(m.GestureRow),
    lambda: update(m.GestureRow).values(kind="rename_project"),
    lambda: delete(m.Conflict),
], ids=["insert project", "update project", "update version", "delete gesture log", "update gesture kind",
        "delete conflicts"])
def test_a_bookkeeping_transaction_cannot_write_a_domain_table(library: Library, statement) -> None:
    _raw, project, _wc = seed_clip(library)
    before = (library.gesture_count(), library.show_project(project))
    with pytest.raises(DatabaseError, match="not authorized"):
        with library.transaction() as conn:
            conn.execute(statement())
    assert (library.gesture_count(), library.show_project(project)) == before
    # The same pooled connection serves apply afterwards, without the guard.
    library.apply(Gesture(GestureKind.RENAME_PROJECT, project, {"name": "After"}))
    assert library.show_project(project)["project"]["name"] == "After"


def test_a_statement_the_apply_path_ran_is_still_refused_to_bookkeeping(library: Library) -> None:
    _raw, project, _wc = seed_clip(library)
    sql = "UPDATE projects SET name = ? WHERE uid = ?"
    with library._write() as conn:  # the apply path: allowed there
        conn.exec_driver_sql(sql, ("cached", project))
    with pytest.raises(DatabaseError, match="not authorized"):
        with library.transaction() as conn:
            conn.exec_driver_sql(sql, ("sneaky", project))
    assert library.projects()[0]["name"] == "cached"


def test_bookkeeping_writers_still_write_their_own_tables(library: Library) -> None:
    _raw, project, _wc = seed_clip(library)
    jobs = ExportJobs(library)
    uid = jobs.create(project, start=False)
    jobs.cancel(uid)
    assert jobs.get(uid).state is JobState.CANCELLED
    ledger = Ledger(library)
    with library.transaction() as conn:
        Ledger.set_cursor(conn, "device-b", 3, "log/device-b/000000000003.json.gz")
        Ledger.record_batch(conn, 0, "log/a/000000000000.json.gz", 1)
        # The push marks its gestures in the same transaction: the one domain column it may set.
        Library.mark_pushed(conn, [g.op_id for g in library.gestures()], 0)
    ledger.put_transfer("a" * 64, TransferDirection.UP, TransferStatus.QUEUED, bytes_total=10)
    library.set_setting("watch_folder", "C:/footage")
    assert ledger.cursors()["device-b"].last_batch == 3
    assert library.pending_count() == 0
    assert ledger.transfer("a" * 64) is not None
    assert _count(library, m.ExportJob) == 1
