"""RemoteStore contract, run against S3Store (real HTTP to moto) and FolderStore."""
from __future__ import annotations

import errno
import json
import logging
import os
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sync.folderstore import FolderStore
from sync.s3store import S3Store
from sync.store import (
    AlreadyExists,
    Cancelled,
    MultipartState,
    NotFound,
    PreconditionFailed,
    RemoteStore,
    StoreError,
    StoreUnavailable,
)
from tests.fixtures.s3 import TEST_PART_SIZE, FlakyProxy, endpoint_down, seed_objects

MiB = 1024 * 1024


@pytest.fixture(params=["s3", "folder"])
def store(request: pytest.FixtureRequest) -> RemoteStore:
    return request.getfixturevalue(f"{request.param}_store")  # type: ignore[no-any-return]


class PartCounter:
    """Wraps a store's part-upload primitive to count (and optionally observe) part uploads."""

    def __init__(self, store: RemoteStore) -> None:
        self.numbers: list[int] = []
        self.puts = 0
        self._lock = threading.Lock()
        inner_part, inner_put = store._mp_upload_part, store.put

        def upload_part(key: str, upload_id: str, number: int, data: bytes) -> str:
            with self._lock:
                self.numbers.append(number)
            return inner_part(key, upload_id, number, data)

        def put(key: str, data: bytes) -> str:
            with self._lock:
                self.puts += 1
            return inner_put(key, data)

        store._mp_upload_part = upload_part  # type: ignore[method-assign]
        store.put = put  # type: ignore[method-assign]


def _media(tmp_path: Path, size: int, name: str = "clip.bin") -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / name
    path.write_bytes(data)
    return path, data


# --------------------------------------------------------------------------- small objects


def test_create_only_twice_raises_already_exists(store: RemoteStore) -> None:
    store.put_create_only("log/dev1/000000000001.json.gz", b"first")
    with pytest.raises(AlreadyExists) as info:
        store.put_create_only("log/dev1/000000000001.json.gz", b"second")
    assert info.value.key == "log/dev1/000000000001.json.gz"
    assert store.get("log/dev1/000000000001.json.gz") == b"first"


def test_concurrent_create_only_has_one_winner(store: RemoteStore) -> None:
    def attempt(i: int) -> bool:
        try:
            store.put_create_only("devices/d.json", f"writer {i}".encode())
            return True
        except AlreadyExists:
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(True) == 1
    assert store.get("devices/d.json") == f"writer {results.index(True)}".encode()


def test_put_get_head_delete_roundtrip(store: RemoteStore) -> None:
    etag = store.put("renders/a.mp4", b"hello")
    assert store.get_with_etag("renders/a.mp4") == (b"hello", etag)
    info = store.head("renders/a.mp4")
    assert info is not None and (info.size, info.etag) == (5, etag)
    assert store.exists("renders/a.mp4")
    assert store.put("renders/a.mp4", b"changed") != etag

    store.delete("renders/a.mp4")
    store.delete("renders/a.mp4")  # absent: not an error, like S3
    assert store.head("renders/a.mp4") is None
    assert not store.exists("renders/a.mp4")
    with pytest.raises(NotFound):
        store.get("renders/a.mp4")


def test_put_if_match_happy_and_stale(store: RemoteStore) -> None:
    key = "snapshots/pointer.json"
    e1 = store.put_if_match(key, b"v1", None)
    with pytest.raises(PreconditionFailed):
        store.put_if_match(key, b"v1-again", None)  # create-only form
    data, seen = store.get_with_etag(key)
    assert (data, seen) == (b"v1", e1)

    e2 = store.put_if_match(key, b"v2", e1)
    assert e2 != e1
    with pytest.raises(PreconditionFailed):
        store.put_if_match(key, b"v3-from-stale-reader", e1)
    assert store.get_with_etag(key) == (b"v2", e2)

    store.delete(key)
    with pytest.raises(PreconditionFailed):
        store.put_if_match(key, b"v4", e2)  # vanished object is a failed precondition too


def test_put_if_match_races_have_one_winner(store: RemoteStore) -> None:
    key = "snapshots/pointer.json"
    base = store.put(key, b"base")

    def attempt(i: int) -> bool:
        try:
            store.put_if_match(key, f"w{i}".encode(), base)
            return True
        except PreconditionFailed:
            return False

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert results.count(True) == 1


# --------------------------------------------------------------------------- listing


