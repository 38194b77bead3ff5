"""The sync's local bookkeeping tables (pull cursors, pushed batches, quarantine, media transfers).

Reads use `Library.read()`; writes happen inside `Library.transaction()` (or the transaction
`merge_remote` hands to its `in_transaction` callback), so a cursor only moves together with the
gestures it covers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, cast

from sqlalchemy import Connection, Table, delete, func, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import models as m
from core.library import Library

_CUR = cast(Table, m.SyncCursor.__table__)
_BAT = cast(Table, m.SyncBatch.__table__)
_QUA = cast(Table, m.SyncQuarantine.__table__)
_MT = cast(Table, m.MediaTransfer.__table__)


class TransferDirection(str, Enum):
    UP = "up"
    DOWN = "down"


class TransferStatus(str, Enum):
    QUEUED = "queued"
    ACTIVE = "active"
    WAITING = "waiting"  # download requested, object not on the remote yet
    FAILED = "failed"  # retried on the next cycle; `error` says why
    DONE = "done"


OPEN_STATUSES = (TransferStatus.QUEUED.value, TransferStatus.ACTIVE.value, TransferStatus.WAITING.value,
                 TransferStatus.FAILED.value)


@dataclass(frozen=True)
class Cursor:
    device_id: str
    last_batch: int
    last_key: str


@dataclass(frozen=True)
class Transfer:
    hash: str
    direction: TransferDirection
    status: TransferStatus
    state_json: str | None
    bytes_done: int
    bytes_total: int
    error: str | None


class Ledger:
    def __init__(self, library: Library) -> None:
        self.library = library

    # -- pull cursors ----------------------------------------------------------------------------
    def cursors(self) -> dict[str, Cursor]:
        with self.library.read() as conn:
            rows = conn.execute(select(_CUR.c.device_id, _CUR.c.last_batch, _CUR.c.last_key)).all()
        return {r.device_id: Cursor(r.device_id, r.last_batch, r.last_key) for r in rows}

    @staticmethod
    def set_cursor(conn: Connection, device_id: str, batch: int, key: str) -> None:
        """Advance (never rewind: two processes may pull the same library) a device's cursor."""
        stmt = sqlite_insert(_CUR).values(device_id=device_id, last_batch=batch, last_key=key,
                                          updated_at=m.utcnow())
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["device_id"],
            set_={"last_batch": stmt.excluded.last_batch, "last_key": stmt.excluded.last_key,
                  "updated_at": stmt.excluded.updated_at},
            where=_CUR.c.last_batch < stmt.excluded.last_batch))

    # -- pushed batches --------------------------------------------------------------------------
    def next_batch(self) -> int:
        with self.library.read() as conn:
            last = conn.execute(select(func.max(_BAT.c.batch))).scalar()
        return 0 if last is None else int(last) + 1

    def last_batch(self, conn: Connection) -> int | None:
        return conn.execute(select(func.max(_BAT.c.batch))).scalar()

    def has_history(self) -> bool:
        """Whether this library ever pushed or pulled (its remote identity is then fixed)."""
        with self.library.read() as conn:
            return bool(conn.execute(select(func.count()).select_from(_BAT)).scalar()
                        or conn.execute(select(func.count()).select_from(_CUR)).scalar())

    @staticmethod
    def record_batch(conn: Connection, batch: int, key: str, op_count: int) -> None:
        stmt = sqlite_insert(_BAT).values(batch=batch, key=key, op_count=op_count, created_at=m.utcnow())
        # Acking the same batch twice (a second process hit the same 412) is a no-op.
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["batch"]))

    # -- quarantine ------------------------------------------------------------------------------
    def quarantined(self) -> list[dict[str, Any]]:
        with self.library.read() as conn:
            rows = conn.execute(select(_QUA).order_by(_QUA.c.created_at, _QUA.c.key)).mappings().all()
        return [{"key": r["key"], "device_id": r["device_id"], "batch": r["batch"], "reason": r["reason"],
                 "created_at": _iso(r["created_at"])} for r in rows]

    def quarantined_keys(self) -> set[str]:
        with self.library.read() as conn:
            return set(conn.execute(select(_QUA.c.key)).scalars())

    def quarantine_count(self) -> int:
        with self.library.read() as conn:
            return int(conn.execute(select(func.count()).select_from(_QUA)).scalar() or 0)

    @staticmethod
    def add_quarantine(conn: Connection, key: str, device_id: str | None, batch: int | None, reason: str) -> bool:
        stmt = sqlite_insert(_QUA).values(key=key, device_id=device_id, batch=batch, reason=reason[:500],
                                          created_at=m.utcnow())
        return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"])).rowcount)

    @staticmethod
    def remove_quarantine(conn: Connection, key: str) -> None:
        conn.execute(delete(_QUA).where(_QUA.c.key == key))

    # -- media transfers -------------------------------------------------------------------------
    def transfer(self, media_hash: str) -> Transfer | None:
        with self.library.read() as conn:
            row = conn.execute(select(_MT).where(_MT.c.hash == media_hash)).mappings().first()
        return None if row is None else _transfer(row)

    def transfers(self, direction: TransferDirection | None = None, *, open_only: bool = True) -> list[Transfer]:
        q = select(_MT).order_by(_MT.c.updated_at, _MT.c.hash)
        if direction is not None:
            q = q.where(_MT.c.direction == direction.value)
        if open_only:
            q = q.where(_MT.c.status.in_(OPEN_STATUSES))
        with self.library.read() as conn:
            return [_transfer(r) for r in conn.execute(q).mappings()]

    def known_transfer_hashes(self) -> set[str]:
        with self.library.read() as conn:
            return set(conn.execute(select(_MT.c.hash)).scalars())

    def put_transfer(self, media_hash: str, direction: TransferDirection, status: TransferStatus, *,
                     bytes_total: int = 0, replace: bool = True) -> None:
        stmt = sqlite_insert(_MT).values(hash=media_hash, direction=direction.value, status=status.value,
                                         state_json=None, bytes_done=0, bytes_total=bytes_total, error=None,
                                         updated_at=m.utcnow())
        if replace:
            stmt = stmt.on_conflict_do_update(index_elements=["hash"], set_={
                "direction": stmt.excluded.direction, "status": stmt.excluded.status, "error": None,
                "bytes_total": stmt.excluded.bytes_total, "updated_at": stmt.excluded.updated_at})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=["hash"])
        with self.library.transaction() as conn:
            conn.execute(stmt)

    def update_transfer(self, media_hash: str, **values: Any) -> None:
        for key in ("status", "direction"):
            if isinstance(values.get(key), Enum):
                values[key] = values[key].value
        values["updated_at"] = m.utcnow()
        with self.library.transaction() as conn:
            conn.execute(update(_MT).where(_MT.c.hash == media_hash).values(**values))

    def open_upload_bytes(self) -> int:
        with self.library.read() as conn:
            value = conn.execute(select(func.sum(_MT.c.bytes_total - _MT.c.bytes_done)).where(
                _MT.c.direction == TransferDirection.UP.value, _MT.c.status.in_(OPEN_STATUSES))).scalar()
        return int(value or 0)


def _transfer(row: Any) -> Transfer:
    return Transfer(row["hash"], TransferDirection(row["direction"]), TransferStatus(row["status"]),
                    row["state_json"], int(row["bytes_done"]), int(row["bytes_total"]), row["error"])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
