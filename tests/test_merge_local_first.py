"""A local apply goes before a remote merge's work: while an apply is pending, the merging thread
waits at its next pause (between chunks, and every few gestures while it parses and plans) instead of
competing with the apply for the interpreter. Pending applies are held by construction (a listener
that blocks on an Event); nothing here depends on the machine's speed."""
from __future__ import annotations

import threading

from core.changes import ChangeSet, Initiator
from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from tests.test_merge_chunks import WAIT_S, two_reels


def clip_of(library: Library, project: str) -> str:
    return str(library.show_project(project)["clips"][0]["uid"])


def test_a_merge_waits_before_its_next_chunk_until_a_pending_apply_is_done(make_library) -> None:
    _a, b, (first, _second), batch = two_reels(make_library, per_reel=30)  # 60 remote gestures
    wc = clip_of(b, first)
    before = b.gesture_count()
    chunks: list[ChangeSet] = []
    in_apply, release = threading.Event(), threading.Event()
    appliers: list[threading.Thread] = []

    def listener(changes: ChangeSet) -> None:
        if changes.remote:  # on the merging thread, after a chunk committed
            chunks.append(changes)
            if len(chunks) == 1:
                t = threading.Thread(target=b.apply, args=(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0}),))
                appliers.append(t)
                t.start()
                in_apply.wait(WAIT_S)  # the local apply has begun (and stays pending)
        elif Initiator.LOCAL_UI in changes.initiators:
            in_apply.set()
            release.wait(WAIT_S)  # the apply is still running (publishing) until released

    b.subscribe(listener)
    merging = threading.Thread(target=b.merge_remote, args=(batch,), kwargs={"chunk_size": 10})
    merging.start()
    assert b._local_first.wait_for_paused(WAIT_S)  # the merge stopped before its next chunk
    assert len(chunks) == 1 and b.gesture_count() == before + 10 + 1
    release.set()
    merging.join(WAIT_S)
    appliers[0].join(WAIT_S)
    assert not merging.is_alive() and len(chunks) == 6 and b.gesture_count() == before + 61


def test_a_merge_waits_before_it_parses_while_an_apply_is_pending(make_library) -> None:
    _a, b, (first, _second), batch = two_reels(make_library, per_reel=5)
    wc = clip_of(b, first)
    in_apply, release = threading.Event(), threading.Event()
    remote: list[ChangeSet] = []

    def listener(changes: ChangeSet) -> None:
        if changes.remote:
            remote.append(changes)
        else:
            in_apply.set()
            release.wait(WAIT_S)

    b.subscribe(listener)
    applying = threading.Thread(target=b.apply, args=(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0}),))
    applying.start()
    assert in_apply.wait(WAIT_S)
    merging = threading.Thread(target=b.merge_remote, args=([g.to_wire() for g in batch],))
    merging.start()
    assert b._local_first.wait_for_paused(WAIT_S) and remote == []
    release.set()
    merging.join(WAIT_S)
    applying.join(WAIT_S)
    assert not merging.is_alive() and len(remote) >= 1


def test_a_merge_holding_the_write_lock_does_not_wait_for_an_apply_that_waits_for_it(make_library) -> None:
    _a, b, (first, _second), batch = two_reels(make_library, per_reel=5)
    wc = clip_of(b, first)
    holding = threading.Event()
    done: list[bool] = []

    def merge_under_the_lock() -> None:
        with b._lock:  # a caller that merges inside its own hold of the write lock
            holding.set()
            b._lock.wait_for_queued(1, WAIT_S)  # the apply waits for this lock, pending
            b.merge_remote(batch)
            done.append(True)

    merging = threading.Thread(target=merge_under_the_lock, daemon=True)  # daemon: a deadlock must not hang pytest
    merging.start()
    assert holding.wait(WAIT_S)
    applying = threading.Thread(target=b.apply, args=(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0}),), daemon=True)
    applying.start()
    merging.join(WAIT_S)
    applying.join(WAIT_S)
    assert done == [True] and not applying.is_alive()


def test_a_merge_run_from_inside_an_apply_on_its_thread_does_not_wait_for_that_apply(make_library) -> None:
    _a, b, (first, _second), batch = two_reels(make_library, per_reel=5)
    wc = clip_of(b, first)
    before = b.gesture_count()
    merged: list[int] = []

    def listener(changes: ChangeSet) -> None:
        if not changes.remote and not merged:  # still inside the apply, on its thread
            merged.append(b.merge_remote(batch).applied)

    b.subscribe(listener)
    applying = threading.Thread(target=b.apply, args=(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0}),), daemon=True)
    applying.start()  # daemon: a merge waiting for its own thread's apply must not hang pytest
    applying.join(WAIT_S)
    assert not applying.is_alive() and merged == [10] and b.gesture_count() == before + 11
