"""Sync cost and latency against a loopback moto S3 server (real HTTP), old and new polling side by side:

    python -m benchmarks.bench_sync_cost [--samples 3]

1. Requests per poll, counted per S3 operation on the client (botocore's before-call event) and
   priced at R2's published rates: class A (LIST, PUT, multipart) $4.50 per million, class B
   (GET, HEAD) $0.36 per million. From those: requests per hour while the window is in use and
   while idle, and the monthly polling cost of one device at 8 hours of use a day. Edits add their
   own writes; their cost per 1,000 edits is printed separately.
2. Latency from an edit on device A to its arrival on device B, both running the real background
   sync thread (`SyncThread`) as the app does, measured for each mode in the same run.

Old mode: the engine lists `devices/` and each device's log on every poll, every 30 s.
New mode: one HEAD of the library's head object per poll (a listing only when it changed), every
3.5 s in use and every 120 s idle (`sync.runtime.SyncThread`).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_sync import build, start_moto
from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import ChangeSet, Library
from sync.engine import SyncEngine
from sync.runtime import SyncThread
from sync.s3store import S3Store

log = logging.getLogger("bench")

CLASS_A = {"ListObjectsV2", "ListObjects", "PutObject", "CreateMultipartUpload", "UploadPart",
           "CompleteMultipartUpload", "CopyObject", "ListParts", "ListMultipartUploads"}
CLASS_B = {"GetObject", "HeadObject"}
PRICE_A, PRICE_B = 4.50 / 1e6, 0.36 / 1e6
HOURS_IN_USE, HOURS_IDLE, DAYS = 8, 16, 30


@dataclass(frozen=True)
class Mode:
    name: str
    poll_head: bool
    in_use_s: float  # poll interval while the window is in use
    idle_s: float


OLD = Mode("old: list every 30 s", poll_head=False, in_use_s=30.0, idle_s=30.0)
NEW = Mode("new: head object, 3.5 s in use / 120 s idle", poll_head=True, in_use_s=3.5, idle_s=120.0)


class Requests:
    """Counts a store's S3 calls by R2 price class."""

    def __init__(self, store: S3Store) -> None:
        self.ops: Counter[str] = Counter()
        store._client.meta.events.register("before-call.s3", self._count)

    def _count(self, model: Any, **_kw: Any) -> None:
        self.ops[model.name] += 1

    def take(self) -> tuple[float, float]:
        a = sum(n for op, n in self.ops.items() if op in CLASS_A)
        b = sum(n for op, n in self.ops.items() if op in CLASS_B)
        self.ops.clear()
        return a, b


def per_poll(engine: SyncEngine, counter: Requests, n: int = 10) -> tuple[float, float]:
    counter.take()
    for _ in range(n):
        engine.pull_once()
    a, b = counter.take()
    return a / n, b / n


def cost_figures(mode: Mode, a_lib: Library, b_lib: Library, wc: str, store: Any) -> list[str]:
    sa, sb = store(), store()
    ea, eb = SyncEngine(a_lib, sa, poll_head=mode.poll_head), SyncEngine(b_lib, sb, poll_head=mode.poll_head)
    ca, cb = Requests(sa), Requests(sb)
    ea.sync_once(media=False)
    eb.sync_once(media=False)
    quiet_a, quiet_b = per_poll(eb, cb)  # nothing changed since the last poll
    ca.take()
    edits = 20
    for i in range(edits):  # one edit per push: the worst case for writes
        a_lib.apply(Gesture(K.SET_ROTATION, wc, {"degrees": float(i % 10)}))
        ea.sync_once(media=False)
    push_a, push_b = (x / edits for x in ca.take())
    cb.take()
    eb.pull_once()
    changed_a, changed_b = cb.take()
    in_use_polls, idle_polls = 3600 / mode.in_use_s, 3600 / mode.idle_s
    hour_in_use = (quiet_a * in_use_polls, quiet_b * in_use_polls)
    hour_idle = (quiet_a * idle_polls, quiet_b * idle_polls)
    month = DAYS * (HOURS_IN_USE * (hour_in_use[0] * PRICE_A + hour_in_use[1] * PRICE_B)
                    + HOURS_IDLE * (hour_idle[0] * PRICE_A + hour_idle[1] * PRICE_B))
    per_1000_edits = 1000 * ((push_a + changed_a) * PRICE_A + (push_b + changed_b) * PRICE_B)
    return [
        f"[{mode.name}]",
        f"  one poll, nothing new:   {quiet_a:.1f} class A + {quiet_b:.1f} class B requests",
        f"  one poll after an edit:  {changed_a:.1f} A + {changed_b:.1f} B;  one edit pushed: {push_a:.1f} A + "
        f"{push_b:.1f} B",
        f"  requests/hour in use:    {sum(hour_in_use):,.0f} ({hour_in_use[0]:,.0f} A, {hour_in_use[1]:,.0f} B)",
        f"  requests/hour idle:      {sum(hour_idle):,.0f} ({hour_idle[0]:,.0f} A, {hour_idle[1]:,.0f} B)",
        f"  polling cost per device: ${month:.3f}/month at {HOURS_IN_USE} h use a day (goal <= $0.10)",
        f"  edits: ${per_1000_edits:.4f} per 1,000 edits (push + one pull on another device)",
    ]


def latency(mode: Mode, a_lib: Library, b_lib: Library, wc: str, store: Any, samples: int) -> list[float]:
    threads = [SyncThread(SyncEngine(lib, store(), poll_head=mode.poll_head), interval_s=mode.idle_s,
                          active_interval_s=mode.in_use_s, media=False) for lib in (a_lib, b_lib)]
    arrived = threading.Event()

    def on_change(event: ChangeSet) -> None:
        if event.remote and K.SET_ROTATION in event.kinds:
            arrived.set()

    unsubscribe = b_lib.subscribe(on_change)
    out: list[float] = []
    try:
        for t in threads:
            t.start()
            t.note_activity()  # both windows in use
        time.sleep(1.0)  # let the first cycles settle
        for i in range(samples):
            arrived.clear()
            t0 = time.monotonic()
            a_lib.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 10.0 + i}))
            if not arrived.wait(mode.in_use_s * 3 + 10):
                raise RuntimeError("edit did not arrive")
            out.append(time.monotonic() - t0)
            time.sleep(0.37 * (i + 1) % mode.in_use_s)  # spread the edits over the poll phase
    finally:
        unsubscribe()
        for t in threads:
            t.stop(5.0)
    return out


def run(samples: int) -> None:
    server, host, port = start_moto()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-cost-"))
    lines: list[str] = []
    try:
        for mode in (OLD, NEW):
            bucket = f"bench-{uuid.uuid4().hex[:12]}"

            def store(bucket: str = bucket) -> S3Store:
                return S3Store(f"http://{host}:{port}", bucket, "bench", "bench-secret-value")

            store().ensure_bucket()
            tag = "old" if mode is OLD else "new"
            a_lib, wc = build(tmp / f"a-{tag}", 200)
            b_lib = Library(tmp / f"b-{tag}")
            b_lib.set_setting("library_uid", a_lib.library_uid)
            lines += cost_figures(mode, a_lib, b_lib, wc, store)
            waits = latency(mode, a_lib, b_lib, wc, store, samples)
            lines.append(f"  edit -> other device:    mean {sum(waits) / len(waits):.1f} s, max {max(waits):.1f} s "
                         f"over {len(waits)} edits (goal <= 5 s in use)")
            a_lib.close()
            b_lib.close()
    finally:
        server.stop()
    sys.stdout.write("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=3)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    run(args.samples)


if __name__ == "__main__":
    main()
