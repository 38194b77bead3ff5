"""Copied and restored library folders against a real HTTP S3 endpoint (moto over the wire): each
copy becomes a new device, and every edit of every copy reaches every device, whoever pushes first.
Also: remote clocks are bounded, and a batch one build cannot read blocks its device's cursor, so a
snapshot never skips it and a newer device bootstraps without losing it."""
from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from desktop.cli import main
from sync import codec, devices
from sync import engine as engine_module
from sync.codec import encode_batch
from sync.credentials import RemoteConfig, RemoteKind
from sync.engine import SyncEngine
from sync.remote import configure_remote
from tests import test_sync_engine as se
from tests.fixtures.library import seed_clip

Bucket = dict[str, Any]


def _reopen(lib: Library) -> Library:
    lib.close()
    return Library(lib.root)


def _copy(lib: Library, dest: Path) -> tuple[Library, Library]:
    """Close `lib`, copy its folder to `dest` (what an editor does), open both."""
    lib.close()
    shutil.copytree(lib.root, dest)
    return Library(lib.root), Library(dest)


def _settle(project: str, bucket: Bucket, *libs: Library) -> list[SyncEngine]:
    engines = [se.engine_for(lib, bucket) for lib in libs]
    se.rounds(*engines, n=3)
    for lib in libs:
        assert lib.pending_count() == 0
    se.assert_converged(project, *libs)
    return engines


@pytest.mark.parametrize("copy_pushes_first", [True, False])
def test_a_copy_with_an_unpushed_edit_becomes_a_new_device_and_nothing_is_lost(
        make_library: Callable[[str], Library], s3_bucket: Bucket, tmp_path: Path, copy_pushes_first: bool) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, wc = seed_clip(a)
    se.engine_for(a, s3_bucket).push_once()
    shared = a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 1.0})).op_id  # unpushed at copy time
    a, copy = _copy(a, tmp_path / "copy")
    try:
        assert copy.device_id != a.device_id  # noticed on opening: another folder
        mine = copy.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Copy"})).op_id
        theirs = a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 3.0})).op_id
        first, second = (copy, a) if copy_pushes_first else (a, copy)
        _settle(project, s3_bucket, first, second, b)
        for lib in (a, copy, b):
            assert {shared, mine, theirs} <= se.all_op_ids(lib)
    finally:
        copy.close()


def test_a_plain_copy_and_its_original_both_keep_editing(make_library: Callable[[str], Library],
                                                         s3_bucket: Bucket, tmp_path: Path) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, wc = seed_clip(a)
    se.engine_for(a, s3_bucket).push_once()
    a, copy = _copy(a, tmp_path / "copy")
    try:
        se.edit(a, project, wc, random.Random(1), 8)
        se.edit(copy, project, wc, random.Random(2), 8)
        engines = _settle(project, s3_bucket, copy, a, b)
        se.edit(b, project, wc, random.Random(3), 5)
        se.rounds(*engines, n=2)
        se.assert_converged(project, a, copy, b)
    finally:
        copy.close()


def test_a_restored_backup_gets_its_later_edits_back_and_keeps_syncing(make_library: Callable[[str], Library],
                                                                       s3_bucket: Bucket, tmp_path: Path) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, wc = seed_clip(a)
    se.engine_for(a, s3_bucket).push_once()
    pending_at_backup = a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 2.0})).op_id
    a.close()
    backup = tmp_path / "backup"
    shutil.copytree(a.root, backup)
    a = Library(a.root)
    later = [a.apply(Gesture(K.RENAME_PROJECT, project, {"name": f"Later {i}"})).op_id for i in range(3)]
    se.engine_for(a, s3_bucket).push_once()
    old_id = a.device_id
    a.close()
    shutil.rmtree(a.root)
    shutil.copytree(backup, a.root)  # restored in place: same machine, same folder
    restored = Library(a.root)
    try:
        assert restored.device_id == old_id  # nothing local can tell; the bucket does
        after = restored.apply(Gesture(K.SET_ROTATION, wc, {"degrees": -4.0})).op_id
        engines = _settle(project, s3_bucket, restored, b)
        assert restored.device_id != old_id
        for lib in (restored, b):
            assert {pending_at_backup, after, *later} <= se.all_op_ids(lib)
        restored.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Restored"}))  # and keeps going
        se.rounds(*engines, n=2)
        se.assert_converged(project, restored, b)
        assert b.show_project(project)["project"]["name"] == "Restored"
    finally:
        restored.close()


