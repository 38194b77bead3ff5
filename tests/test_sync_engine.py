"""SyncEngine against a real HTTP S3 endpoint (moto over the wire): convergence of 2-3 devices,
outages mid-push, the 412 ack and device-id clash paths, quarantine of forged objects, gaps,
snapshots, bootstrap and the restore drill."""
from __future__ import annotations

import gzip
import json
import random
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture, GestureError
from core.ids import new_uid
from core.library import Library
from sync import codec
from sync.codec import FormatError, Pointer, decode_batch, encode_batch, encode_pointer, gzip_json
from sync.credentials import RemoteConfig, RemoteKind
from sync.engine import SyncEngine
from sync.layout import Layout
from sync.remote import configure_remote
from sync.s3store import S3Store
from sync.store import AlreadyExists, RemoteStore, StoreUnavailable
from tests.fixtures.library import seed_clip
from tests.fixtures.s3 import FlakyProxy, _s3_store

Bucket = dict[str, Any]


# ------------------------------------------------------------------------------ helpers
def store_for(bucket: Bucket, **kw: Any) -> S3Store:
    return _s3_store(bucket, bucket["endpoint_url"], **kw)


def join(lib: Library, first: Library) -> None:
    """Point `lib` at `first`'s library uid (what `remote set` does on a second machine)."""
    lib.set_setting("library_uid", first.get_setting("library_uid"))


def engine_for(lib: Library, bucket: Bucket, **kw: Any) -> SyncEngine:
    store_kw = {k: kw.pop(k) for k in list(kw) if k in ("max_concurrency", "part_size")}
    return SyncEngine(lib, store_for(bucket, **store_kw), **kw)


def rounds(*engines: SyncEngine, n: int = 2) -> None:
    for _ in range(n):
        for e in engines:
            e.sync_once()


def log_objects(store: RemoteStore, layout: Layout) -> dict[str, list[dict[str, Any]]]:
    """Every batch object in the bucket, decoded."""
    out = {}
    for key in store.list_keys(layout.log_prefix):
        device, batch = layout.parse_batch_key(key)  # type: ignore[misc]
        out[key] = decode_batch(store.get(key), library_uid=layout.library_uid, device_id=device, batch=batch)
    return out


def edit(lib: Library, project: str, wc: str, rnd: random.Random, n: int) -> None:
    """`n` varied framing gestures (keyframes, rotation, splits, speeds, regions, undo)."""
    for _ in range(n):
        doc = lib.show_project(project)
        clip = next((c for c in doc["clips"] if c["uid"] == wc), None)
        kfs = clip["edit"]["crop_keyframes"] if clip else []
        choice = rnd.choice(["kf", "kf", "update_kf", "rotation", "split", "speed", "region", "style", "undo",
                             "rename"])
        if choice == "undo":
            lib.undo(project)
            continue
        if choice == "rename":
            g = Gesture(K.RENAME_PROJECT, project, {"name": rnd.choice(["Finale", "Semis", "Reel"])})
        elif choice == "update_kf" and kfs:
            g = Gesture(K.UPDATE_CROP_KEYFRAME, wc, {"keyframe": rnd.choice(kfs)["uid"], "x": rnd.choice([1.0, 70.0])})
        elif choice == "rotation":
            g = Gesture(K.SET_ROTATION, wc, {"degrees": rnd.choice([-5.0, 0.0, 3.5, 12.0])})
        elif choice == "split":
            g = Gesture(K.SPLIT, wc, {"time": rnd.choice([0.7, 1.5, 2.2, 3.3])})
        elif choice == "speed":
            g = Gesture(K.SET_SEGMENT_SPEED, wc, {"time": rnd.choice([0.2, 2.5]), "speed": rnd.choice([0.5, 2.0])})
        elif choice == "region":
            g = Gesture(K.ADD_REGION, wc, {"start": 0.5, "end": 4.0, "x": 900.0, "y": 500.0, "rx": 40.0, "ry": 80.0})
        elif choice == "style":
            g = Gesture(K.SET_OVERLAY_STYLE, wc, {"dim": rnd.choice([0.2, 0.8])})
        else:
            g = Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": rnd.choice([0.0, 1.0, 2.0, 4.5]),
                                                 "x": rnd.choice([0.0, 100.0]), "y": 0.0, "width": 607.5,
                                                 "height": 1080.0})
        lib.apply(g)


