"""A remote merge's chunks end when their time budget is spent, not after a number of gestures.

The merge reads time from a fake clock, and its work is slow by construction: each gesture folded
advances that clock 1 ms and each piece (a run of one reel's gestures: its state and projection
written) 5 ms more. Nothing here depends on how fast the machine is.
"""
from __future__ import annotations

import threading
from typing import Any

import pytest

from core.changes import ChangeSet, EntityKind
from core.clock import FakeClock
from core.fair_lock import FairRLock
from core.enums import GestureKind as K
from core.gestures.fold import step as real_step
from core.gestures.model import Gesture
from core.library import Library
from core.merge_chunks import CHUNK_BUDGET_S, PieceCost
from tests.fixtures.library import seed_clip, two_devices

WAIT_S = 30.0  # a bound on waits for other threads, never a measurement
PER_GESTURE_S, PER_PIECE_S = 0.001, 0.005
EPS = 1e-9  # float sums of fake milliseconds


def two_reels(make_library, per_reel: int) -> tuple[Library, Library, tuple[str, str], list[Gesture]]:
    """b knows a's two reels; a then rotates a clip of each, interleaved, ``per_reel`` times."""
    a, b = make_library("a"), make_library("b")
    raw, first, wc1 = seed_clip(a)
    second = a.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Second", "aspect": "9:16"})).entity
    wc2 = a.apply(Gesture(K.ADD_CLIP, second, {"raw_clip": raw})).created["working_clip"]
    b.merge_remote(a.gestures())
    seen = a.gesture_count()
    for i in range(per_reel):
        for wc in (wc1, wc2):
            a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": float(i % 7) - 3.0}))
    return a, b, (first, second), a.gestures(after_id=seen)


class TimedLock(FairRLock):
    """A write lock that records how long (on ``clock``) each outermost hold lasted."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.holds: list[float] = []
        self._mine = threading.local()

    def acquire(self) -> None:
        super().acquire()
        self._mine.depth = getattr(self._mine, "depth", 0) + 1
        if self._mine.depth == 1:
            self._mine.since = self.clock.monotonic()

    def release(self) -> None:
        self._mine.depth -= 1
        if self._mine.depth == 0:
            self.holds.append(self.clock.monotonic() - self._mine.since)
        super().release()


class SlowMerge:
    """Makes ``lib``'s merge slow on a fake clock and records its pieces, chunks and lock holds."""

    def __init__(self, lib: Library, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = FakeClock()
        self.start = self.clock.monotonic()
        self.lock = lib._lock = TimedLock(self.clock)
        self.events: list[tuple[str, Any]] = []  # ("piece", op_ids) and ("chunk", fake time at commit)
        lib.merge_timer = self.clock.monotonic  # type: ignore[method-assign]  # the test's clock
        real_merge = lib._merge

        def step(state: Any, g: Gesture) -> Any:
            self.clock.advance(PER_GESTURE_S)
            return real_step(state, g)

        def merge(conn: Any, gestures: list[Gesture], changes: Any, folded: Any = None) -> Any:
            self.events.append(("piece", [g.op_id for g in gestures]))
            self.clock.advance(PER_PIECE_S)
            return real_merge(conn, gestures, changes, folded)

        monkeypatch.setattr("core.library_merge.step", step)  # the merge's folds only: apply has its own
        monkeypatch.setattr(lib, "_merge", merge)
        lib.subscribe(lambda changes: self.events.append(("chunk", (self.clock.monotonic(), changes)))
                      if changes.remote else None)

    def chunks(self) -> list[tuple[float, ChangeSet, list[str]]]:
        """Each chunk: its time holding the lock (the fake clock only moves inside chunks), its
        ChangeSet and the op_ids it merged."""
        out: list[tuple[float, ChangeSet, list[str]]] = []
        ops: list[str] = []
        since = self.start
        for kind, value in self.events:
            if kind == "piece":
                ops += value
            else:
                at, changes = value
                out.append((at - since, changes, ops))
                ops, since = [], at
        return out


def same_as_one_batch(make_library, lib: Library, *projects: str) -> None:
    one = make_library("one-batch")
    one.merge_remote(lib.gestures(), chunk_size=100_000)
    for project in projects:
        assert one.project_json(project) == lib.project_json(project)
    assert one.conflicts(include_resolved=True) == lib.conflicts(include_resolved=True)


def test_chunks_end_before_the_budget_is_spent_and_a_waiting_apply_goes_between(make_library, monkeypatch) -> None:
    _a, b, reels, edits = two_reels(make_library, 30)
    slow = SlowMerge(b, monkeypatch)
    applier: list[threading.Thread] = []
    applied: list[str] = []
    real_merge = b._merge

    def queue_an_apply_in_the_first_chunk(conn: Any, gestures: list[Gesture], changes: Any, folded: Any = None) -> Any:
        if not applier and not any(kind == "chunk" for kind, _ in slow.events):
            applier.append(threading.Thread(target=lambda: applied.append(b.apply(Gesture(
                K.SET_ROTATION, edits[0].entity_uid, {"degrees": 1.5})).op_id)))
            applier[0].start()
            assert b._lock.wait_for_queued(1, WAIT_S)  # the apply waits for this chunk's lock
        return real_merge(conn, gestures, changes, folded)

    monkeypatch.setattr(b, "_merge", queue_an_apply_in_the_first_chunk)
    result = b.merge_remote(edits)
    applier[0].join(WAIT_S)
    assert not applier[0].is_alive()

    chunks = slow.chunks()
    # 60 gestures at 1 ms plus 5 ms a piece: far more than one budget, so several chunks, each
    # ended before its budget was spent.
    assert result.applied == 60 and len(chunks) >= 4
    assert all(held <= CHUNK_BUDGET_S + EPS for held, _changes, _ops in chunks), [h for h, _c, _o in chunks]
    assert max(slow.lock.holds) <= CHUNK_BUDGET_S + EPS
    assert sum(len(ops) for _h, _c, ops in chunks) == 60
    # The apply queued during the first chunk went before the second chunk.
    log = [g.op_id for g in b.gestures()]
    first_ops, second_ops = chunks[0][2], chunks[1][2]
    assert max(log.index(op) for op in first_ops) < log.index(applied[0]) < min(log.index(op) for op in second_ops)
    same_as_one_batch(make_library, b, *reels)


def test_a_reel_that_fits_a_fresh_chunk_is_not_split_over_two(make_library, monkeypatch) -> None:
    """Each reel's 6 gestures (11 fake ms) fit one budget but not two in a row: each chunk writes
    one whole reel, its state and projection once."""
    a, b, reels, edits = two_reels(make_library, 6)
    slow = SlowMerge(b, monkeypatch)
    b.merge_remote(edits)
    chunks = slow.chunks()
    assert [changes.of(EntityKind.PROJECT) for _h, changes, _o in chunks] == [{min(reels)}, {max(reels)}]
    assert [len(ops) for _h, _c, ops in chunks] == [6, 6]
    for project in reels:
        assert a.project_json(project) == b.project_json(project)


def late_edits(make_library, local: int) -> tuple[Library, Library, str, list[Gesture]]:
    """b made ``local`` edits of a reel; a made 3 meanwhile, which sort before most of b's."""
    a, b, project, wc, seen = two_devices(make_library)
    for i in range(local):
        b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": float(i % 5)}))
    for i in range(3):
        a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 10.0 + i}))
    return a, b, project, a.gestures(after_id=seen)


