"""The media queue over moto HTTP: multipart resume after a SIGKILL, skip when present, download
on the other device with progress, BLAKE3 verification, "waiting for media"."""
from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import blake3
import pytest

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from sync.engine import SyncEngine
from sync.ledger import TransferStatus
from sync.media import MediaStatus, MediaVerifyError
from sync.store import MultipartState
from tests.fixtures.library import FAKE_INFO
from tests.fixtures.s3 import TEST_PART_SIZE
from tests.test_sync_crash import configure, run_child_until
from tests.test_sync_engine import engine_for, join

Bucket = dict[str, Any]


def add_media(lib: Library, data: bytes, name: str = "game.mp4") -> str:
    """Put bytes into the library's media/ folder under their BLAKE3 and record the import gesture."""
    h = blake3.blake3(data).hexdigest()
    lib.media_path(h).write_bytes(data)
    lib.apply(Gesture(K.IMPORT_MEDIA, h, {"info": {**FAKE_INFO, "size_bytes": len(data)}, "name": name}))
    return h


class PartLog:
    """Counts part uploads and whole-object PUTs of a store."""

    def __init__(self, engine: SyncEngine) -> None:
        self.parts: list[int] = []
        self.puts: list[str] = []
        store = engine.store
        real_part, real_put = store._mp_upload_part, store.put

        def part(key: str, upload_id: str, number: int, data: bytes) -> str:
            self.parts.append(number)
            return real_part(key, upload_id, number, data)

        def put(key: str, data: bytes) -> str:
            self.puts.append(key)
            return real_put(key, data)

        store._mp_upload_part = part  # type: ignore[method-assign]
        store.put = put  # type: ignore[method-assign]


def test_multipart_upload_resumes_after_kill_and_downloads_verified_elsewhere(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    configure(a, s3_bucket)
    configure(b, s3_bucket)
    data = random.Random(1).randbytes(2 * TEST_PART_SIZE + 12345)  # 3 parts
    h = add_media(a, data)
    # the child finishes part 1, persists the state, stalls on part 2 and is killed
    run_child_until("media", a, s3_bucket, stall_at=2, expect_prefix="part ")
    ea = engine_for(a, s3_bucket, max_concurrency=1)
    transfer = ea.ledger.transfer(h)
    assert transfer is not None and transfer.status is TransferStatus.ACTIVE
    state = MultipartState.from_json(transfer.state_json or "")
    assert [p.number for p in state.parts] == [1] and transfer.bytes_done == TEST_PART_SIZE
    assert ea.media_status(h) is MediaStatus.UPLOADING
    assert ea.local_status()["media_bytes_pending"] == len(data) - TEST_PART_SIZE

    log = PartLog(ea)
    counts = ea.sync_once()
    assert counts.media_uploaded == 1
    assert sorted(log.parts) == [2, 3], "the part that survived the kill is not sent again"
    assert ea.media_status(h) is MediaStatus.LOCAL
    assert ea.ledger.transfer(h).state_json is None  # type: ignore[union-attr]
    assert ea.local_status()["media_bytes_pending"] == 0

    eb = engine_for(b, s3_bucket)
    eb.sync_once()  # the import gesture arrives; the file does not come by itself
    assert b.media(h) is not None
    assert eb.media_status(h) is MediaStatus.REMOTE_ONLY
    seen: list[tuple[int, int]] = []
    path = eb.download_media(h, progress=lambda done, total: seen.append((done, total)))
    assert path == b.media_path(h) and path.read_bytes() == data
    assert seen[-1] == (len(data), len(data)) and [d for d, _t in seen] == sorted(d for d, _t in seen)
    assert eb.media_status(h) is MediaStatus.LOCAL
    assert not list((b.cache_dir / "sync-incoming").iterdir())
    assert eb.sync_once().media_uploaded == 0  # downloaded media is not uploaded back


def test_upload_skipped_when_the_object_is_present(make_library: Callable[[str], Library],
                                                             s3_bucket: Bucket) -> None:
    a, c = make_library("a"), make_library("c")
    join(c, a)
    data = b"small clip bytes " * 1000
    h = add_media(a, data)
    ea = engine_for(a, s3_bucket)
    counts = ea.sync_once()
    assert counts.pushed == 1 and counts.media_uploaded == 1
    ec = engine_for(c, s3_bucket)
    ec.sync_once()
    c.media_path(h).write_bytes(data)  # c got the same file another way (imported it too)
    log = PartLog(ec)
    assert ec.media_once().media_uploaded == 1
    assert log.parts == [] and log.puts == [], "an object already present is not uploaded again"


def test_download_refuses_bytes_that_do_not_match_the_hash(make_library: Callable[[str], Library],
                                                           s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    data = b"real footage" * 500
    h = add_media(a, data)
    ea = engine_for(a, s3_bucket)
    ea.push_once()  # gestures only: the media is not there yet
    eb = engine_for(b, s3_bucket)
    eb.sync_once()
    assert eb.request_media(h) is MediaStatus.DOWNLOADING
    assert eb.media_once().media_downloaded == 0  # not uploaded yet: waiting, not an error
    assert eb.media_status(h) is MediaStatus.REMOTE_ONLY
    assert eb.ledger.transfer(h).status is TransferStatus.WAITING  # type: ignore[union-attr]
    ea.store.put(ea.layout.media_key(h), b"tampered bytes")  # a forged object under the hash
    with pytest.raises(MediaVerifyError, match="hash mismatch"):
        eb.download_media(h)
    assert not b.media_path(h).exists()
    assert eb.media_once().media_failed == 1
    ea.store.delete(ea.layout.media_key(h))
    ea.media_once()  # the real upload
    counts = eb.media_once()  # the requested download is retried when the media lands
    assert counts.media_downloaded == 1 and b.media_path(h).read_bytes() == data


def test_media_status_of_unknown_and_missing_files(library: Library, s3_bucket: Bucket, tmp_path: Path) -> None:
    engine = engine_for(library, s3_bucket)
    assert engine.media_status("00" * 32) is MediaStatus.UNKNOWN
    h = add_media(library, b"x" * 100)
    assert engine.media_status(h) is MediaStatus.UPLOADING or engine.media_status(h) is MediaStatus.LOCAL
    engine.media.enqueue_uploads()
    assert engine.media_status(h) is MediaStatus.UPLOADING
    shutil.move(library.media_path(h), tmp_path / "moved")  # the user deleted the file before upload
    assert engine.media_once().media_uploaded == 0
    transfer = engine.ledger.transfer(h)
    assert transfer is not None and transfer.status is TransferStatus.FAILED and transfer.error
    assert engine.media_status(h) is MediaStatus.REMOTE_ONLY
    with pytest.raises(ValueError):
        engine.request_media("../../etc/passwd")