def test_undo_follows_the_editor_across_a_new_device_id(make_library: Callable[[str], Library],
                                                        tmp_path: Path) -> None:
    a = make_library("a")
    _raw, project, wc = seed_clip(a)
    a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 5.0}))
    a, copy = _copy(a, tmp_path / "copy")
    try:
        copy.undo(project)
        doc = copy.show_project(project)
        assert doc["clips"][0]["edit"]["rotation"] == 0.0
    finally:
        copy.close()


# ------------------------------------------------------------------------------ clocks
def test_a_remote_clock_far_ahead_is_quarantined_not_adopted(make_library: Callable[[str], Library],
                                                            s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    _raw, project, wc = seed_clip(a)
    ea, eb = se.engine_for(a, s3_bucket), se.engine_for(b, s3_bucket)
    se.rounds(ea, eb)
    forger = "01900000-0000-7000-8000-00000000f00d"
    template = a.gestures()[2].to_wire()  # create_project
    evil = {**se.wire_like(template, forger, 2**53 - 1)}
    ea.store.put(ea.layout.device_key(forger), b"{}")
    ea.store.put(ea.layout.batch_key(forger, 0), encode_batch(ea.library_uid, forger, 0, [evil]))
    ea.store.put(ea.layout.head_key, b"{}")  # what a pushing device does after its batch
    counts = eb.sync_once()
    assert counts.quarantined == 1 and any("too far ahead" in q["reason"] for q in eb.ledger.quarantined())
    b.apply(Gesture(K.RENAME_PROJECT, project, {"name": "After"}))
    assert b.gestures()[-1].lamport < 1_000
    se.rounds(eb, ea)
    assert a.show_project(project)["project"]["name"] == "After"
    assert ea.ledger.quarantine_count() == 1 and a.gestures()[-1].op_id != evil["op_id"]


# ------------------------------------------------------------------------------ version skew
def test_a_batch_an_older_build_cannot_read_is_never_skipped_by_its_snapshot(
        make_library: Callable[[str], Library], s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    new, old, fresh = make_library("new"), make_library("old"), make_library("fresh")
    se.join(old, new)
    se.join(fresh, new)
    _raw, project, wc = seed_clip(new)
    e_new = se.engine_for(new, s3_bucket)
    e_new.push_once()
    new.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 7.0}))  # batch 1: a kind the old build lacks
    e_new.push_once()
    new.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Later"}))  # batch 2
    e_new.push_once()

    older_kinds = codec._KINDS - {K.SET_ROTATION.value}
    with monkeypatch.context() as mp:
        mp.setattr(codec, "_KINDS", older_kinds)
        mp.setattr(engine_module, "build_id", lambda: "an older build", raising=False)
        e_old = se.engine_for(old, s3_bucket, snapshot_every=1)
        counts = e_old.sync_once()
        assert counts.quarantined == 1 and any("quarantined" in h for h in counts.held)
        assert old.show_project(project)["project"]["name"] == "Reel"  # batch 2 waits behind batch 1
        e_old.snapshot_once(force=True)
    snap_cursors = json.loads(e_old.store.get(e_old.layout.pointer_key))["cursors"]
    assert snap_cursors[new.device_id] == 0  # the snapshot stops where the old build stopped

    e_fresh = se.engine_for(fresh, s3_bucket)
    counts = e_fresh.sync_once()
    assert counts.bootstrapped > 0 and counts.quarantined == 0
    se.assert_converged(project, new, fresh)

    # "upgrade" the old build: it retries the quarantined batch and catches up
    se.rounds(se.engine_for(old, s3_bucket), n=1)
    se.assert_converged(project, new, old, fresh)


def _push_as_a_build_before_device_records(lib: Library, engine: SyncEngine, batch: int) -> None:
    """What a build older than device records writes: a bare record, batches, never the head object."""
    record = {"format": codec.DEVICE_FORMAT, "v": 1, "library": engine.library_uid, "device": lib.device_id,
              "name": "old laptop", "first_seen": "2026-01-01T00:00:00+00:00"}
    engine.store.put(engine.layout.device_key(lib.device_id), json.dumps(record).encode())
    wire = [g.to_wire() for g in lib.pending_gestures(100)]
    engine.store.put(engine.layout.batch_key(lib.device_id, batch),
                     encode_batch(engine.library_uid, lib.device_id, batch, wire))
    with lib.transaction() as conn:
        Library.mark_pushed(conn, [g["op_id"] for g in wire], batch)


