"""Undo by identity: reverting named gestures, refused when a later gesture changed the same thing."""
from __future__ import annotations

import pytest

from core.enums import GestureKind
from core.gestures.model import Gesture, GestureError
from core.library import Library
from tests.fixtures.library import seed_clip

BOX = {"time": 1.0, "x": 10.0, "y": 0.0, "width": 405.0, "height": 720.0}


def _edit(lib: Library, project: str) -> dict:
    return lib.show_project(project)["clips"][0]["edit"]


def test_reverts_the_named_gesture_not_the_top_of_the_stack(library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    rotate = library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0})).op_id
    library.apply(Gesture(GestureKind.SET_TRIM, wc, {"start": 1.0, "end": 4.0}))
    (inverse,) = library.undo_ops([rotate])
    edit = _edit(library, project)
    assert edit["rotation"] == 0.0 and edit["trim"] == {"start": 1.0, "end": 4.0}
    assert library.gesture(inverse.op_id).undoes == rotate


def test_refused_when_a_later_gesture_changed_the_same_entry(make_library) -> None:
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    k = a.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, BOX)).created["keyframe"]
    move = a.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 20.0})).op_id
    b.merge_remote(a.gestures())
    b.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 30.0}))  # the other device, later
    a.merge_remote(b.gestures())
    before, count = a.project_json(project), a.gesture_count()
    with pytest.raises(GestureError, match="changed since"):
        a.undo_ops([move])
    assert a.project_json(project) == before and a.gesture_count() == count


def test_later_undone_edits_do_not_make_an_earlier_one_stale(library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    add = library.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, BOX))
    k = add.created["keyframe"]
    move = library.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 20.0})).op_id
    library.undo_ops([move])  # the move and its undo cancel out
    library.undo_ops([add.op_id])
    assert _edit(library, project)["crop_keyframes"] == []


def test_several_gestures_on_one_entry_revert_together_and_redo(library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    k = library.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, BOX)).created["keyframe"]
    drags = [library.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": x})).op_id
             for x in (20.0, 30.0, 40.0)]
    inverses = library.undo_ops(drags)
    assert _edit(library, project)["crop_keyframes"][0]["x"] == 10.0
    library.undo_ops([r.op_id for r in inverses])  # redo
    assert _edit(library, project)["crop_keyframes"][0]["x"] == 40.0


def test_an_unknown_op_id_is_refused(library: Library) -> None:
    seed_clip(library)
    with pytest.raises(GestureError, match="unknown gesture"):
        library.undo_ops(["01890000-0000-7000-8000-000000000000"])


def test_the_cli_undo_of_this_devices_last_edit_has_the_same_stale_check(make_library) -> None:
    """``reeldesk undo SCOPE`` reverts this device's newest gesture in the scope; when another
    device changed the same entry since, it is refused like a window undo, and nothing changes."""
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    k = a.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, BOX)).created["keyframe"]
    a.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 20.0}))
    b.merge_remote(a.gestures())
    b.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 30.0}))
    a.merge_remote(b.gestures())
    before, count = a.project_json(project), a.gesture_count()
    with pytest.raises(GestureError, match="changed since"):
        a.undo(project)
    assert a.project_json(project) == before and a.gesture_count() == count
