"""Child process for the sync kill tests: runs one sync step and reports progress on stdout, then
stalls at a chosen point so the parent can SIGKILL it exactly there.

    python -m tests.procs.sync_child push|pull|media LIBRARY_DIR STALL_AT

push:  prints "put KEY" after each batch PUT landed and stalls (before the ack) at the STALL_AT-th.
pull:  prints "merged N" after each committed batch merge and stalls after the STALL_AT-th.
media: prints "part N" when part N starts uploading and stalls on part STALL_AT (earlier parts done).

The secret comes from REELDESK_S3_SECRET (the headless path); the remote from the library settings.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from core.library import Library
from sync.remote import open_sync
from sync.store import S3_MIN_PART_SIZE

STALL_S = 120


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(mode: str, root: str, stall_at: str) -> None:
    stall = int(stall_at)
    lib = Library(Path(root))
    engine = open_sync(lib, batch_size=20, part_size=S3_MIN_PART_SIZE, max_concurrency=1, connect_timeout=2,
                       read_timeout=10, retries=1)
    assert engine is not None
    store = engine.store
    seen = {"n": 0}

    if mode == "push":
        real_put = store.put_create_only

        def put(key: str, data: bytes) -> None:
            real_put(key, data)
            if "/log/" in key:
                seen["n"] += 1
                say(f"put {key}")
                if seen["n"] == stall:
                    time.sleep(STALL_S)  # landed, not acked: the parent kills us here

        store.put_create_only = put  # type: ignore[method-assign]
        engine.push_once()
    elif mode == "pull":
        real_merge = lib.merge_remote

        def merge(gestures: Any, in_transaction: Any = None) -> Any:
            result = real_merge(gestures, in_transaction=in_transaction)
            seen["n"] += 1
            say(f"merged {seen['n']}")
            if seen["n"] == stall:
                time.sleep(STALL_S)
            return result

        lib.merge_remote = merge  # type: ignore[method-assign]
        engine.pull_once()
    elif mode == "media":
        real_part = store._mp_upload_part

        def part(key: str, upload_id: str, number: int, data: bytes) -> str:
            say(f"part {number}")
            if number >= stall:
                time.sleep(STALL_S)
            return real_part(key, upload_id, number, data)

        store._mp_upload_part = part  # type: ignore[method-assign]
        engine.media_once()
    say("done")


if __name__ == "__main__":
    main(*sys.argv[1:4])
