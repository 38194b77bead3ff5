"""The gesture engine on real SQLite files: versions, idempotency, totality, undo, merge."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from core.db import models as m
from core.enums import GestureKind as K
from core.gestures.model import Gesture, GestureError
from tests.fixtures.library import FAKE_HASH, seed_clip


def kf(lib, wc, t, x=100.0, y=0.0, w=607.5, h=1080.0):
    return lib.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": t, "x": x, "y": y, "width": w, "height": h}))


def edit(lib, project):
    return lib.show_project(project)["clips"][0]["edit"]


def version_rows(lib, wc):
    with lib.read() as conn:
        return conn.execute(select(m.WorkingClipVersion.version, m.WorkingClipVersion.edit_json)
                            .where(m.WorkingClipVersion.clip_uid == wc).order_by(m.WorkingClipVersion.version)).all()


def test_every_change_inserts_a_new_immutable_version(library):
    _raw, project, wc = seed_clip(library)
    assert [v.version for v in version_rows(library, wc)] == [1]
    first = version_rows(library, wc)
    r = kf(library, wc, 1.0)
    assert r.version == 2 and r.created["keyframe"]
    kf(library, wc, 3.0, x=300.0)
    rows = version_rows(library, wc)
    assert [v.version for v in rows] == [1, 2, 3]
    assert rows[0] == first[0]  # nothing rewrote version 1
    assert len(json.loads(rows[2].edit_json)["edit"]["crop_keyframes"]) == 2
    assert len(edit(library, project)["crop_keyframes"]) == 2


def test_apply_is_idempotent_by_op_id(library):
    _raw, project, wc = seed_clip(library)
    g = Gesture(K.SPLIT, wc, {"time": 2.0}, op_id="0190d5f0-0000-7000-8000-000000000001")
    first = library.apply(g)
    count = library.gesture_count()
    again = library.apply(g)
    assert again.duplicate and again.op_id == first.op_id
    assert library.gesture_count() == count
    assert len(edit(library, project)["splits"]) == 1


def test_stale_input_never_raises(library):
    _raw, project, wc = seed_clip(library)
    k = kf(library, wc, 1.0).created["keyframe"]
    library.apply(Gesture(K.DELETE_CROP_KEYFRAME, wc, {"keyframe": k}))
    before = edit(library, project)
    # deleting again and editing the deleted keyframe: recorded, no effect, no error
    library.apply(Gesture(K.DELETE_CROP_KEYFRAME, wc, {"keyframe": k}))
    library.apply(Gesture(K.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 5.0}))
    library.apply(Gesture(K.REMOVE_SPLIT, wc, {"time": 3.0}))
    assert edit(library, project) == before


@pytest.mark.parametrize("payload, message", [
    ({"time": float("nan"), "x": 0, "y": 0, "width": 10, "height": 10}, "payload must be plain JSON"),
    ({"time": -1.0, "x": 0, "y": 0, "width": 10, "height": 10}, "time must be >= 0"),
    ({"time": 1.0, "x": 0, "y": 0, "width": 0, "height": 10}, "width must be > 0"),
    ({"time": 1.0, "x": 1900, "y": 0, "width": 607.5, "height": 1080}, "inside the 1920x1080"),
    ({"time": 99.0, "x": 0, "y": 0, "width": 10, "height": 10}, "beyond the clip's end"),
    ({"time": 1.0, "x": 0, "y": 0, "width": 10}, "lacks 'height'"),
    ({"time": 1.0, "x": 0, "y": 0, "width": 10, "height": 10, "bogus": 1}, "unknown payload field"),
])
def test_bad_input_is_refused_and_changes_nothing(library, payload, message):
    _raw, project, wc = seed_clip(library)
    count, before = library.gesture_count(), library.project_json(project)
    with pytest.raises(GestureError, match=message):
        library.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, payload))
    assert library.gesture_count() == count and library.project_json(project) == before
    assert library.integrity_check() == "ok"


@pytest.mark.parametrize("gesture, message", [
    (Gesture(K.SET_ROTATION, "0190d5f0-0000-7000-8000-00000000dead", {"degrees": 3.0}), "unknown target"),
    (Gesture(K.SET_ASPECT_RATIO, "0190d5f0-0000-7000-8000-00000000dead", {"aspect": "16:9"}), "unknown project"),
    (Gesture(K.SET_ROTATION, None, {"degrees": 3.0}), "needs a target"),
    (Gesture(K.MARK_CLIP, None, {"media": FAKE_HASH, "start": 5.0, "end": 2.0}), "end must be after start"),
    (Gesture(K.MARK_CLIP, None, {"media": FAKE_HASH, "start": 5.0, "end": 61.0}), "beyond the media's duration"),
    (Gesture(K.MARK_CLIP, None, {"media": FAKE_HASH, "start": 1.0, "end": 2.0, "rating": 6}), "rating must be between"),
])
def test_bad_targets_and_ranges(library, gesture, message):
    seed_clip(library)
    count = library.gesture_count()
    with pytest.raises(GestureError, match=message):
        library.apply(gesture)
    assert library.gesture_count() == count


def test_rotation_bounds(library):
    _raw, _project, wc = seed_clip(library)
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": -20.0}))
    with pytest.raises(GestureError, match="degrees must be <= 20"):
        library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 20.5}))


def test_keyframe_within_ten_frames_updates_the_existing_one(library):
    _raw, project, wc = seed_clip(library)  # 29.97 fps: 10 frames = 0.33367 s
    k1 = kf(library, wc, 1.0).created["keyframe"]
    # 0.3336 s away: snaps, and the keyframe takes the new time and box
    assert kf(library, wc, 0.6664, x=200.0).created["keyframe"] == k1
    # 1.0003 - 0.6664 = 0.3339 s > 10 frames: a new keyframe
    assert kf(library, wc, 1.0003, x=300.0).created["keyframe"] != k1
    kfs = edit(library, project)["crop_keyframes"]
    assert [(k["time"], k["x"]) for k in kfs] == [(0.6664, 200.0), (1.0003, 300.0)]


def test_split_speed_trim_and_output_duration(library):
    _raw, project, wc = seed_clip(library)  # 6 s clip
    library.apply(Gesture(K.SPLIT, wc, {"time": 2.0}))
    library.apply(Gesture(K.SET_SEGMENT_SPEED, wc, {"time": 3.0, "speed": 0.5}))
    # splitting the slow segment keeps both halves slow
    library.apply(Gesture(K.SPLIT, wc, {"time": 4.0}))
    doc = library.show_project(project)["clips"][0]
    assert [(s["start"], s["end"], s["speed"]) for s in doc["edit"]["speeds"]] == [
        (0.0, 2.0, 1.0), (2.0, 4.0, 0.5), (4.0, 6.0, 0.5)]
    assert doc["output_duration"] == pytest.approx(2.0 + 2 / 0.5 + 2 / 0.5)  # 10 s
    library.apply(Gesture(K.SET_TRIM, wc, {"start": 0.0, "end": 4.0}))
    assert library.show_project(project)["clips"][0]["output_duration"] == pytest.approx(2.0 + 4.0)
    # removing the split at 4 merges (2,6) into one 0.5x segment
    library.apply(Gesture(K.CLEAR_TRIM, wc, {}))
    library.apply(Gesture(K.REMOVE_SPLIT, wc, {"time": 4.0}))
    doc = library.show_project(project)["clips"][0]
    assert [(s["start"], s["end"], s["speed"]) for s in doc["edit"]["speeds"]] == [(0.0, 2.0, 1.0), (2.0, 6.0, 0.5)]
    assert doc["output_duration"] == pytest.approx(10.0)


def test_aspect_change_refits_crops_and_undo_restores(library):
    _raw, project, wc = seed_clip(library)
    # 9:16 default crop of 1920x1080 is 607.5 x 1080; a half-zoom box centred at (960, 540)
    kf(library, wc, 1.0, x=960 - 151.875, y=540 - 270, w=303.75, h=540)
    library.apply(Gesture(K.SET_ASPECT_RATIO, project, {"aspect": "16:9"}))
    k = edit(library, project)["crop_keyframes"][0]
    # 16:9 default is 1920x1080; zoom 0.5 -> 960x540 centred at (960, 540)
    assert (k["x"], k["y"], k["width"], k["height"]) == pytest.approx((480.0, 270.0, 960.0, 540.0))
    library.undo(project)
    k = edit(library, project)["crop_keyframes"][0]
    assert (k["x"], k["y"], k["width"], k["height"]) == pytest.approx((808.125, 270.0, 303.75, 540.0))
    assert library.show_project(project)["project"]["aspect"] == "9:16"


def test_undo_redo_stack(library):
    _raw, project, wc = seed_clip(library)
    states = [library.project_json(project)]
    for t in (1.0, 2.0, 3.0):
        library.apply(Gesture(K.SPLIT, wc, {"time": t}))
        states.append(library.project_json(project))
    library.undo(project)
    library.undo(project)
    assert library.project_json(project) == states[1]
    library.redo(project)
    assert library.project_json(project) == states[2]
    library.undo(project)
    assert library.project_json(project) == states[1]
    # a new gesture clears the redo stack
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 5.0}))
    assert library.redo(project) is None
    library.undo(project)
    assert library.project_json(project) == states[1]
    # undo is a logged gesture that names what it undid
    with library.read() as conn:
        undoes = conn.execute(select(func.count()).select_from(m.GestureRow)
                              .where(m.GestureRow.undoes.isnot(None))).scalar()
    assert undoes == 5


def test_undo_all_the_way_back_and_nothing_more(library):
    _raw, project, wc = seed_clip(library)
    empty_edit = edit(library, project)
    kf(library, wc, 1.0)
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 4.0}))
    assert library.undo(project) and library.undo(project)
    assert edit(library, project) == empty_edit
    library.undo(project)  # the add_clip
    assert library.show_project(project)["clips"] == []
    library.undo(project)  # create_project
    assert library.undo(project) is None
    assert library.show_project(project)["project"]["deleted"] is True


def test_restore_version(library):
    _raw, project, wc = seed_clip(library)
    kf(library, wc, 1.0)
    v_with_one = library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 3.0})).version
    target = library.show_project(project)["clips"][0]["edit"]
    kf(library, wc, 4.0)
    library.apply(Gesture(K.SPLIT, wc, {"time": 2.5}))
    r = library.apply(Gesture(K.RESTORE_VERSION, wc, {"version": v_with_one}))
    assert edit(library, project) == target
    assert r.version == v_with_one + 3
    hist = library.history(wc)
    assert [h["version"] for h in hist] == list(range(1, r.version + 1))
    assert hist[-1]["gesture"]["kind"] == "restore_version"
    assert library.history(wc, after=r.version - 2) == hist[-2:]  # only the newer versions
    assert library.history(wc, after=r.version) == []


def test_regions_and_style(library):
    _raw, project, wc = seed_clip(library)
    r = library.apply(Gesture(K.ADD_REGION, wc, {"start": 1.0, "end": 3.0, "x": 900, "y": 500, "rx": 40, "ry": 80}))
    region = r.created["region"]
    library.apply(Gesture(K.ADD_REGION_KEYFRAME, wc,
                          {"region": region, "time": 2.0, "x": 950, "y": 510, "rx": 40, "ry": 80}))
    library.apply(Gesture(K.TOGGLE_REGION, wc, {"region": region}))
    library.apply(Gesture(K.SET_OVERLAY_STYLE, wc, {"color": "#FF0000", "dim": 0.7, "shape": "ground"}))
    e = edit(library, project)
    assert e["regions"][0]["enabled"] is False and len(e["regions"][0]["keyframes"]) == 2
    assert e["overlay_style"]["color"] == "#FF0000" and e["overlay_style"]["shape"] == "ground"
    library.apply(Gesture(K.DELETE_REGION, wc, {"region": region}))
    assert edit(library, project)["regions"] == []
    library.undo(project)
    assert len(edit(library, project)["regions"][0]["keyframes"]) == 2


def test_clip_order_moves(library):
    raw, project, wc1 = seed_clip(library)
    wc2 = library.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    wc3 = library.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw, "position": 0})).created["working_clip"]
    def order() -> list[str]:
        return [c["uid"] for c in library.show_project(project)["clips"]]

    assert order() == [wc3, wc1, wc2]
    library.apply(Gesture(K.MOVE_CLIP, project, {"working_clip": wc3, "position": 2}))
    assert order() == [wc1, wc2, wc3]
    library.apply(Gesture(K.REMOVE_CLIP, project, {"working_clip": wc2}))
    assert order() == [wc1, wc3]
    library.undo(project)
    assert order() == [wc1, wc2, wc3]


def test_raw_clip_range_change_bumps_rev_and_new_range_rescales(library):
    raw, project, wc = seed_clip(library)  # 10..16
    kf(library, wc, 3.0)
    library.apply(Gesture(K.UPDATE_CLIP, raw, {"rating": 5, "tags": ["goal"]}))
    assert library.raw_clips()[0]["boundaries_rev"] == 0
    library.apply(Gesture(K.UPDATE_CLIP, raw, {"end": 22.0}))  # 12 s long now
    assert library.raw_clips()[0]["boundaries_rev"] == 1
    clip = library.show_project(project)["clips"][0]
    assert clip["source"]["rev"] == 0  # the working clip still frames the old range: UI offers an update
    library.apply(Gesture(K.USE_NEW_RANGE, wc, {"rescale": True}))
    clip = library.show_project(project)["clips"][0]
    assert clip["source"]["rev"] == 1 and clip["source"]["duration"] == 12.0
    assert clip["edit"]["crop_keyframes"][0]["time"] == 6.0


def test_database_pragmas(library):
    with library.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_migrations_match_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from core.db.engine import open_engine
    engine = open_engine(tmp_path / "x.sqlite")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []


# ------------------------------------------------------------------------------ merging


def test_merge_remote_converges_and_records_conflicts(make_library):
    a, b = make_library("a"), make_library("b")
    raw, project, wc = seed_clip(a)
    b.merge_remote(a.gestures())
    k = kf(a, wc, 1.0).created["keyframe"]
    b.merge_remote(a.gestures())
    # both edit the same keyframe without seeing each other
    a.apply(Gesture(K.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 11.0}))
    b.apply(Gesture(K.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 22.0}))
    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 2.0}))  # not overlapping: no conflict
    a.merge_remote(b.gestures())
    b.merge_remote(a.gestures())
    assert a.project_json(project) == b.project_json(project)
    ca, cb = a.conflicts(), b.conflicts()
    assert len(ca) == 1 and ca == cb
    assert ca[0]["path"] == f"kf/{wc}/{k}"
    winner_x = edit(a, project)["crop_keyframes"][0]["x"]
    loser_op = ca[0]["loser_op_id"]
    loser = next(g for g in a.gestures() if g.op_id == loser_op)
    assert loser.payload["x"] != winner_x


def test_late_gesture_refolds(make_library):
    a, b = make_library("a"), make_library("b")
    raw, project, wc = seed_clip(a)
    b.merge_remote(a.gestures())
    a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0}))
    for _ in range(3):  # b runs its clock ahead so its gesture sorts later than a's next one
        b.apply(Gesture(K.SET_TRIM, wc, {"start": 0.5, "end": 5.0}))
    b.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 7.0}))
    a.merge_remote(b.gestures())
    assert edit(a, project)["rotation"] == 7.0
    b.merge_remote(a.gestures())  # a's rotation sorts before b's: b re-folds, 7.0 still wins
    assert edit(b, project)["rotation"] == 7.0
    assert a.project_json(project) == b.project_json(project)


def test_working_clip_gestures_before_their_add_clip(make_library):
    a, b, c = make_library("a"), make_library("b"), make_library("c")
    raw, project, wc = seed_clip(a)
    b.merge_remote(a.gestures())
    b.apply(Gesture(K.SPLIT, wc, {"time": 2.0}))
    only_b = [g for g in b.gestures() if g.device_id == b.device_id]
    c.merge_remote(only_b)  # c has not seen a's add_clip yet
    c.merge_remote(a.gestures())
    assert c.project_json(project) == b.project_json(project)
    assert len(edit(c, project)["splits"]) == 1


def test_merge_rejects_a_bad_batch_whole(make_library):
    a, b = make_library("a"), make_library("b")
    seed_clip(a)
    wire = [g.to_wire() for g in a.gestures()]
    wire[-1] = {**wire[-1], "lamport": -5}
    with pytest.raises(GestureError, match="lamport"):
        b.merge_remote(wire)
    assert b.gesture_count() == 0
    wire[-1] = {**wire[-1], "lamport": 9, "kind": "format_disk"}
    with pytest.raises(GestureError, match="unknown gesture kind"):
        b.merge_remote(wire)
    assert b.gesture_count() == 0


def test_merge_is_idempotent(make_library):
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    kf(a, wc, 1.0)
    r1 = b.merge_remote(a.gestures())
    r2 = b.merge_remote(a.gestures())
    assert r1.applied == a.gesture_count() and r2.applied == 0 and r2.duplicates == a.gesture_count()
    assert a.project_json(project) == b.project_json(project)


def test_change_listeners_hear_commits(library):
    events = []
    library.subscribe(events.append)
    _raw, project, wc = seed_clip(library)
    assert project in set().union(*(e.scopes for e in events))
    assert not any(e.remote for e in events)


def test_undone_add_clip_and_undone_remove_agree_on_every_device(make_library):
    """Found by the convergence property: A undoes its add_clip while B undoes its remove_clip.

    The clip's source entry is gone but its place is back; every device must agree the clip is
    not in the reel (instead of each showing whatever version it happened to hold last).
    """
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    a.apply(Gesture(K.ADD_REGION, wc, {"start": 0.5, "end": 2.0, "x": 900.0, "y": 500.0, "rx": 40.0, "ry": 80.0}))
    b.merge_remote(a.gestures())
    b.apply(Gesture(K.REMOVE_CLIP, project, {"working_clip": wc}))
    a.undo(project)  # the region
    b.undo(project)  # the removal
    a.undo(project)  # the add_clip
    for _ in range(2):
        b.merge_remote(a.gestures())
        a.merge_remote(b.gestures())
    assert a.project_json(project) == b.project_json(project)
    assert a.show_project(project)["clips"] == []


def test_raw_clip_reader(library):
    raw, _project, _wc = seed_clip(library)
    clip = library.raw_clip(raw)
    assert clip["start"] == 10.0 and clip["end"] == 16.0 and clip["tags"] == []
    assert library.raw_clip("0190d5f0-0000-7000-8000-00000000dead") is None