def all_op_ids(lib: Library) -> set[str]:
    return {g.op_id for g in lib.gestures()}


def assert_converged(project: str, *libs: Library) -> None:
    docs = [lib.project_json(project) for lib in libs]
    assert all(d == docs[0] for d in docs[1:])
    ops = [all_op_ids(lib) for lib in libs]
    assert all(o == ops[0] for o in ops[1:])
    conflicts = [sorted(lib.conflicts(), key=lambda c: (c["loser_op_id"], c["path"])) for lib in libs]
    assert all(c == conflicts[0] for c in conflicts[1:])


def wire_like(template: dict[str, Any], device: str, lamport: int = 1) -> dict[str, Any]:
    """A copy of a real create_project wire gesture re-signed as another device's."""
    return {**template, "op_id": new_uid(), "device_id": device, "entity": new_uid(), "lamport": lamport}


# ------------------------------------------------------------------------------ convergence
@pytest.mark.parametrize("n_devices", [2, 3])
def test_devices_editing_one_project_concurrently_converge(make_library: Callable[[str], Library],
                                                           s3_bucket: Bucket, n_devices: int) -> None:
    libs = [make_library(f"d{i}") for i in range(n_devices)]
    for lib in libs[1:]:
        join(lib, libs[0])
    engines = [engine_for(lib, s3_bucket, batch_size=7) for lib in libs]
    _raw, project, wc = seed_clip(libs[0])
    rounds(*engines, n=1)
    rnd = random.Random(n_devices)
    for _step in range(3):
        for lib in libs:  # everyone edits the same clip without seeing the others' latest edits
            edit(lib, project, wc, rnd, 12)
        # everybody keyframes the same keyframe: guaranteed overlapping concurrent edits
        for i, lib in enumerate(libs):
            kfs = lib.show_project(project)["clips"][0]["edit"]["crop_keyframes"]
            if kfs:
                lib.apply(Gesture(K.UPDATE_CROP_KEYFRAME, wc, {"keyframe": kfs[0]["uid"], "x": 10.0 * (i + 1)}))
        for e in rnd.sample(engines, len(engines)):
            e.sync_once()
    rounds(*engines, n=2)
    assert_converged(project, *libs)
    assert libs[0].conflicts(), "concurrent edits of one keyframe must be listed as conflicts"
    for lib in libs:
        assert lib.pending_count() == 0
    # every gesture is in the bucket exactly once
    objects = log_objects(engines[0].store, engines[0].layout)
    ops = Counter(g["op_id"] for gs in objects.values() for g in gs)
    assert set(ops) == all_op_ids(libs[0]) and max(ops.values()) == 1
    assert all(len(gs) <= 7 for gs in objects.values())


def test_push_batches_up_to_batch_size_and_registers_device(library: Library, s3_bucket: Bucket) -> None:
    _raw, _project, wc = seed_clip(library)
    for i in range(1196):
        library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": float(i % 20)}))
    engine = engine_for(library, s3_bucket)
    counts = engine.push_once()
    assert (counts.pushed, counts.batches_pushed) == (1200, 3)
    keys = list(engine.store.list_keys(engine.layout.log_prefix))
    assert keys == [engine.layout.batch_key(library.device_id, n) for n in range(3)]
    assert [len(v) for v in log_objects(engine.store, engine.layout).values()] == [500, 500, 200]
    record = json.loads(engine.store.get(engine.layout.device_key(library.device_id)))
    assert record["device"] == library.device_id and record["name"]
    assert library.pending_count() == 0
    assert engine.push_once().pushed == 0  # nothing left: no request for an empty batch