def test_edits_of_a_build_that_never_writes_the_head_object_arrive_at_the_next_poll(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    new, old = make_library("new"), make_library("old")
    se.join(old, new)
    e_new, e_old = se.engine_for(new, s3_bucket), se.engine_for(old, s3_bucket)
    project = old.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Old", "aspect": "9:16"})).entity
    _push_as_a_build_before_device_records(old, e_old, 0)
    counts = e_new.pull_once()
    assert new.show_project(project)["project"]["name"] == "Old"
    assert any("'old laptop'" in h and "update ReelDesk on that computer" in h for h in counts.held)

    old.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Renamed there"}))
    _push_as_a_build_before_device_records(old, e_old, 1)
    e_new.pull_once()  # the head object is unchanged: only the old device's log is listed
    assert new.show_project(project)["project"]["name"] == "Renamed there"


def test_a_device_whose_build_lacks_a_kind_is_named_at_once_on_both_sides_with_the_fix(
        make_library: Callable[[str], Library], s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    new, older = make_library("new"), make_library("older")
    config = RemoteConfig(RemoteKind.S3, endpoint=s3_bucket["endpoint_url"], bucket=s3_bucket["bucket"],
                          key_id=s3_bucket["key_id"])
    configure_remote(new, config, secret=s3_bucket["secret"])
    se.join(older, new)
    seed_clip(new)
    e_new = se.engine_for(new, s3_bucket)
    assert e_new.sync_once(media=False).held == []
    with monkeypatch.context() as mp:
        mp.setattr(codec, "_KINDS", codec._KINDS - {K.SET_ROTATION.value})
        mp.setattr(devices, "build_id", lambda: "an older build")
        counts = se.engine_for(older, s3_bucket, device_name="edit bay").sync_once(media=False)
    assert any("update ReelDesk here" in h and "set_rotation" in h for h in counts.held)

    counts = e_new.pull_once()  # no edit of the kind was made yet: the record alone tells
    assert any("'edit bay'" in h and "set_rotation" in h and "update ReelDesk on that computer" in h
               for h in counts.held)
    new.close()
    assert main(["--library", str(new.root), "--json", "doctor"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert any("'edit bay'" in p and "set_rotation" in p for p in report["problems"])
    assert len(report["device_skews"]) == 1


def test_doctor_reports_a_restored_backup_and_quarantine_with_the_fix(
        make_library: Callable[[str], Library], s3_bucket: Bucket, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    a = make_library("a")
    config = RemoteConfig(RemoteKind.S3, endpoint=s3_bucket["endpoint_url"], bucket=s3_bucket["bucket"],
                          key_id=s3_bucket["key_id"])
    configure_remote(a, config, secret=s3_bucket["secret"])
    _raw, project, wc = seed_clip(a)
    se.engine_for(a, s3_bucket).push_once()
    a.close()
    shutil.copytree(a.root, tmp_path / "backup")
    a = Library(a.root)
    a.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Later"}))
    se.engine_for(a, s3_bucket).push_once()
    a.close()
    shutil.rmtree(a.root)
    shutil.copytree(tmp_path / "backup", a.root)

    def doctor() -> tuple[int, dict[str, Any]]:
        code = main(["--library", str(a.root), "--json", "doctor"])
        return code, json.loads(capsys.readouterr().out)

    code, report = doctor()
    assert code == 1 and report["clash"] and "sync --once" in report["problems"][0]
    assert main(["--library", str(a.root), "sync", "--once"]) == 0
    capsys.readouterr()
    code, report = doctor()
    assert code == 0 and report["problems"] == [] and report["clash"] is None
    assert len(report["former_device_ids"]) == 1

    restored = Library(a.root)
    try:
        forger = "01900000-0000-7000-8000-00000000f00d"
        store = se.store_for(s3_bucket)
        layout = se.Layout(restored.library_uid)
        store.put(layout.device_key(forger), b"{}")
        store.put(layout.batch_key(forger, 0), b"not a batch")
    finally:
        restored.close()
    assert main(["--library", str(a.root), "sync", "--once"]) == 0
    capsys.readouterr()
    code, report = doctor()
    assert code == 1 and len(report["quarantined"]) == 1 and "Update ReelDesk" in report["problems"][0]
