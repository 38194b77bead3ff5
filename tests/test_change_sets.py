"""Change sets published by apply and merge_remote, and merges committed in chunks that let a
concurrent apply in between (real SQLite files, real threads; no timing assumptions)."""
from __future__ import annotations

import threading

import pytest

from core.changes import ChangeSet, EntityKind, Initiator
from core.enums import GestureKind as K
from core.fair_lock import FairRLock
from core.gestures.model import Gesture
from core.library import Library
from tests.fixtures.library import FAKE_HASH, seed_clip, two_devices

WAIT_S = 30.0  # a bound on waits for other threads, never a measurement


def kf(t: float) -> dict[str, float]:
    return {"time": t, "x": 100.0, "y": 0.0, "width": 607.5, "height": 1080.0}


def test_apply_publishes_kinds_ids_and_initiator(library: Library) -> None:
    sets: list[ChangeSet] = []
    library.subscribe(sets.append)
    raw, project, wc = seed_clip(library)
    imported, marked, created, added = sets
    assert imported.of(EntityKind.MEDIA) == {FAKE_HASH} and not imported.touches(EntityKind.PROJECT)
    assert marked.of(EntityKind.RAW_CLIP) == {raw} and marked.kinds == {K.MARK_CLIP}
    assert created.of(EntityKind.PROJECT) == {project} and not created.of(EntityKind.WORKING_CLIP)
    assert added.of(EntityKind.PROJECT) == {project} and added.of(EntityKind.WORKING_CLIP) == {wc}
    assert all(s.initiators == {Initiator.LOCAL_UI} and not s.remote for s in sets)

    sets.clear()
    library.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, kf(0.5)), initiator=Initiator.CLI)
    (edit,) = sets
    assert edit.initiators == {Initiator.CLI} and edit.kinds == {K.ADD_CROP_KEYFRAME}
    assert edit.of(EntityKind.WORKING_CLIP) == {wc} and edit.scopes == {project}
    assert not edit.touches(EntityKind.RAW_CLIP, EntityKind.MEDIA, EntityKind.GAME, EntityKind.CONFLICT)


def test_a_library_opened_for_a_script_publishes_cli_changes(tmp_path) -> None:
    lib = Library.open(tmp_path / "lib", Initiator.CLI)
    try:
        sets: list[ChangeSet] = []
        lib.subscribe(sets.append)
        seed_clip(lib)
        assert sets and all(s.initiators == {Initiator.CLI} for s in sets)
    finally:
        lib.close()


def test_a_duplicate_apply_publishes_nothing(library: Library) -> None:
    _raw, _project, wc = seed_clip(library)
    g = Gesture(K.SET_ROTATION, wc, {"degrees": 2.0}, op_id=library.apply(Gesture(K.SET_ROTATION, wc,
                                                                                  {"degrees": 2.0})).op_id)
    sets: list[ChangeSet] = []
    library.subscribe(sets.append)
    assert library.apply(g).duplicate and sets == []


def test_merge_publishes_remote_changes_of_every_scope(make_library) -> None:
    a, b = make_library("a"), make_library("b")
    raw, project, wc = seed_clip(a)
    a.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, kf(1.0)))
    sets: list[ChangeSet] = []
    b.subscribe(sets.append)
    b.merge_remote(a.gestures())
    merged = ChangeSet.union(sets)
    assert merged.initiators == {Initiator.REMOTE_MERGE} and merged.remote
    assert merged.of(EntityKind.MEDIA) == {FAKE_HASH} and merged.of(EntityKind.RAW_CLIP) == {raw}
    assert merged.of(EntityKind.PROJECT) == {project} and merged.of(EntityKind.WORKING_CLIP) == {wc}
    assert {K.IMPORT_MEDIA, K.MARK_CLIP, K.CREATE_PROJECT, K.ADD_CLIP, K.ADD_CROP_KEYFRAME} <= merged.kinds

    sets.clear()
    b.merge_remote(a.gestures())  # all known: nothing changed, nothing published
    assert sets == []


def test_a_late_gesture_refolds_and_marks_the_conflict_list_changed(make_library) -> None:
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    b.merge_remote(a.gestures())
    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 5.0}))
    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 6.0}))
    a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 7.0}))  # sorts before b's second rotation
    sets: list[ChangeSet] = []
    b.subscribe(sets.append)
    result = b.merge_remote(a.gestures())
    assert result.refolded_scopes == 1
    merged = ChangeSet.union(sets)
    assert merged.of(EntityKind.CONFLICT) == {project} and merged.of(EntityKind.WORKING_CLIP) == {wc}


def remote_edits(make_library, n: int) -> tuple[Library, Library, str, list[Gesture]]:
    """Library ``b`` knows a's clip; a then makes ``n`` edits that b has not seen."""
    a, b, _project, wc, seen = two_devices(make_library)
    for i in range(n):
        a.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, kf(0.2 + i * 0.5)))
    return a, b, wc, a.gestures(after_id=seen)


