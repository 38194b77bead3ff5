"""SyncThread: wakes on commits and on a timer, backs off while offline, reports a SyncStatus,
keeps gestures flowing while media uploads, flushes on stop within a bound."""
from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

from core.clock import FakeClock
from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from sync.engine import SyncEngine
from sync.runtime import (
    SyncState,
    SyncStatus,
    SyncThread,
    backoff_delay,
    sanitize_error,
)
from sync.s3store import S3Store
from sync.store import AccessDenied
from tests.fixtures.library import seed_clip
from tests.fixtures.s3 import FlakyProxy
from tests.test_sync_engine import engine_for, join
from tests.test_sync_media import add_media
from tests.waiting import run_clock_until, wait_until, went_round

Bucket = dict[str, Any]


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    wait_until(predicate, timeout)  # fails with a message on timeout
    return True


class Recorder:
    def __init__(self) -> None:
        self.statuses: list[SyncStatus] = []
        self._lock = threading.Lock()

    def __call__(self, status: SyncStatus) -> None:
        with self._lock:
            self.statuses.append(status)

    def states(self) -> list[SyncState]:
        with self._lock:
            return [s.state for s in self.statuses]


def test_backoff_grows_exponentially_with_jitter_and_caps() -> None:
    rng = random.Random(0)
    for failures in range(1, 12):
        d = min(60.0, 0.5 * 2 ** (failures - 1))
        values = [backoff_delay(failures, base_s=0.5, cap_s=60.0, rng=rng) for _ in range(50)]
        assert all(d / 2 <= v <= d for v in values)
        assert len(set(values)) > 1  # jittered
    assert backoff_delay(10_000, base_s=1.0, cap_s=300.0, rng=rng) <= 300.0


def test_thread_pushes_on_commit_and_pulls_on_timer(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    rec = Recorder()
    # a's timer is an hour: only the commit notification can make it push
    ta = SyncThread(engine_for(a, s3_bucket), interval_s=3600, debounce_s=0.05, on_status=rec, media=False)
    tb = SyncThread(engine_for(b, s3_bucket), interval_s=0.2, debounce_s=0.05, media=False)
    ta.start()
    tb.start()
    try:
        assert wait_for(lambda: ta.cycles >= 1)
        _raw, project, wc = seed_clip(a)
        assert wait_for(lambda: a.pending_count() == 0)
        assert wait_for(lambda: any(p["uid"] == project for p in b.projects()))
        a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 7.0}))
        assert wait_for(lambda: b.project_json(project) == a.project_json(project))
        assert wait_for(lambda: ta.status.state is SyncState.SYNCED and ta.status.last_sync_at is not None)
        assert SyncState.SYNCED in rec.states()
    finally:
        assert ta.stop(5) and tb.stop(5)


def test_offline_backs_off_then_recovers(make_library: Callable[[str], Library], s3_bucket: Bucket,
                                         flaky_s3_store: S3Store, flaky_proxy: FlakyProxy) -> None:
    a = make_library("a")
    rec = Recorder()
    clock = FakeClock()  # time moves only when the test says: the back-off is checked exactly
    thread = SyncThread(SyncEngine(a, flaky_s3_store), interval_s=3600, debounce_s=0.0, backoff_base_s=0.5,
                        backoff_cap_s=1.0, on_status=rec, media=False, secrets=[s3_bucket["secret"]],
                        clock=clock)
    flaky_proxy.set_down("refuse")
    thread.start()
    try:
        seed_clip(a)
        # the last gesture may commit after the first failed attempt: wait for both
        assert wait_for(lambda: thread.status.state is SyncState.OFFLINE and thread.status.pending == 4)
        status = thread.status
        assert status.retry_in_s is not None and 0.25 <= status.retry_in_s <= 1.0
        assert status.last_error and s3_bucket["secret"] not in status.last_error
        cycles = thread.cycles
        for i in range(20):  # edits while offline do not make it hammer the endpoint
            a.apply(Gesture(K.CREATE_PROJECT, None, {"name": f"offline {i}"}))
        assert wait_for(lambda: thread.status.pending == 24)  # the count moves while offline
        went_round(clock)  # every edit's wake-up handled: none of them retried before the back-off ran out
        assert thread.cycles == cycles
        clock.advance(status.retry_in_s * 0.9)
        went_round(clock)
        assert thread.cycles == cycles and thread.status.state is SyncState.OFFLINE
        clock.advance(status.retry_in_s * 0.2)  # the back-off has run out: one more attempt, still offline
        wait_until(lambda: thread.cycles == cycles + 1, what="the retry")
        went_round(clock)
        assert thread.status.state is SyncState.OFFLINE
        flaky_proxy.set_up()
        run_clock_until(clock, lambda: thread.status.state is SyncState.SYNCED, 1.0, what="the recovery")
        assert a.pending_count() == 0 and thread.status.last_error is None
        states = rec.states()
        assert states.index(SyncState.OFFLINE) < len(states) - 1 - states[::-1].index(SyncState.SYNCED)
    finally:
        thread.stop(5)


