"""A sync process killed with SIGKILL (TerminateProcess on Windows) mid-push or mid-pull: the next
run completes, nothing is lost, nothing is duplicated."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.library import Library
from sync.credentials import ENV_SECRET, RemoteConfig, RemoteKind
from sync.remote import configure_remote
from tests.fixtures.library import seed_clip
from tests.test_sync_engine import (
    all_op_ids,
    assert_converged,
    edit,
    engine_for,
    log_objects,
)

ROOT = Path(__file__).resolve().parents[1]
Bucket = dict[str, Any]


def configure(lib: Library, bucket: Bucket) -> None:
    config = RemoteConfig(RemoteKind.S3, endpoint=bucket["endpoint_url"], bucket=bucket["bucket"],
                          key_id=bucket["key_id"])
    configure_remote(lib, config, secret=bucket["secret"])


def run_child_until(mode: str, lib: Library, bucket: Bucket, stall_at: int, expect_prefix: str) -> list[str]:
    """Start the child, read its progress lines until the stall point, SIGKILL it."""
    env = {**os.environ, ENV_SECRET: bucket["secret"]}
    proc = subprocess.Popen([sys.executable, "-m", "tests.procs.sync_child", mode, str(lib.root), str(stall_at)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if sum(1 for x in lines if x.startswith(expect_prefix)) >= stall_at:
                break
    finally:
        proc.kill()  # SIGKILL: no clean-up, no ack
        _, stderr = proc.communicate(timeout=10)  # reaps it and closes both pipes
    assert sum(1 for x in lines if x.startswith(expect_prefix)) >= stall_at, stderr
    assert "done" not in lines
    return lines


def test_kill_mid_push_then_next_run_acks_and_completes(make_library: Callable[[str], Library],
                                                        s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    configure(a, s3_bucket)
    configure(b, s3_bucket)
    _raw, project, wc = seed_clip(a)
    edit(a, project, wc, random.Random(3), 200)
    total = len(all_op_ids(a))
    lines = run_child_until("push", a, s3_bucket, stall_at=4, expect_prefix="put ")
    assert len([x for x in lines if x.startswith("put ")]) == 4
    # 3 batches were acked, the 4th landed but its ack never happened
    assert a.pending_count() == total - 3 * 20
    engine = engine_for(a, s3_bucket, batch_size=20)
    counts = engine.push_once()
    assert counts.acked == 1 and a.pending_count() == 0
    objects = log_objects(engine.store, engine.layout)
    ops = Counter(g["op_id"] for gs in objects.values() for g in gs)
    assert set(ops) == all_op_ids(a) and max(ops.values()) == 1
    assert len(objects) == -(-total // 20)
    engine_for(b, s3_bucket).sync_once()
    assert_converged(project, a, b)


def test_kill_mid_pull_then_next_run_completes(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    configure(a, s3_bucket)
    configure(b, s3_bucket)
    _raw, project, wc = seed_clip(a)
    edit(a, project, wc, random.Random(4), 150)
    engine_for(a, s3_bucket, batch_size=20).push_once()
    run_child_until("pull", b, s3_bucket, stall_at=3, expect_prefix="merged ")
    assert 0 < len(all_op_ids(b)) < len(all_op_ids(a))
    assert b.integrity_check() == "ok"
    counts = engine_for(b, s3_bucket).pull_once()
    assert counts.duplicates == 0, "the cursor moved with each merged batch: nothing is fetched twice"
    assert_converged(project, a, b)
