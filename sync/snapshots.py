"""Snapshots, as part of `sync.engine.SyncEngine` (see its docstring): writing one when enough
gestures accumulated, advancing the pointer by compare-and-swap, and bootstrapping a library that
has never pulled from the latest one (reporting, and falling back to the full logs, when it cannot)."""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import OperationalError

from core import identity
from core.db import models as m
from core.ids import new_uid
from core.library import Library
from sync.codec import (
    MAX_SMALL_JSON,
    MAX_SNAPSHOT_COMPRESSED,
    FormatError,
    Pointer,
    SnapshotReader,
    decode_pointer,
    encode_pointer,
    encode_snapshot,
    utc_iso,
)
from sync.layout import Layout
from sync.ledger import Ledger
from sync.store import NotFound, PreconditionFailed, RemoteStore, StoreError

if TYPE_CHECKING:
    from sync.engine import SyncCounts

log = logging.getLogger("sync.engine")


class SnapshotsMixin:
    library: Library
    store: RemoteStore
    layout: Layout
    ledger: Ledger
    library_uid: str
    device_id: str
    snapshot_every: int
    holds: dict[str, str]
    _lock: threading.RLock
    _bootstrap_checked: bool
    _snapshot_base: int | None

    def _quarantine(self, key: str, device: str | None, batch: int | None, reason: str,
                    counts: SyncCounts) -> None:
        raise NotImplementedError

    def _read_pointer(self) -> tuple[Pointer | None, str | None]:
        """The latest-snapshot pointer and its etag ((None, None) when absent; (None, etag) when corrupt)."""
        try:
            data, etag = self.store.get_with_etag(self.layout.pointer_key, MAX_SMALL_JSON)
        except NotFound:
            return None, None
        try:
            return decode_pointer(data, library_uid=self.library_uid,
                                  snapshots_prefix=self.layout.snapshots_prefix), etag
        except FormatError as exc:
            log.warning("snapshot pointer is unreadable (%s); it will be replaced", exc)
            return None, etag

    def _maybe_bootstrap(self, counts: SyncCounts) -> None:
        """A library that has never pulled starts from the latest snapshot, if there is one."""
        if self._bootstrap_checked:
            return
        self._bootstrap_checked = True
        if self.ledger.cursors():
            return
        for _attempt in range(3):
            pointer, _etag = self._read_pointer()
            if pointer is None:
                return
            info = self.store.head(pointer.key)
            if info is not None:
                break  # else superseded and deleted between reading the pointer and the snapshot
        else:
            return
        if pointer.key in self.ledger.quarantined_keys():
            return  # refused before: remembered, not fetched again
        if info.size > MAX_SNAPSHOT_COMPRESSED:
            self._refuse_snapshot(pointer.key, f"object too large ({info.size} bytes)", counts)
            return
        # Streamed to a file and read a chunk at a time: no snapshot, however crafted, fills memory.
        folder = self.library.cache_dir / "sync"
        for left in folder.glob("snapshot-*.json.gz"):  # left by a bootstrap that was killed
            try:
                left.unlink()
            except OSError:
                log.debug("could not remove %s", left)
        path = folder / f"snapshot-{new_uid()}.json.gz"
        try:
            self.store.download_file(pointer.key, path)
            self._bootstrap_from(pointer.key, path, counts)
        except NotFound:
            pass  # superseded meanwhile: the logs are read from their start instead
        finally:
            path.unlink(missing_ok=True)

    def _bootstrap_from(self, key: str, path: Path, counts: SyncCounts) -> None:
        applied = total = 0
        try:
            with SnapshotReader(path, library_uid=self.library_uid) as snap:
                # Our own id in a snapshot means a clone of this library wrote it: never pull ourselves.
                cursors = {d: b for d, b in snap.cursors.items() if d != self.device_id}
                for chunk in snap.chunks():
                    total += len(chunk)
                    applied += self.library.merge_remote([g for g in chunk if g["device_id"] != self.device_id]).applied
        except OperationalError:
            raise
        except Exception as exc:  # a FormatError, or anything a remote gesture makes the merge raise
            # What merged before the bad part stays (merging is idempotent by op_id); no cursor moved.
            counts.bootstrapped += applied
            self._refuse_snapshot(key, f"{type(exc).__name__}: {exc}"[:300], counts)
            return
        with self.library.transaction() as conn:
            for device, batch in cursors.items():
                Ledger.set_cursor(conn, device, batch, self.layout.batch_key(device, batch))
        counts.bootstrapped += applied
        self._snapshot_base = total
        log.info("started from snapshot %s: %d gesture(s), %d device cursor(s)", key, applied, len(cursors))

    def _refuse_snapshot(self, key: str, reason: str, counts: SyncCounts) -> None:
        """No cursor moves: every device's log is then pulled from its first batch instead."""
        self._quarantine(key, None, None, reason, counts)
        self.holds["snapshot"] = (f"could not start from snapshot {key} ({reason[:200]}); "
                                  "reading every device's full log instead")

    def snapshot_once(self, *, force: bool = False) -> str | None:
        """Write a snapshot when `snapshot_every` gestures accumulated since the latest one."""
        with self._lock:
            total = self.library.gesture_count()
            if self._snapshot_base is None:
                pointer, _etag = self._read_pointer()
                self._snapshot_base = pointer.gesture_count if pointer is not None else 0
            if not force and total - self._snapshot_base < self.snapshot_every:
                return None
            cursors, gestures = self._covered_state()
            if not gestures:
                return None
            pointer, etag = self._read_pointer()
            if pointer is not None and pointer.gesture_count >= len(gestures) and not force:
                self._snapshot_base = pointer.gesture_count
                return None
            key = self.layout.snapshot_key(new_uid())
            self.store.put_create_only(key, encode_snapshot(self.library_uid, self.device_id, cursors, gestures))
            new_pointer = Pointer(key, len(gestures), cursors, self.device_id, utc_iso())
            try:
                self.store.put_if_match(self.layout.pointer_key, encode_pointer(self.library_uid, new_pointer), etag)
            except PreconditionFailed:
                log.info("another device advanced the snapshot pointer first; discarding %s", key)
                self._delete_quietly(key)
                self._snapshot_base = None
                return None
            if pointer is not None and pointer.key != key:
                self._delete_quietly(pointer.key)  # a bootstrap reading it re-reads the pointer
            self._snapshot_base = len(gestures)
            log.info("wrote snapshot %s (%d gestures)", key, len(gestures))
            return key

    def _covered_state(self) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Cursors and every gesture they cover, read in one transaction.

        That is every gesture this library holds except its own unpushed ones: a pulled batch is
        applied with its cursor update, and a quarantined one blocks its cursor, so nothing here lies
        beyond a cursor. Gestures relayed by a re-minted copy carry their author's id, which may
        have no cursor; more than the cursors name is harmless (merging is idempotent by op_id)."""
        G = m.GestureRow
        with self.library.read() as conn:
            cursors = {r.device_id: r.last_batch for r in conn.execute(select(m.SyncCursor.device_id,
                                                                              m.SyncCursor.last_batch))}
            cursors.pop(self.device_id, None)
            own = self.ledger.last_batch(conn)
            # func.coalesce: NOT over a NULL comparison would drop every pulled gesture.
            unpushed = or_(and_(G.device_id == self.device_id, G.pushed_batch.is_(None)),
                           func.coalesce(G.pushed_batch, 0) == identity.RELAY)
            rows = conn.execute(select(G.op_id, G.device_id, G.lamport, G.kind, G.entity_uid, G.payload,
                                       G.base_version, G.undoes).where(~unpushed)
                                .order_by(G.lamport, G.device_id, G.op_id)).all()
        if own is not None:
            cursors[self.device_id] = own
        gestures = [{"op_id": r.op_id, "device_id": r.device_id, "lamport": r.lamport, "kind": r.kind,
                     "entity": r.entity_uid, "payload": json.loads(r.payload), "base_version": r.base_version,
                     "undoes": r.undoes}
                    for r in rows]
        return cursors, gestures

    def _delete_quietly(self, key: str) -> None:
        try:
            self.store.delete(key)
        except StoreError as exc:
            log.info("could not delete %s: %s", key, exc)