# ------------------------------------------------------------------------------ outages and crashes
def test_endpoint_down_mid_push_loses_and_duplicates_nothing(make_library: Callable[[str], Library], s3_bucket: Bucket,
                                                              flaky_s3_store: S3Store, flaky_proxy: FlakyProxy) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    _raw, project, wc = seed_clip(a)
    edit(a, project, wc, random.Random(1), 120)
    engine = SyncEngine(a, flaky_s3_store, batch_size=10)
    real_put = flaky_s3_store.put_create_only
    calls = {"n": 0}

    def put_then_fail(key: str, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            flaky_proxy.set_down("reset")  # the endpoint dies during this request
        real_put(key, data)

    flaky_s3_store.put_create_only = put_then_fail  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        engine.push_once()
    assert 0 < a.pending_count() < len(all_op_ids(a))
    with pytest.raises(StoreUnavailable):  # still down: nothing moves
        engine.push_once()
    flaky_proxy.set_up()
    engine.push_once()
    assert a.pending_count() == 0
    objects = log_objects(engine.store, engine.layout)
    ops = Counter(g["op_id"] for gs in objects.values() for g in gs)
    assert set(ops) == all_op_ids(a) and max(ops.values()) == 1
    assert len(objects) == -(-len(ops) // 10)
    engine_for(b, s3_bucket).sync_once()
    assert_converged(project, a, b)


def test_lost_ack_is_acknowledged_from_the_existing_object(make_library: Callable[[str], Library],
                                                           s3_bucket: Bucket) -> None:
    """The PUT landed but the answer was lost (crash or timeout): the retry meets a 412 and acks."""
    a = make_library("a")
    _raw, _project, wc = seed_clip(a)
    store = store_for(s3_bucket)
    engine = SyncEngine(a, store, batch_size=3)
    real_put = store.put_create_only
    state = {"drop": True}

    def put_lose_answer(key: str, data: bytes) -> None:
        real_put(key, data)
        if state["drop"] and "/log/" in key:
            state["drop"] = False
            raise StoreUnavailable("put_object: endpoint unreachable (simulated lost response)")

    store.put_create_only = put_lose_answer  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        engine.push_once()
    assert a.pending_count() == 4  # not acked: the PUT's answer never came
    a.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 4.0}))  # more edits meanwhile: the batch is a prefix
    counts = engine.push_once()
    assert counts.acked == 1 and a.pending_count() == 0
    objects = log_objects(store, engine.layout)
    ops = Counter(g["op_id"] for gs in objects.values() for g in gs)
    assert set(ops) == all_op_ids(a) and max(ops.values()) == 1


# ------------------------------------------------------------------------------ quarantine
def _put(store: RemoteStore, key: str, data: bytes) -> None:
    store.put(key, data)