def test_list_keys_lexicographic_with_prefix_and_start_after(store: RemoteStore) -> None:
    keys = ["log/a/0002", "log/a/0001", "log/a-b/0001", "log/a/0010", "log/ab", "media/x", "log/b/0001"]
    for k in keys:
        store.put(k, b"x")
    assert list(store.list_keys("log/")) == sorted(k for k in keys if k.startswith("log/"))
    assert list(store.list_keys("log/a/")) == ["log/a/0001", "log/a/0002", "log/a/0010"]
    assert list(store.list_keys("log/a/", start_after="log/a/0001")) == ["log/a/0002", "log/a/0010"]
    assert list(store.list_keys("log/a/", start_after="log/a/0010")) == []
    assert list(store.list_keys("log/a")) == ["log/a-b/0001", "log/a/0001", "log/a/0002", "log/a/0010", "log/ab"]
    assert list(store.list_keys("nothing/")) == []


def test_list_keys_paginates_past_1000(store: RemoteStore) -> None:
    keys = [f"log/dev/{i:012d}.json.gz" for i in range(1005)]
    pages: list[int] = []
    if isinstance(store, S3Store):
        seed_objects(store.bucket, keys)
        store.list_page_size = 400  # the knob: fewer keys per request, more pages
        store._client.meta.events.register("after-call.s3.ListObjectsV2", lambda **kw: pages.append(1))
    else:
        for k in keys:
            store.put(k, b"")

    assert list(store.list_keys("log/dev/")) == keys
    assert list(store.list_keys("log/dev/", start_after=keys[997])) == keys[998:]
    if isinstance(store, S3Store):
        assert len(pages) == 3 + 1  # 1005 keys / 400 per page, then one page after start_after
        store.list_page_size = 1000
        pages.clear()
        assert list(store.list_keys("log/dev/")) == keys  # server-default page size boundary
        assert len(pages) == 2


# --------------------------------------------------------------------------- media upload


def _resume_setup(store: RemoteStore, tmp_path: Path) -> tuple[Path, bytes, str]:
    path, data = _media(tmp_path, 12 * MiB + 12345)
    return path, data, "media/" + "ab" * 32


def test_multipart_interrupted_then_resumed_uploads_only_missing_parts(store: RemoteStore, tmp_path: Path) -> None:
    path, data, key = _resume_setup(store, tmp_path)
    saved = tmp_path / "upload-state.json"

    def persist(state: MultipartState) -> None:
        saved.write_text(state.to_json(), encoding="utf-8")

    # First attempt: one part at a time, cancelled once a part is recorded.
    store.max_concurrency = 1
    states: list[MultipartState] = []
    with pytest.raises(Cancelled):
        store.upload_file(
            key, path, state=None,
            on_state=lambda s: (states.append(s), persist(s)),
            cancelled=lambda: bool(states and states[-1].parts),
        )
    first = MultipartState.from_json(saved.read_text(encoding="utf-8"))
    assert [p.number for p in first.parts] == [1]
    assert first.part_size == TEST_PART_SIZE and first.size == len(data) and first.part_count == 3
    assert not store.exists(key)

    # Resume from the persisted JSON with full concurrency.
    store.max_concurrency = 3
    counter = PartCounter(store)
    seen: list[tuple[int, int]] = []
    store.upload_file(key, path, state=first, on_state=persist, progress=lambda d, t: seen.append((d, t)))
    assert sorted(counter.numbers) == [2, 3]
    assert MultipartState.from_json(saved.read_text(encoding="utf-8")).upload_id == first.upload_id
    assert seen[0] == (TEST_PART_SIZE, len(data)) and seen[-1] == (len(data), len(data))

    dest = tmp_path / "back.bin"
    store.download_file(key, dest)
    assert dest.read_bytes() == data


def test_resume_trusts_parts_the_store_holds_but_state_missed(store: RemoteStore, tmp_path: Path) -> None:
    """Crash after a part finished but before the caller persisted the new state."""
    path, data, key = _resume_setup(store, tmp_path)
    store.max_concurrency = 1
    states: list[MultipartState] = []
    with pytest.raises(Cancelled):
        store.upload_file(key, path, state=None, on_state=states.append,
                          cancelled=lambda: bool(states and states[-1].parts))
    persisted = states[0]  # the snapshot taken right after create: no parts
    assert persisted.parts == []

    store.max_concurrency = 3
    counter = PartCounter(store)
    store.upload_file(key, path, state=persisted, on_state=lambda s: None)
    assert sorted(counter.numbers) == [2, 3]
    assert store.get(key) == data


def test_resume_starts_over_when_upload_id_vanished(store: RemoteStore, tmp_path: Path) -> None:
    path, data, key = _resume_setup(store, tmp_path)
    store.max_concurrency = 1
    states: list[MultipartState] = []
    with pytest.raises(Cancelled):
        store.upload_file(key, path, state=None, on_state=states.append,
                          cancelled=lambda: bool(states and states[-1].parts))
    old = states[-1]
    store.abort_upload(old)  # e.g. a lifecycle rule expired it

    store.max_concurrency = 3
    counter = PartCounter(store)
    fresh: list[MultipartState] = []
    store.upload_file(key, path, state=old, on_state=fresh.append)
    assert sorted(counter.numbers) == [1, 2, 3]
    assert fresh[0].upload_id != old.upload_id and fresh[0].parts == []
    assert store.get(key) == data


