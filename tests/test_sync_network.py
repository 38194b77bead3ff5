"""Bounded waits and resumable uploads against moto over HTTP, and listings that converge in order."""
from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from sync.engine import SyncEngine
from sync.s3store import S3Store
from sync.store import Cancelled, MultipartState, StoreUnavailable
from tests import test_sync_engine as se
from tests.fixtures.library import seed_clip
from tests.fixtures.s3 import FlakyProxy, endpoint_down

Bucket = dict[str, Any]
MiB = 1024 * 1024


def _default_store(bucket: Bucket, endpoint: str) -> S3Store:
    return S3Store(endpoint, bucket["bucket"], bucket["key_id"], bucket["secret"])


def test_a_blackhole_endpoint_is_reported_offline_within_15_s_by_construction(
        library: Library, s3_bucket: Bucket, flaky_proxy: FlakyProxy) -> None:
    store = _default_store(s3_bucket, flaky_proxy.endpoint_url)
    assert store.worst_wait_s <= 15  # every attempt of one request, each at its connect + read limit
    seed_clip(library)
    engine = SyncEngine(library, store)
    with endpoint_down(flaky_proxy, "hang"), pytest.raises(StoreUnavailable):
        engine.sync_once()  # the first request that times out ends the cycle: offline, not a hang
    assert library.pending_count() == 4


def test_an_interrupted_upload_keeps_every_finished_part(s3_bucket: Bucket, tmp_path: Path) -> None:
    store = _default_store(s3_bucket, s3_bucket["endpoint_url"])
    assert store.part_size * store.max_concurrency <= 16 * MiB  # at most this much is ever sent twice
    path = tmp_path / "game.mp4"
    path.write_bytes(random.Random(1).randbytes(4 * store.part_size + 100))
    states: list[MultipartState] = []
    with pytest.raises(Cancelled):
        store.upload_file("media/" + "ab" * 32, path, state=None, on_state=states.append,
                          cancelled=lambda: bool(states and states[-1].parts))
    kept = states[-1]
    assert kept.parts and len(kept.parts) < kept.part_count
    missing = sorted(set(range(1, kept.part_count + 1)) - {p.number for p in kept.parts})
    sent: list[int] = []
    real = store._mp_upload_part

    def part(key: str, upload_id: str, number: int, data: bytes) -> str:
        sent.append(number)
        return real(key, upload_id, number, data)

    store._mp_upload_part = part  # type: ignore[method-assign]
    store.upload_file("media/" + "ab" * 32, path, state=kept, on_state=states.append)
    assert sorted(sent) == missing


def test_listings_are_in_the_same_order_on_every_device(make_library: Callable[[str], Library],
                                                        s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, wc = seed_clip(a)
    ea, eb = se.engine_for(a, s3_bucket), se.engine_for(b, s3_bucket)
    se.rounds(ea, eb)
    a.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Made on A"}))
    b.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Made on B"}))
    for lib, deg in ((a, 1.0), (b, 2.0), (a, 3.0), (b, 4.0)):  # concurrent edits of one field: conflicts
        lib.apply(Gesture(K.SET_ROTATION, wc, {"degrees": deg}))
        lib.apply(Gesture(K.RENAME_PROJECT, project, {"name": f"R{deg}"}))
    se.rounds(eb, ea)
    assert len(a.conflicts()) >= 2
    assert a.conflicts() == b.conflicts()
    assert a.projects() == b.projects()
    assert [m["hash"] for m in a.media_list()] == [m["hash"] for m in b.media_list()]


def test_two_pushes_in_one_clock_second_both_reach_the_other_device(
        make_library: Callable[[str], Library], s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    # The head object is what a poll reads: its etag must change with every push, even when the
    # clock shows the same second twice (a frozen clock makes that certain).
    from sync import engine as engine_module

    monkeypatch.setattr(engine_module, "utc_iso", lambda: "2026-11-29T18:00:00Z")
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, _wc = seed_clip(a)
    ea, eb = se.engine_for(a, s3_bucket), se.engine_for(b, s3_bucket)
    se.rounds(ea, eb)
    a.apply(Gesture(K.RENAME_PROJECT, project, {"name": "First"}))
    ea.sync_once()
    eb.sync_once()
    assert b.show_project(project)["project"]["name"] == "First"
    a.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Second"}))
    ea.sync_once()
    eb.sync_once()
    assert b.show_project(project)["project"]["name"] == "Second"