def test_forged_and_malformed_batches_are_quarantined_and_others_keep_syncing(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b, f = make_library("a"), make_library("b"), make_library("f")
    join(b, a)
    _raw, project, _wc = seed_clip(a)
    template = f.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Forged"})) and f.gestures()[0].to_wire()
    store = store_for(s3_bucket)
    layout = Layout(a.get_setting("library_uid"))
    uid = layout.library_uid

    def batch_doc(device: str, n: int, gestures: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
        doc = {"format": "reeldesk.batch", "v": 1, "library": uid, "device": device, "batch": n,
               "created_at": "2026-01-01T00:00:00+00:00", "gestures": gestures}
        doc.update(over)
        return doc

    bad: dict[str, Callable[[str], bytes]] = {
        "bad gzip": lambda d: b"this is not gzip at all",
        "truncated gzip": lambda d: gzip_json(batch_doc(d, 0, [wire_like(template, d)]))[:-9],
        "bad json": lambda d: gzip.compress(b'{"format": "reeldesk.batch", '),
        "unknown kind": lambda d: gzip_json(batch_doc(d, 0, [{**wire_like(template, d), "kind": "teleport"}])),
        "nan": lambda d: gzip.compress(json.dumps(batch_doc(d, 0, [{**wire_like(template, d),
                                                                    "lamport": float("nan")}])).encode()),
        "wrong device id": lambda d: gzip_json(batch_doc(new_uid(), 0, [wire_like(template, d)])),
        "wrong batch number": lambda d: gzip_json(batch_doc(d, 7, [wire_like(template, d)])),
        "invalid payload": lambda d: gzip_json(batch_doc(d, 0, [{**wire_like(template, d), "payload": {"name": 5}}])),
        "gzip bomb": lambda d: gzip.compress(b" " * (65 * 1024 * 1024), compresslevel=9),
        "oversized": lambda d: random.Random(0).randbytes(8 * 1024 * 1024 + 1),
        "newer format": lambda d: gzip_json(batch_doc(d, 0, [wire_like(template, d)], v=99)),
    }
    forged: dict[str, str] = {}
    for reason, make in bad.items():
        device = new_uid()
        forged[reason] = device
        _put(store, layout.device_key(device), b"{}")
        _put(store, layout.batch_key(device, 0), make(device))
        # the device's next batch is fine, but it waits behind the quarantined one (never skipped)
        _put(store, layout.batch_key(device, 1), encode_batch(uid, device, 1, [wire_like(template, device, 2)]))
    stray = layout.log_prefix + forged["bad gzip"] + "/0-notes.txt"  # not a batch name (sorts first)
    _put(store, stray, b"hello")

    engine_a = engine_for(a, s3_bucket)
    engine_a.push_once()
    engine_b = engine_for(b, s3_bucket)
    counts = engine_b.sync_once()
    assert b.project_json(project) == a.project_json(project)  # the honest device synced
    quarantined = {q["key"]: q for q in engine_b.ledger.quarantined()}
    assert counts.quarantined == len(bad) + 1 == len(quarantined) and stray in quarantined
    for device in forged.values():
        q = quarantined[layout.batch_key(device, 0)]
        assert q["device_id"] == device and q["batch"] == 0 and q["reason"]
    assert "too large" in quarantined[layout.batch_key(forged["oversized"], 0)]["reason"]
    assert "too large" in quarantined[layout.batch_key(forged["gzip bomb"], 0)]["reason"]
    assert "newer" in quarantined[layout.batch_key(forged["newer format"], 0)]["reason"]
    # batch 1 of every forged device waits: its device's cursor stays before the quarantined batch
    assert [p["name"] for p in b.projects()].count("Forged") == 0
    assert len(counts.held) == len(bad) and all("quarantined" in h for h in counts.held)
    assert all(engine_b.ledger.cursors().get(d) is None for d in forged.values())
    assert engine_b.local_status()["quarantined"] == len(bad) + 1
    # nothing half-applied: no gesture of any bad batch 0 is in the log
    assert all(g.device_id in forged.values() for g in b.gestures() if g.kind is K.CREATE_PROJECT
               and g.device_id != a.device_id)
    fetched: list[str] = []
    real_get = engine_b.store.get
    engine_b.store.get = lambda key, *a: fetched.append(key) or real_get(key, *a)  # type: ignore[method-assign]
    again = engine_b.sync_once()  # stable: nothing re-quarantined, nothing re-applied, nothing refetched
    assert again.quarantined == 0 and again.pulled == 0 and fetched == []


def test_a_quarantined_batch_that_becomes_valid_is_merged_later(make_library: Callable[[str], Library],
                                                                s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    seed_clip(a)
    template = a.gestures()[2].to_wire()  # create_project
    store = store_for(s3_bucket)
    layout = Layout(a.get_setting("library_uid"))
    device = new_uid()
    _put(store, layout.device_key(device), b"{}")
    key = layout.batch_key(device, 0)
    good = encode_batch(layout.library_uid, device, 0, [wire_like(template, device)])
    _put(store, key, gzip_json({"format": "reeldesk.batch", "v": 2}))
    engine_for(b, s3_bucket).sync_once()
    assert [q["key"] for q in SyncEngine(b, store).ledger.quarantined()] == [key]
    _put(store, key, good)  # stands in for an upgrade that can read it
    assert engine_for(b, s3_bucket).sync_once().pulled == 0  # the same build never fetches it again
    b.set_setting("sync.quarantine_build", "an older build")
    counts = engine_for(b, s3_bucket).sync_once()
    assert counts.unquarantined == 1 and counts.pulled == 1
    assert SyncEngine(b, store).ledger.quarantined() == []


def test_a_gap_in_batch_numbers_holds_that_device_until_it_fills(make_library: Callable[[str], Library],
                                                                 s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    _raw, project, _wc = seed_clip(a)
    engine_a = engine_for(a, s3_bucket, batch_size=2)
    engine_a.push_once()  # batches 0, 1
    store = engine_a.store
    layout = engine_a.layout
    hidden = store.get(layout.batch_key(a.device_id, 0))
    store.delete(layout.batch_key(a.device_id, 0))
    engine_b = engine_for(b, s3_bucket)
    counts = engine_b.sync_once()
    assert counts.pulled == 0 and counts.quarantined == 0
    assert any("waiting for batch 0" in h for h in counts.held)
    _put(store, layout.batch_key(a.device_id, 0), hidden)
    counts = engine_b.sync_once()
    assert counts.held == [] and counts.pulled == 4
    assert b.project_json(project) == a.project_json(project)


# ------------------------------------------------------------------------------ snapshots, bootstrap, restore
def test_new_device_bootstraps_from_snapshot_and_continues_with_the_log(make_library: Callable[[str], Library],
                                                                        s3_bucket: Bucket) -> None:
    a, b, c = make_library("a"), make_library("b"), make_library("c")
    join(b, a)
    join(c, a)
    _raw, project, wc = seed_clip(a)
    ea = engine_for(a, s3_bucket, batch_size=20, snapshot_every=50)
    eb = engine_for(b, s3_bucket, batch_size=20, snapshot_every=10_000)
    edit(a, project, wc, random.Random(5), 40)
    rounds(ea, eb, n=1)
    edit(b, project, wc, random.Random(6), 20)
    rounds(eb, ea, n=1)
    counts = ea.sync_once()
    pointer = json.loads(ea.store.get(ea.layout.pointer_key))
    assert pointer["gesture_count"] >= 50 and set(pointer["cursors"]) == {a.device_id, b.device_id}
    assert counts.snapshot is None or counts.snapshot == pointer["key"]
    edit(a, project, wc, random.Random(7), 15)  # after the snapshot: only in the log
    ea.sync_once()

    fetched: list[str] = []
    store_c = store_for(s3_bucket)
    real_get = store_c.get

    def counting_get(key: str, limit: int | None = None) -> bytes:
        fetched.append(key)
        return real_get(key, limit)

    store_c.get = counting_get  # type: ignore[method-assign]
    ec = SyncEngine(c, store_c)
    counts = ec.sync_once()
    assert counts.bootstrapped == pointer["gesture_count"]
    assert_converged(project, a, c)
    batches = [k for k in fetched if "/log/" in k]
    assert len(batches) == 1, "only the batch written after the snapshot is fetched"  # 15 gestures < 20
    # the snapshot pointer only moves forward; a second writer with fewer gestures does not clobber it
    assert eb.snapshot_once() is None
    assert json.loads(eb.store.get(eb.layout.pointer_key))["key"] == pointer["key"]


def test_a_snapshot_in_the_format_of_an_earlier_build_still_bootstraps(make_library: Callable[[str], Library],
                                                                       s3_bucket: Bucket) -> None:
    a, fresh = make_library("a"), make_library("fresh")
    join(fresh, a)
    _raw, project, _wc = seed_clip(a)
    ea = engine_for(a, s3_bucket)
    ea.push_once()
    wire = [g.to_wire() for g in a.gestures()]
    doc = {"format": "reeldesk.snapshot", "v": 1, "library": ea.library_uid, "created_by": a.device_id,
           "created_at": "x", "cursors": {a.device_id: 0}, "gestures": wire}
    key = ea.layout.snapshot_key(new_uid())
    ea.store.put(key, gzip_json(doc))
    ea.store.put(ea.layout.pointer_key, encode_pointer(ea.library_uid, Pointer(key, len(wire), {a.device_id: 0},
                                                                                a.device_id, "x")))
    counts = engine_for(fresh, s3_bucket).pull_once()
    assert counts.bootstrapped == len(wire) and counts.pulled == 0  # batch 0 is covered by the snapshot
    assert_converged(project, a, fresh)


def test_snapshot_chunks_stay_within_the_batch_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "MAX_BATCH_GESTURES", 3)
    uid, dev = new_uid(), new_uid()
    gestures = [{"op_id": new_uid(), "device_id": dev, "lamport": n, "kind": "create_project", "entity": new_uid(),
                 "payload": {"name": f"P{n}"}, "base_version": 0, "undoes": None} for n in range(1, 9)]
    path = tmp_path / "s.json.gz"
    path.write_bytes(codec.encode_snapshot(uid, dev, {dev: 4}, gestures))
    with codec.SnapshotReader(path, library_uid=uid) as snap:
        assert snap.cursors == {dev: 4} and snap.created_by == dev
        chunks = list(snap.chunks())
    assert [len(c) for c in chunks] == [3, 3, 2] and [g for c in chunks for g in c] == gestures


def test_snapshot_pointer_race_never_clobbers(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    seed_clip(a)
    ea, eb = engine_for(a, s3_bucket), engine_for(b, s3_bucket)
    rounds(ea, eb)
    # both read the (absent) pointer, then b wins the CAS: a's put_if_match must fail, not overwrite
    real = ea.store.put_if_match

    def b_first(key: str, data: bytes, etag: str | None) -> str:
        eb.snapshot_once(force=True)
        return real(key, data, etag)

    ea.store.put_if_match = b_first  # type: ignore[method-assign]
    assert ea.snapshot_once(force=True) is None
    pointer = json.loads(eb.store.get(eb.layout.pointer_key))
    assert pointer["created_by"] == b.device_id
    snaps = [k for k in eb.store.list_keys(eb.layout.snapshots_prefix) if k.endswith(".gz")]
    assert snaps == [pointer["key"]], "the loser's snapshot object is removed"


def test_restore_drill_delete_restore_keep_editing(make_library: Callable[[str], Library], s3_bucket: Bucket,
                                                   tmp_path: Path) -> None:
    a, c = make_library("a"), make_library("c")
    join(c, a)
    _raw, project, wc = seed_clip(a)
    edit(a, project, wc, random.Random(9), 30)
    ea = engine_for(a, s3_bucket, snapshot_every=20)
    ea.sync_once()
    edit(a, project, wc, random.Random(10), 5)
    ea.sync_once()  # some gestures after the snapshot
    before = a.project_json(project)
    old_device, root = a.device_id, a.root
    a.close()
    shutil.rmtree(root)  # the laptop's library is gone

    restored = Library(root)
    try:
        assert restored.device_id != old_device  # see sync.engine: a restored library never reuses an id
        config = RemoteConfig(RemoteKind.S3, endpoint=s3_bucket["endpoint_url"], bucket=s3_bucket["bucket"],
                              key_id=s3_bucket["key_id"])
        result = configure_remote(restored, config, secret=s3_bucket["secret"])
        assert result.joined
        er = SyncEngine(restored, store_for(s3_bucket))
        counts = er.sync_once()
        assert counts.bootstrapped > 0
        assert restored.project_json(project) == before
        edit(restored, project, wc, random.Random(11), 10)  # keep editing
        er.sync_once()
        keys = list(er.store.list_keys(er.layout.device_log_prefix(restored.device_id)))
        assert keys and keys[0].endswith("000000000000.json.gz")  # its own numbering, from 0
        ec = engine_for(c, s3_bucket)
        ec.sync_once()
        assert_converged(project, restored, c)
    finally:
        restored.close()


# ------------------------------------------------------------------------------ codec details
def test_decode_batch_rejects_duplicate_keys_and_extra_fields() -> None:
    uid, dev = new_uid(), new_uid()
    raw = (f'{{"format":"reeldesk.batch","v":1,"v":1,"library":"{uid}","device":"{dev}","batch":0,'
           '"created_at":"x","gestures":[]}').encode()
    with pytest.raises(FormatError, match="duplicate"):
        decode_batch(gzip.compress(raw), library_uid=uid, device_id=dev, batch=0)
    doc = {"format": "reeldesk.batch", "v": 1, "library": uid, "device": dev, "batch": 0, "created_at": "x",
           "gestures": [], "extra": 1}
    with pytest.raises(FormatError, match="unexpected"):
        decode_batch(gzip_json(doc), library_uid=uid, device_id=dev, batch=0)
    with pytest.raises(FormatError, match="another library"):
        decode_batch(encode_batch(new_uid(), dev, 0, []), library_uid=uid, device_id=dev, batch=0)


def test_engine_refuses_to_apply_its_own_gestures_from_a_clone(make_library: Callable[[str], Library],
                                                               s3_bucket: Bucket) -> None:
    """A device never pulls its own log folder (a clone's batches would otherwise loop back)."""
    a = make_library("a")
    seed_clip(a)
    ea = engine_for(a, s3_bucket)
    ea.push_once()
    assert ea.pull_once().pulled == 0
    with pytest.raises(AlreadyExists):
        ea.store.put_create_only(ea.layout.batch_key(a.device_id, 0), b"x")
    with pytest.raises(GestureError):
        a.merge_remote([{"kind": "nope"}])