def test_upload_skipped_when_object_of_same_size_present(store: RemoteStore, tmp_path: Path) -> None:
    path, data = _media(tmp_path, TEST_PART_SIZE + 10)
    key = "media/" + "cd" * 32
    store.upload_file(key, path, state=None, on_state=lambda s: None)
    counter = PartCounter(store)
    seen: list[tuple[int, int]] = []
    states: list[MultipartState] = []
    store.upload_file(key, path, state=None, on_state=states.append, progress=lambda d, t: seen.append((d, t)))
    assert counter.numbers == [] and counter.puts == 0 and states == []
    assert seen == [(len(data), len(data))]


def test_small_file_goes_in_one_put(store: RemoteStore, tmp_path: Path) -> None:
    path, data = _media(tmp_path, 1000, name="petit fichier é.bin")
    counter = PartCounter(store)
    states: list[MultipartState] = []
    store.upload_file("media/small", path, state=None, on_state=states.append)
    assert counter.puts == 1 and counter.numbers == [] and states == []
    assert store.get("media/small") == data


def test_download_to_non_ascii_path(store: RemoteStore, tmp_path: Path) -> None:
    store.put("renders/job.mp4", b"\x00video\xff" * 1000)
    dest = tmp_path / "Résumé 🎬 клип" / "ハイライト.mp4"
    seen: list[tuple[int, int]] = []
    store.download_file("renders/job.mp4", dest, progress=lambda d, t: seen.append((d, t)))
    assert dest.read_bytes() == b"\x00video\xff" * 1000
    assert seen[-1] == (7000, 7000)
    assert [p.name for p in dest.parent.iterdir()] == [dest.name]  # no temp left behind


def test_download_failures_leave_destination_untouched(store: RemoteStore, tmp_path: Path) -> None:
    dest = tmp_path / "out.bin"
    dest.write_bytes(b"old")
    with pytest.raises(NotFound):
        store.download_file("renders/missing.mp4", dest)
    store.put("renders/big.mp4", os.urandom(3 * MiB))
    with pytest.raises(Cancelled):
        store.download_file("renders/big.mp4", dest, cancelled=lambda: True)
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("remote")) == ["out.bin"]


def test_presign_get_serves_content(store: RemoteStore) -> None:
    store.put("renders/r.mp4", b"rendered")
    url = store.presign_get("renders/r.mp4", 300)
    with urllib.request.urlopen(url, timeout=5) as resp:  # 127.0.0.1 or file://
        assert resp.read() == b"rendered"


