"""Spotlight keyframes snap like crop keyframes, and the migration that folds stored near-duplicates."""
from __future__ import annotations

import sqlite3
from contextlib import closing

from alembic import command

from core.db.engine import alembic_config, open_engine
from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from tests.fixtures.library import seed_clip


def region_with_kf(lib, wc):
    r = lib.apply(Gesture(K.ADD_REGION, wc, {"start": 0.5, "end": 5.0, "x": 900, "y": 500, "rx": 40, "ry": 80}))
    return r.created["region"]


def add_rkf(lib, wc, region, t, x=950.0, **extra):
    return lib.apply(Gesture(K.ADD_REGION_KEYFRAME, wc,
                             {"region": region, "time": t, "x": x, "y": 510, "rx": 40, "ry": 80, **extra}))


def rkfs(lib, project):
    return lib.show_project(project)["clips"][0]["edit"]["regions"][0]["keyframes"]


def test_region_keyframe_within_ten_frames_updates_the_existing_one(library):
    _raw, project, wc = seed_clip(library)  # 29.97 fps: 10 frames = 0.33367 s
    region = region_with_kf(library, wc)
    k1 = add_rkf(library, wc, region, 1.0).created["keyframe"]
    assert add_rkf(library, wc, region, 1.05, x=960.0).created["keyframe"] == k1
    assert add_rkf(library, wc, region, 1.05, x=970.0).created["keyframe"] == k1  # the key pressed twice
    assert add_rkf(library, wc, region, 1.5, x=990.0).created["keyframe"] != k1  # 13 frames: a new one
    assert [(k["time"], k["x"]) for k in rkfs(library, project)] == [(0.5, 900), (1.05, 970.0), (1.5, 990.0)]


def test_region_snap_stays_inside_its_region(library):
    _raw, project, wc = seed_clip(library)
    a, b = region_with_kf(library, wc), region_with_kf(library, wc)
    add_rkf(library, wc, a, 1.0)
    add_rkf(library, wc, b, 1.0)  # same time, other region: its own keyframe
    regions = library.show_project(project)["clips"][0]["edit"]["regions"]
    assert sorted(len(r["keyframes"]) for r in regions) == [2, 2]


def test_undo_of_a_snapped_region_keyframe_restores_the_old_one(library):
    _raw, project, wc = seed_clip(library)
    region = region_with_kf(library, wc)
    add_rkf(library, wc, region, 1.0, x=950.0)
    add_rkf(library, wc, region, 1.1, x=999.0)
    library.undo(project)
    assert [(k["time"], k["x"]) for k in rkfs(library, project)] == [(0.5, 900), (1.0, 950.0)]


def _make_legacy(lib: Library) -> None:
    """Turn ``lib`` into what the build before the fix left: add_region_keyframe gestures without a
    resolved snap, folded into separate keyframes, at schema revision 0002."""
    root = lib.root
    lib.close()
    # Later revisions step back first (their downgrades undo their schema changes).
    engine = open_engine(root / "library.sqlite", migrate=False)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
    finally:
        engine.dispose()
    with closing(sqlite3.connect(root / "library.sqlite")) as conn, conn:
        conn.execute("UPDATE gesture_log SET payload = json_remove(payload, '$.snap') WHERE kind = ?",
                     (K.ADD_REGION_KEYFRAME.value,))
        conn.execute("UPDATE alembic_version SET version_num = '0002'")


def _legacy_library(make_library, name: str) -> tuple[Library, str, str, str, list[str]]:
    lib = make_library(name)
    _raw, project, wc = seed_clip(lib)
    region = region_with_kf(lib, wc)
    # What the old build produced: explicit "no snap" gives separate keyframes at 1.0 and 1.05 and two at 2.0.
    ks = [add_rkf(lib, wc, region, t, x=x, snap=None).created["keyframe"]
          for t, x in ((1.0, 950.0), (1.05, 960.0), (2.0, 980.0), (2.0, 985.0))]
    assert len(rkfs(lib, project)) == 5
    return lib, project, wc, region, ks


def test_migration_folds_stored_near_duplicates(make_library):
    lib, project, wc, region, ks = _legacy_library(make_library, "old")
    versions_before = len(lib.history(wc))
    old_rows = [(h["version"], h["edit"]) for h in lib.history(wc)]
    _make_legacy(lib)
    lib = Library(lib.root)
    try:
        assert [(k["time"], k["x"]) for k in rkfs(lib, project)] == [(0.5, 900), (1.05, 960.0), (2.0, 985.0)]
        hist = lib.history(wc)
        # One new version row on top; the old rows are untouched (history and undo still read them).
        assert len(hist) == versions_before + 1 and [(h["version"], h["edit"]) for h in hist[:-1]] == old_rows
        # A later edit of the folded-away keyframe lands on the survivor.
        lib.apply(Gesture(K.UPDATE_REGION_KEYFRAME, wc, {"region": region, "keyframe": ks[1], "x": 961.0}))
        assert [(k["time"], k["x"]) for k in rkfs(lib, project)] == [(0.5, 900), (1.05, 961.0), (2.0, 985.0)]
        # Undo walks back through the folded gestures without resurrecting a duplicate.
        lib.undo(project)
        lib.undo(project)
        assert [(k["time"], k["x"]) for k in rkfs(lib, project)] == [(0.5, 900), (1.05, 960.0), (2.0, 980.0)]
    finally:
        lib.close()


def test_migrated_devices_converge_with_a_new_device(make_library):
    lib, project, _wc, _region, _ks = _legacy_library(make_library, "old")
    _make_legacy(lib)
    lib = Library(lib.root)
    fresh = make_library("fresh")
    try:
        fresh.merge_remote(lib.gestures())  # the legacy gestures, folded by the new rule
        assert fresh.project_json(project) == lib.project_json(project)
        assert len(rkfs(fresh, project)) == 3
    finally:
        lib.close()
