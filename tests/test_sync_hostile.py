"""Hostile bucket content over real HTTP (moto): crafted undo patches, a decompression bomb that
fits the gzip limit, and media paths that try to leave the library folder."""
from __future__ import annotations

import gzip
import json
import sqlite3
import tracemalloc
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture, GestureError
from core.ids import new_uid
from core.library import DB_NAME, Library
from desktop.cli import main
from sync.engine import SyncEngine
from sync.folderstore import FolderStore
from sync.codec import MAX_BATCH_COMPRESSED, FormatError, Pointer, decode_batch, encode_batch, encode_pointer
from tests import test_sync_engine as se
from tests.fixtures.library import FAKE_HASH, seed_clip

Bucket = dict[str, Any]
TRAVERSAL = "../../../../../../etc/passwd"


def _dump(lib: Library) -> list[str]:
    with closing(sqlite3.connect(lib.root / DB_NAME)) as conn:
        return list(conn.iterdump())


def _revert(device: str, entity: str, patch: dict[str, Any], lamport: int = 50) -> dict[str, Any]:
    return {"op_id": new_uid(), "device_id": device, "lamport": lamport, "kind": K.REVERT.value,
            "entity": entity, "payload": {"patch": patch}, "base_version": 0, "undoes": None}


CRAFTED = {
    "dict as a project name": lambda project, raw, wc: (project, {"name": {"x": 1}}),
    "path as a media hash": lambda project, raw, wc: (raw, {"media": TRAVERSAL}),
    "string as a keyframe": lambda project, raw, wc: (project, {f"kf/{wc}/{new_uid()}": "x"}),
    "keyframe without time": lambda project, raw, wc: (project, {f"kf/{wc}/{new_uid()}": {"x": 1.0}}),
    "source of another shape": lambda project, raw, wc: (project, {f"clip/{wc}": {"raw_clip": raw}}),
    "unknown entry": lambda project, raw, wc: (project, {"owner": "me"}),
    "rating out of range": lambda project, raw, wc: (raw, {"rating": 99}),
}