def test_presign_put_accepts_upload(s3_store: S3Store, folder_store: FolderStore) -> None:
    url = s3_store.presign_put("renders/up.mp4", 300)
    req = urllib.request.Request(
        url, data=b"from modal", method="PUT", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(req, timeout=5):
        pass
    assert s3_store.get("renders/up.mp4") == b"from modal"
    assert folder_store.presign_put("renders/up.mp4", 300).startswith("file://")


# --------------------------------------------------------------------------- outages


@pytest.mark.parametrize("mode", ["refuse", "reset", "hang"])
def test_endpoint_down_raises_store_unavailable_quickly(
    flaky_s3_store: S3Store, flaky_proxy: FlakyProxy, mode: Any
) -> None:
    store = flaky_s3_store
    store.put("log/d/1", b"kept")  # also leaves a pooled keep-alive connection behind
    ops: list[Callable[[], object]] = [lambda: store.get("log/d/1"), lambda: store.put_create_only("log/d/2", b"x")]
    if mode == "hang":
        ops = ops[:1]  # each hung op costs (retries + 1) x read_timeout (PUT: + 1 s Expect wait)
    with endpoint_down(flaky_proxy, mode):
        for op in ops:
            t0 = time.monotonic()
            with pytest.raises(StoreUnavailable):
                op()
            assert time.monotonic() - t0 < 5
    assert store.get("log/d/1") == b"kept"  # moto kept its data through the outage
    store.put_create_only("log/d/2", b"x")


def test_folder_root_unavailable_raises_store_unavailable(folder_store: FolderStore) -> None:
    folder_store.put("log/d/1", b"kept")
    away = folder_store.root.with_name("unmounted")
    os.replace(folder_store.root, away)  # like a share that dropped off
    try:
        for op in (lambda: folder_store.get("log/d/1"), lambda: folder_store.put("log/d/2", b"x"),
                   lambda: folder_store.head("log/d/1"), lambda: list(folder_store.list_keys("log/"))):
            with pytest.raises(StoreUnavailable):
                op()
        assert not folder_store.root.exists()  # writes did not recreate the mount point
    finally:
        os.replace(away, folder_store.root)
    assert folder_store.get("log/d/1") == b"kept"


# --------------------------------------------------------------------------- secrets


def test_secret_never_in_repr_str_logs_or_errors(
    s3_bucket: dict[str, Any], s3_store: S3Store, flaky_s3_store: S3Store, flaky_proxy: FlakyProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = s3_bucket["secret"]
    caplog.set_level(logging.DEBUG)  # botocore included
    texts = [repr(s3_store), str(s3_store), repr(vars(s3_store)), repr(flaky_s3_store)]

    with pytest.raises(NotFound) as nf:
        s3_store.get("missing")
    texts.append(str(nf.value))
    with endpoint_down(flaky_proxy, "refuse"), pytest.raises(StoreUnavailable) as down:
        flaky_s3_store.get("x")
    texts.append(str(down.value))
    # moto accepts any secret, so feed our translator an auth failure that echoes the secret.
    echo = ClientError(
        {"Error": {"Code": "SignatureDoesNotMatch", "Message": f"bad signature for {secret}"},
         "ResponseMetadata": {"HTTPStatusCode": 403}},
        "GetObject",
    )
    texts.append(str(s3_store._translate(echo, "get_object", "k")))
    weird = ClientError({"Error": {"Code": secret, "Message": secret}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                        "GetObject")
    err = s3_store._translate(weird, "get_object", "k")
    texts += [str(err), repr(err)]
    texts += [r.getMessage() for r in caplog.records]

    assert all(secret not in t for t in texts)
    assert down.value.__cause__ is None and down.value.__suppress_context__  # no botocore text chained
    assert type(s3_store._translate(echo, "get_object", "k")).__name__ == "AccessDenied"


# --------------------------------------------------------------------------- folder specifics


def test_folder_create_only_without_hard_links(folder_store: FolderStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    folder_store.put_create_only("log/d/1", b"one")
    with pytest.raises(AlreadyExists):
        folder_store.put_create_only("log/d/1", b"two")
    assert folder_store.get("log/d/1") == b"one"
    assert list((folder_store.root / ".tmp").iterdir()) == []


def test_folder_breaks_stale_lock(folder_store: FolderStore) -> None:
    etag = folder_store.put("snapshots/pointer.json", b"v1")
    folder_store.lock_timeout_s = 0.2
    from sync.folderstore import etag_of

    lock = folder_store.root / ".locks" / f"{etag_of(b'snapshots/pointer.json')}.lock"
    lock.write_text("4242\n")
    with pytest.raises(StoreUnavailable):
        folder_store.put_if_match("snapshots/pointer.json", b"v2", etag)  # live lock: wait, give up
    old = time.time() - 3600
    os.utime(lock, (old, old))  # holder crashed an hour ago
    folder_store.put_if_match("snapshots/pointer.json", b"v2", etag)
    assert not lock.exists()


def test_folder_rejects_unportable_keys(folder_store: FolderStore) -> None:
    for bad in ["", "/abs", "a//b", "../up", ".uploads/x", "a/.hidden", "con", "a/b:c", "trail.", "a\\b"]:
        with pytest.raises(ValueError):
            folder_store.put(bad, b"x")


def test_s3_keys_are_relative_to_prefix(s3_bucket: dict[str, Any], s3_store: S3Store) -> None:
    scoped = S3Store(s3_bucket["endpoint_url"], s3_bucket["bucket"], s3_bucket["key_id"], s3_bucket["secret"],
                     prefix="libraries/lib1/")
    scoped.put("log/d/1", b"x")
    assert list(scoped.list_keys("log/")) == ["log/d/1"]
    assert list(s3_store.list_keys("")) == ["libraries/lib1/log/d/1"]
    assert list(scoped.list_keys("", start_after="log/d/1")) == []


def test_multipart_state_json_roundtrip() -> None:
    from sync.store import CompletedPart

    state = MultipartState(key="media/x", upload_id="u", part_size=5 * MiB, size=12 * MiB,
                           parts=[CompletedPart(1, "e1"), CompletedPart(3, "e3")])
    assert MultipartState.from_json(json.dumps(json.loads(state.to_json()))) == state
    assert state.part_count == 3 and state.part_length(3) == 2 * MiB


def test_store_errors_share_a_base() -> None:
    for cls in (NotFound, AlreadyExists, PreconditionFailed, StoreUnavailable, Cancelled):
        assert issubclass(cls, StoreError)