def test_error_state_is_reported_with_a_sanitised_message(library: Library, s3_bucket: Bucket) -> None:
    engine = engine_for(library, s3_bucket)
    secret = s3_bucket["secret"]

    def denied(prefix: str, start_after: str | None = None) -> Any:
        raise AccessDenied(f"list_objects_v2 {prefix!r}: AccessDenied (HTTP 403) {secret}")

    engine.store.list_keys = denied  # type: ignore[method-assign]
    thread = SyncThread(engine, interval_s=3600, backoff_base_s=30, media=False, secrets=[secret])
    thread.start()
    try:
        assert wait_for(lambda: thread.status.state is SyncState.ERROR)
        assert "AccessDenied" in (thread.status.last_error or "")
        assert secret not in (thread.status.last_error or "")
    finally:
        thread.stop(2)


def test_gestures_do_not_wait_for_a_media_upload(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a = make_library("a")
    engine = engine_for(a, s3_bucket)
    release, started = threading.Event(), threading.Event()
    real_put = engine.store.put

    def slow_media_put(key: str, data: bytes) -> str:
        if "/media/" in key:
            started.set()
            release.wait(20)  # a 2 GB upload on a slow line
        return real_put(key, data)

    engine.store.put = slow_media_put  # type: ignore[method-assign]
    thread = SyncThread(engine, interval_s=3600, debounce_s=0.0, media_interval_s=3600)
    thread.start()
    try:
        h = add_media(a, b"footage" * 1000)
        assert started.wait(10)
        _raw, _project, wc = seed_clip(a, media_hash=h)
        a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 3.0}))
        assert wait_for(lambda: a.pending_count() == 0), "gestures went up while the media upload was running"
        assert engine.media_status(h).value == "uploading"
        # the status the UI sees says so too (published when that cycle ends)
        assert wait_for(lambda: thread.status.pending == 0 and thread.status.media_bytes_pending > 0)
        release.set()
        assert wait_for(lambda: engine.media_status(h).value == "local")
    finally:
        release.set()
        thread.stop(5)


def test_stop_flushes_pending_gestures(library: Library, s3_bucket: Bucket) -> None:
    engine = engine_for(library, s3_bucket)
    # a long debounce: the edits below are still waiting for their cycle when we quit
    thread = SyncThread(engine, interval_s=3600, debounce_s=30, media=False)
    thread.start()
    assert wait_for(lambda: thread.cycles >= 1)
    seed_clip(library)
    assert library.pending_count() == 4
    t0 = time.monotonic()
    assert thread.stop(flush_timeout_s=10) is True
    assert time.monotonic() - t0 < 10
    assert library.pending_count() == 0 and not thread.is_alive()


def test_stop_is_bounded_when_the_endpoint_hangs(library: Library, flaky_s3_store: S3Store,
                                                 flaky_proxy: FlakyProxy) -> None:
    thread = SyncThread(SyncEngine(library, flaky_s3_store), interval_s=3600, debounce_s=30, media=False)
    thread.start()
    assert wait_for(lambda: thread.cycles >= 1)
    flaky_proxy.set_down("hang")
    seed_clip(library)
    t0 = time.monotonic()
    assert thread.stop(flush_timeout_s=0.5) is False
    assert time.monotonic() - t0 < 1.5
    assert library.pending_count() == 4  # kept for the next start
    flaky_proxy.set_up()


def test_status_texts() -> None:
    assert SyncStatus.disabled().summary() == "sync off"
    s = SyncStatus(SyncState.PENDING, pending=3, conflicts=2, quarantined=1, media_bytes_pending=5_000_000)
    assert s.summary() == "3 pending, 2 conflicts, 1 quarantined, 5.0 MB media to upload"
    assert SyncStatus(SyncState.OFFLINE, pending=1).summary() == "offline, 1 pending"
    assert s.to_json()["state"] == "pending"
    long = RuntimeError("x" * 1000 + " secret-value-123")
    text = sanitize_error(long, ["secret-value-123"])
    assert len(text) <= 300
    assert sanitize_error(RuntimeError("boom secret-value-123\nline"), ["secret-value-123"]) == "boom *** line"
    assert SyncState("synced") is SyncState.SYNCED and SyncState.SYNCED == "synced"