def test_crafted_undo_patches_are_quarantined_and_every_other_device_still_syncs(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    raw, project, wc = seed_clip(a)
    ea, eb = se.engine_for(a, s3_bucket), se.engine_for(b, s3_bucket)
    se.rounds(ea, eb)
    forgers = sorted(new_uid() for _ in CRAFTED)  # they sort before and after a's id
    for forger, make in zip(forgers, CRAFTED.values(), strict=True):
        entity, patch = make(project, raw, wc)
        ea.store.put(ea.layout.device_key(forger), b"{}")
        ea.store.put(ea.layout.batch_key(forger, 0),
                     encode_batch(ea.library_uid, forger, 0, [_revert(forger, entity, patch)]))
    a.apply(Gesture(K.RENAME_PROJECT, project, {"name": "Still syncing"}))
    ea.push_once()
    counts = eb.sync_once()  # must not raise
    assert counts.quarantined == len(CRAFTED)
    assert b.show_project(project)["project"]["name"] == "Still syncing"
    assert b.raw_clip(raw)["media_hash"] == FAKE_HASH
    se.assert_converged(project, a, b)


@pytest.mark.parametrize("patch", [{"name": {"x": 1}}, {"media": TRAVERSAL}])
def test_apply_of_a_crafted_patch_exits_2_and_changes_nothing(library: Library, patch: dict[str, Any],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    raw, project, _wc = seed_clip(library)
    target = project if "name" in patch else raw
    library.close()
    before = _dump(library)
    gesture = json.dumps({"kind": "revert", "target": target, "payload": {"patch": patch}})
    assert main(["--library", str(library.root), "apply", gesture]) == 2
    err = capsys.readouterr().err
    assert "patch" in err and "Traceback" not in err and "unexpected" not in err
    assert _dump(library) == before


def test_media_paths_never_leave_the_library_folder(library: Library) -> None:
    assert library.media_path(FAKE_HASH).parent == library.media_dir
    for bad in (TRAVERSAL, "..", "", FAKE_HASH.upper(), FAKE_HASH + "\n", "C:\\Windows\\x", f"{'a' * 63}/"):
        with pytest.raises(GestureError):
            library.media_path(bad)


# ------------------------------------------------------------------------------ memory
def _inflating_batch(library_uid: str, device: str) -> bytes:
    """~64 KB of gzip that inflates to nearly 64 MiB of nested empty lists."""
    head = json.dumps({"format": "reeldesk.batch", "v": 1, "library": library_uid, "device": device, "batch": 0,
                       "created_at": "x", "gestures": "@"}).encode()
    before, after = head.split(b'"@"')
    body = b"[" + b"[]," * (21 * 1024 * 1024) + b"[]]"
    return gzip.compress(before + body + after, compresslevel=9)


def test_a_small_object_that_inflates_huge_is_refused_within_bounded_memory(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    se.join(b, a)
    ea, eb = se.engine_for(a, s3_bucket), se.engine_for(b, s3_bucket)
    forger = new_uid()
    bomb = _inflating_batch(ea.library_uid, forger)
    assert len(bomb) < 256 * 1024 < MAX_BATCH_COMPRESSED
    ea.store.put(ea.layout.device_key(forger), b"{}")
    ea.store.put(ea.layout.batch_key(forger, 0), bomb)
    tracemalloc.start()
    try:
        counts = eb.pull_once()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts.quarantined == 1
    assert peak < 100 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def _inflating_snapshot(library_uid: str, one_document: bool) -> bytes:
    """~100 KB of gzip that inflates to ~64 MiB: one old-format document of nested empty lists, or a
    header and 100 gesture lines whose payloads are 200,000 empty lists each (each line within the
    per-line limits, so only reading in bounded chunks keeps memory down)."""
    header = {"format": "reeldesk.snapshot", "v": 1 if one_document else 2, "library": library_uid,
              "created_by": new_uid(), "created_at": "x", "cursors": {}}
    if one_document:
        before, after = json.dumps({**header, "gestures": "@"}).encode().split(b'"@"')
        return gzip.compress(before + b"[" + b"[]," * (21 * 1024 * 1024) + b"[]]" + after, compresslevel=9)
    lines = [json.dumps(header).encode()]
    for _ in range(100):
        g = {"op_id": new_uid(), "device_id": new_uid(), "lamport": 1, "kind": K.CREATE_PROJECT.value,
             "entity": new_uid(), "payload": "@", "base_version": 0, "undoes": None}
        lines.append(json.dumps(g).encode().replace(b'"@"', b"[" + b"[]," * 200_000 + b"[]]"))
    return gzip.compress(b"\n".join(lines) + b"\n", compresslevel=9)


@pytest.mark.parametrize("one_document", [True, False], ids=["old-format document", "gesture lines"])
def test_a_small_snapshot_that_inflates_huge_is_refused_within_bounded_memory(
        make_library: Callable[[str], Library], s3_bucket: Bucket, one_document: bool) -> None:
    a, fresh = make_library("a"), make_library("fresh")
    se.join(fresh, a)
    ea, efresh = se.engine_for(a, s3_bucket), se.engine_for(fresh, s3_bucket)
    bomb = _inflating_snapshot(ea.library_uid, one_document)
    assert len(bomb) < 256 * 1024
    key = ea.layout.snapshot_key(new_uid())
    ea.store.put(key, bomb)
    ea.store.put(ea.layout.pointer_key, encode_pointer(ea.library_uid, Pointer(key, 100, {}, new_uid(), "x")))
    tracemalloc.start()
    try:
        counts = efresh.pull_once()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts.quarantined == 1 and counts.bootstrapped == 0
    assert any("could not start from snapshot" in h for h in counts.held)
    assert peak < 100 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"
    assert not list((fresh.cache_dir / "sync").iterdir())  # the downloaded copy is gone

    def never(*_a: Any, **_kw: Any) -> None:
        raise AssertionError("a refused snapshot was fetched again")

    again = se.engine_for(fresh, s3_bucket)  # next start: the refusal is remembered
    again.store.download_file = never  # type: ignore[method-assign]  # the test's tripwire
    again.pull_once()


def test_a_huge_pointer_or_device_record_is_read_only_up_to_its_limit(library: Library, tmp_path: Path) -> None:
    """On a folder store (no in-process server to count): 128 MiB where a few KB belong."""
    store = FolderStore(tmp_path / "bucket")
    store.ensure_root()
    engine = SyncEngine(library, store)
    for key in (engine.layout.pointer_key, engine.layout.device_key(new_uid())):
        path = store.root.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(128 * 1024 * 1024)
    tracemalloc.start()
    try:
        engine.pull_once()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


@pytest.mark.parametrize("body", [b"[" + b"[]," * 300_000 + b"[]]", b"[" + b'"ab",' * 2_000_000 + b'"ab"]',
                                  b"[" * 100_000 + b"]" * 100_000])
def test_the_decoder_bounds_what_it_builds_before_parsing(body: bytes) -> None:
    uid, dev = new_uid(), new_uid()
    doc = json.dumps({"format": "reeldesk.batch", "v": 1, "library": uid, "device": dev, "batch": 0,
                      "created_at": "x", "gestures": "@"}).encode().replace(b'"@"', body)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError):
            decode_batch(gzip.compress(doc), library_uid=uid, device_id=dev, batch=0)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB"


def test_ids_and_hashes_reject_a_trailing_newline() -> None:
    from core.ids import is_media_hash, is_uid

    uid = new_uid()
    assert is_uid(uid) and not is_uid(uid + "\n") and not is_media_hash(FAKE_HASH + "\n")


def test_patches_of_every_entry_kind_the_fold_writes_are_checked_by_value() -> None:
    """Text overlays, the title card and spotlight-keyframe aliases undo through patches too:
    each entry path has a value rule (a valid value passes, a crafted one is refused)."""
    from core.gestures.patch_rules import check_entry
    from core.gestures.schema import TEXT_DEFAULTS, TITLE_DEFAULTS
    from core.ids import new_uid

    wc, rg, el, kf = new_uid(), new_uid(), new_uid(), new_uid()
    good = {
        f"text/{wc}/{rg}": {"start": 0.5, "end": 2.0},
        f"tel/{wc}/{rg}/{el}": {**TEXT_DEFAULTS, "text": "GOAL!"},
        "title": {**TITLE_DEFAULTS, "elements": [{"text": "Final"}]},
        f"rkfalias/{wc}/{rg}/{kf}": new_uid(),
    }
    for path, value in good.items():
        assert check_entry(path, value) is None, path
        assert check_entry(path, None) is None  # deleting is always allowed
    bad = {
        f"text/{wc}/{rg}": {"start": "0", "end": 2.0},
        f"tel/{wc}/{rg}/{el}": {**TEXT_DEFAULTS, "text": {"x": 1}},
        "title": {**TITLE_DEFAULTS, "duration": 1e9},
        f"rkfalias/{wc}/{rg}/{kf}": "../../etc/passwd",
    }
    for path, value in bad.items():
        assert check_entry(path, value) is not None, path
