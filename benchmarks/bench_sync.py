"""Sync speed and bytes, against a loopback moto S3 server (real HTTP), one run:

    python -m benchmarks.bench_sync [--gestures 10000]

1. push of N pending gestures (goal <= 5 s), then pull of the same N into a fresh library
   (goal <= 5 s), then a fresh library bootstrapping from a snapshot of them;
2. bytes sent for one edit (a one-gesture batch) vs uploading the whole SQLite file after that
   edit (goal >= 1000x fewer). Both are measured as the request bytes that cross a TCP proxy in
   front of moto (HTTP headers, SigV4 signature, body), so the comparison is like for like.
"""
from __future__ import annotations

import argparse
import logging
import os
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.bench_gestures import HASH, INFO, edit_gesture
from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import DB_NAME, Library
from sync.engine import SyncEngine
from sync.s3store import S3Store
from tests.fixtures.s3 import FlakyProxy

log = logging.getLogger("bench")


class CountingProxy(FlakyProxy):
    """The test suite's TCP forwarder, counting the bytes clients send upstream (requests)."""

    def __init__(self, host: str, port: int) -> None:
        self.sent = 0
        self._count_lock = threading.Lock()
        super().__init__(host, port)

    def reset(self) -> int:
        with self._count_lock:
            value, self.sent = self.sent, 0
        return value

    def _forwarded(self, to_target: bool, n: int) -> None:
        if to_target:
            with self._count_lock:
                self.sent += n


def build(root: Path, total: int) -> tuple[Library, str]:
    lib = Library(root)
    lib.apply(Gesture(K.IMPORT_MEDIA, HASH, {"info": INFO}))
    raw = lib.apply(Gesture(K.MARK_CLIP, None, {"media": HASH, "start": 0.0, "end": 60.0})).entity
    clips = []
    for p in range(20):
        project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": f"P{p}"})).entity
        clips.append(lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"])
    i = 0
    while lib.gesture_count() < total:
        i += 1
        lib.apply(edit_gesture(clips[i % len(clips)], i))
    return lib, clips[0]


def sqlite_bytes(lib: Library) -> bytes:
    """The library file as a whole-file backup would upload it (WAL folded in first)."""
    with sqlite3.connect(lib.root / DB_NAME) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return (lib.root / DB_NAME).read_bytes()


def start_moto() -> tuple[Any, str, int]:
    """moto's S3 server on 127.0.0.1 (any free port) with dummy credentials: (server, host, port)."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, host, port


def run(total: int) -> None:
    server, host, port = start_moto()
    proxy = CountingProxy(host, port)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    bucket = f"bench-{uuid.uuid4().hex[:12]}"

    def store() -> S3Store:
        return S3Store(proxy.endpoint_url, bucket, "bench", "bench-secret-value")

    try:
        store().ensure_bucket()
        t0 = time.perf_counter()
        a, wc = build(tmp / "a", total)
        log.info("built %d gestures in %.1f s", a.gesture_count(), time.perf_counter() - t0)
        b, c = Library(tmp / "b"), Library(tmp / "c")
        for other in (b, c):
            other.set_setting("library_uid", a.library_uid)
        ea, eb = SyncEngine(a, store()), SyncEngine(b, store(), snapshot_every=10**9)

        proxy.reset()
        t0 = time.perf_counter()
        pushed = ea.push_once()
        push_s = time.perf_counter() - t0
        push_bytes = proxy.reset()

        t0 = time.perf_counter()
        pulled = eb.pull_once()
        pull_s = time.perf_counter() - t0
        assert pulled.pulled == pushed.pushed, (pulled, pushed)

        ea.snapshot_once(force=True)
        t0 = time.perf_counter()
        boot = SyncEngine(c, store()).pull_once()
        boot_s = time.perf_counter() - t0
        assert boot.bootstrapped == pushed.pushed

        same = all(a.project_json(p["uid"]) == b.project_json(p["uid"]) == c.project_json(p["uid"])
                   for p in a.projects())

        # one more edit: what goes over the wire for it, vs the whole database file
        a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 3.5}))
        proxy.reset()
        one = ea.push_once()
        edit_wire = proxy.reset()
        assert one.pushed == 1
        edit_body = store().head(ea.layout.batch_key(a.device_id, ea.ledger.next_batch() - 1)).size  # type: ignore[union-attr]
        db = sqlite_bytes(a)
        proxy.reset()
        store().put("bench/library.sqlite", db)
        db_wire = proxy.reset()

        lines = [
            f"gestures: {pushed.pushed} in {pushed.batches_pushed} batch objects ({push_bytes / 1e6:.2f} MB sent)",
            f"push:      {push_s:6.2f} s  ({pushed.pushed / push_s:,.0f} gestures/s; goal <= 5 s)",
            f"pull:      {pull_s:6.2f} s  ({pulled.pulled / pull_s:,.0f} gestures/s; goal <= 5 s)",
            f"bootstrap: {boot_s:6.2f} s  from one snapshot (new device)",
            f"libraries identical after pull/bootstrap: {same}",
            f"one edit:  {edit_wire:,} bytes on the wire ({edit_body:,} bytes gzip batch body)",
            f"whole SQLite file after that edit: {db_wire:,} bytes on the wire ({len(db):,} bytes file)",
            (f"ratio: {db_wire / edit_wire:,.0f}x fewer bytes per edit (goal >= 1000x); "
             f"body only {len(db) / edit_body:,.0f}x"),
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        for lib in (a, b, c):
            lib.close()
    finally:
        proxy.close()
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gestures", type=int, default=10_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    run(args.gestures)


if __name__ == "__main__":
    main()
