"""Dismissing a conflict is a gesture: logged, synced to every device, undoable."""
from __future__ import annotations

from typing import Callable

import pytest

from core.enums import GestureKind
from core.gestures.model import Gesture, GestureError
from core.library import Library
from tests.fixtures.library import seed_clip

BOX = {"time": 1.0, "x": 10.0, "y": 0.0, "width": 405.0, "height": 720.0}


def _conflicted(make_library: Callable[[str], Library]) -> tuple[Library, Library, str]:
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    k = a.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, BOX)).created["keyframe"]
    b.merge_remote(a.gestures())
    a.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 11.0}))
    b.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 22.0}))
    a.merge_remote(b.gestures())
    b.merge_remote(a.gestures())
    assert len(a.conflicts()) == 1 and a.conflicts() == b.conflicts()
    return a, b, project


def test_resolving_is_a_logged_gesture_that_syncs_to_the_other_device(make_library) -> None:
    a, b, project = _conflicted(make_library)
    (c,) = a.conflicts()
    result = a.resolve_conflict(c["loser_op_id"], c["winner_op_id"], c["path"])
    assert result.kind is GestureKind.RESOLVE_CONFLICT
    assert a.conflicts() == []
    logged = a.gesture(result.op_id)
    assert logged is not None and logged.entity_uid == project
    assert result.op_id in {g.op_id for g in a.pending_gestures()}  # goes up with the next push
    b.merge_remote(a.gestures())
    assert b.conflicts() == []
    assert [r["resolved"] for r in b.conflicts(include_resolved=True)] == [True]
    assert a.project_json(project) == b.project_json(project)


def test_a_fresh_device_merging_the_whole_log_at_once_sees_it_resolved(make_library) -> None:
    a, b, project = _conflicted(make_library)
    (c,) = a.conflicts()
    a.resolve_conflict(c["loser_op_id"], c["winner_op_id"], c["path"])
    fresh = make_library("fresh")
    fresh.merge_remote(a.gestures())
    assert fresh.conflicts() == [] and len(fresh.conflicts(include_resolved=True)) == 1
    assert fresh.project_json(project) == a.project_json(project)


def test_undoing_the_dismissal_shows_the_conflict_again_everywhere(make_library) -> None:
    a, b, project = _conflicted(make_library)
    (c,) = a.conflicts()
    done = a.resolve_conflict(c["loser_op_id"], c["winner_op_id"], c["path"])
    a.undo_ops([done.op_id])
    assert a.conflicts() == [c]
    b.merge_remote(a.gestures())
    assert b.conflicts() == [c]


def test_an_unknown_conflict_is_refused_and_nothing_is_logged(make_library) -> None:
    a, _b, _project = _conflicted(make_library)
    (c,) = a.conflicts()
    count = a.gesture_count()
    with pytest.raises(GestureError, match="no such conflict"):
        a.resolve_conflict(c["winner_op_id"], c["loser_op_id"], c["path"])
    assert a.gesture_count() == count and len(a.conflicts()) == 1


def test_a_remote_resolution_naming_no_real_entry_is_refused(make_library) -> None:
    a, b, project = _conflicted(make_library)
    (c,) = a.conflicts()
    done = a.resolve_conflict(c["loser_op_id"], c["winner_op_id"], c["path"])
    wire = a.gesture(done.op_id).to_wire()
    wire["payload"]["path"] = "../../etc/passwd"
    with pytest.raises(GestureError, match="path"):
        b.merge_remote([wire])
    assert len(b.conflicts()) == 1