def test_a_late_gesture_refolds_its_reel_before_the_merge_takes_the_lock(make_library, monkeypatch) -> None:
    """Folding a reel again from its 40 logged gestures takes 40 fake ms: done before the lock, the
    chunk that holds it only writes the result."""
    a, b, project, late = late_edits(make_library, 40)
    slow = SlowMerge(b, monkeypatch)
    result = b.merge_remote(late)
    assert result.applied == 3 and result.refolded_scopes == 1
    assert slow.clock.monotonic() - slow.start >= 0.04  # the fold happened...
    assert max(slow.lock.holds) <= CHUNK_BUDGET_S + EPS  # ...outside the lock
    assert b.conflicts()  # concurrent rotations of one clip: the refold's conflicts were written
    same_as_one_batch(make_library, b, project)
    a.merge_remote(b.gestures())
    assert a.project_json(project) == b.project_json(project)


def test_a_reel_changed_after_its_fold_is_folded_again_under_the_lock(make_library, monkeypatch) -> None:
    """A local edit lands between the fold made before the lock and the chunk: the fold is stale
    (the edit is not in it), so the chunk folds the reel again from its log."""
    a, b, project, late = late_edits(make_library, 10)
    wc = late[0].entity_uid
    real_fold = b._fold_log
    folds: list[bool] = []
    edits: list[str] = []

    def fold_then_edit(conn: Any, scope: str, kind: Any, new: Any = (), **kw: Any) -> Any:
        folded = real_fold(conn, scope, kind, new, **kw)
        folds.append(bool(new))
        if new:  # before the lock (this thread does not hold it): the user edits the same reel now
            edits.append(b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 17.0})).op_id)
        return folded

    monkeypatch.setattr(b, "_fold_log", fold_then_edit)
    result = b.merge_remote(late)
    assert result.applied == 3 and folds == [True, False]  # folded before the lock, then again under it
    assert b.known_op_ids(edits) == set(edits)
    # Had the stale fold been written, the reel would lack the local edit that one batch has.
    same_as_one_batch(make_library, b, project)


def test_piece_cost_learns_fixed_and_per_gesture_parts() -> None:
    cost = PieceCost()
    cost.learn(8, 0.005 + 8 * 0.001)
    cost.learn(20, 0.005 + 20 * 0.001)
    assert cost.predict(10) == pytest.approx(0.015)
    assert cost.fits(0.02) in (14, 15)  # (20 - 5) ms at 1 ms a gesture, give or take float rounding
    assert cost.fits(0.004) == 0  # not even the fixed part fits