def test_merge_commits_in_chunks_and_an_apply_gets_in_between(make_library) -> None:
    a, b, wc, edits = remote_edits(make_library, 9)
    chunks: list[ChangeSet] = []
    applied: list[str] = []

    def between_chunks(changes: ChangeSet) -> None:
        # Runs on the merging thread after a chunk committed: an apply on another thread must
        # get the lock now, before the merge writes its next chunk.
        if changes.remote:
            chunks.append(changes)
            if len(chunks) == 1:
                t = threading.Thread(target=lambda: applied.append(
                    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 3.0})).op_id))
                t.start()
                t.join(WAIT_S)
                assert not t.is_alive()

    b.subscribe(between_chunks)
    result = b.merge_remote(edits, chunk_size=4)
    assert result.applied == 9 and len(chunks) == 3
    log = [g.op_id for g in b.gestures()]
    pos = log.index(applied[0])
    assert log.index(edits[3].op_id) < pos < log.index(edits[4].op_id)
    a.merge_remote(b.gestures())
    assert a.project_json(b.working_clip(wc)["project"]) == b.project_json(b.working_clip(wc)["project"])


def test_chunks_take_the_gestures_of_one_reel_after_another(make_library) -> None:
    """Edits of two reels, interleaved in time, are merged reel by reel: each chunk writes one reel
    (its state and projection once), not every reel each time (a season's merge was 7x slower)."""
    a, b = make_library("a"), make_library("b")
    raw, first, wc1 = seed_clip(a)
    second = a.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Second", "aspect": "9:16"})).entity
    wc2 = a.apply(Gesture(K.ADD_CLIP, second, {"raw_clip": raw})).created["working_clip"]
    b.merge_remote(a.gestures())
    seen = a.gesture_count()
    for i in range(4):
        for wc in (wc1, wc2):
            a.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, kf(0.2 + i * 0.5)))
    chunks: list[ChangeSet] = []
    b.subscribe(lambda changes: chunks.append(changes) if changes.remote else None)
    b.merge_remote(a.gestures(after_id=seen), chunk_size=4)
    assert [c.of(EntityKind.PROJECT) for c in chunks] == [{min(first, second)}, {max(first, second)}]
    assert a.project_json(first) == b.project_json(first) and a.project_json(second) == b.project_json(second)


def test_a_waiting_apply_goes_before_the_next_chunk(make_library) -> None:
    """Fair hand-over: the apply queued while the merge holds the lock gets it before the merge's
    next chunk, however the threads are scheduled."""
    _a, b, wc, edits = remote_edits(make_library, 6)
    applied: list[str] = []
    started = False

    def hold_and_queue(changes: ChangeSet) -> None:
        nonlocal started
        if changes.remote and not started:
            started = True
            with b._lock:  # the merge thread holds the lock again, as when starting its next chunk
                t = threading.Thread(target=lambda: applied.append(
                    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 4.0})).op_id))
                t.start()
                assert b._lock.wait_for_queued(1, WAIT_S)
            # released: the queued apply holds the next ticket, the merge's next chunk the one after

    b.subscribe(hold_and_queue)
    b.merge_remote(edits, chunk_size=3)
    log = [g.op_id for g in b.gestures()]
    assert log.index(edits[2].op_id) < log.index(applied[0]) < log.index(edits[3].op_id)


def test_a_crash_between_chunks_is_completed_by_the_next_merge(make_library, monkeypatch) -> None:
    a, b, wc, edits = remote_edits(make_library, 7)
    cursor: list[str] = []

    class Crash(Exception):
        pass

    def crash(changes: ChangeSet) -> None:  # the process dies right after the first chunk's commit
        raise Crash

    monkeypatch.setattr(b, "_notify", crash)
    with pytest.raises(Crash):
        b.merge_remote(edits, lambda conn: cursor.append("advanced"), chunk_size=3)
    monkeypatch.undo()
    assert cursor == [] and len(b.known_op_ids([g.op_id for g in edits])) == 3
    result = b.merge_remote(edits, lambda conn: cursor.append("advanced"), chunk_size=3)
    assert cursor == ["advanced"] and (result.applied, result.duplicates) == (4, 3)
    project = b.working_clip(wc)["project"]
    assert b.project_json(project) == a.project_json(project)


def test_a_bad_gesture_anywhere_rejects_the_batch_before_any_chunk(make_library) -> None:
    _a, b, _wc, edits = remote_edits(make_library, 6)
    wire = [g.to_wire() for g in edits]
    wire[-1]["lamport"] = -1
    before = b.gesture_count()
    with pytest.raises(Exception, match="lamport"):
        b.merge_remote(wire, chunk_size=2)
    assert b.gesture_count() == before


def test_fair_lock_is_reentrant_and_counts_waiters() -> None:
    lock = FairRLock()
    with lock, lock:
        assert lock.queued() == 0
        t = threading.Thread(target=lambda: lock.acquire() or lock.release())
        t.start()
        assert lock.wait_for_queued(1, WAIT_S)
    t.join(WAIT_S)
    assert not t.is_alive() and lock.queued() == 0
    with pytest.raises(RuntimeError):
        lock.release()
