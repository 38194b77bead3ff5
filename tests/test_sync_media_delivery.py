"""Media delivery over moto HTTP: the media of clips used in reels reaches a second device on its
own (per the media policy); a corrupted or deleted bucket copy is repaired by the device that has
the file; a device that downloads a bad object reports it once instead of fetching it forever."""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import blake3

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from sync.engine import SyncEngine
from sync.ledger import TransferStatus
from sync.media import MediaPolicy
from sync.runtime import SyncStatus, SyncThread
from tests.fixtures.library import FAKE_INFO, seed_clip
from tests.test_sync_engine import engine_for, join

Bucket = dict[str, Any]


def footage(lib: Library, size: int, seed: int, *, in_reel: bool = True) -> str:
    data = random.Random(seed).randbytes(size)
    h = blake3.blake3(data).hexdigest()
    lib.media_path(h).write_bytes(data)
    info = {**FAKE_INFO, "size_bytes": size}
    if in_reel:
        seed_clip(lib, media_hash=h, info=info)
    else:
        lib.apply(Gesture(K.IMPORT_MEDIA, h, {"info": info, "name": "raw.mp4"}))
    return h


def downloads_of(engine: SyncEngine) -> list[str]:
    """Record every media download the engine's store starts."""
    seen: list[str] = []
    real = engine.store.download_file

    def download_file(key: str, *args: Any, **kw: Any) -> Any:
        seen.append(key)
        return real(key, *args, **kw)

    engine.store.download_file = download_file  # type: ignore[method-assign]
    return seen


def test_media_of_clips_in_reels_reaches_a_second_device_by_default(make_library: Callable[[str], Library],
                                                                    s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    used = footage(a, 300_000, 1)
    unused = footage(a, 200_000, 2, in_reel=False)
    ea, eb = engine_for(a, s3_bucket), engine_for(b, s3_bucket)
    assert ea.sync_once().media_uploaded == 2
    eb.sync_once()
    assert b.media_path(used).read_bytes() == a.media_path(used).read_bytes()
    assert not b.media_path(unused).exists()  # not in any reel: fetched when an editor opens it

    eb.media.set_policy(MediaPolicy.ALL)
    eb.sync_once()
    assert b.media_path(unused).is_file()


def test_on_demand_policy_downloads_nothing_until_requested(make_library: Callable[[str], Library],
                                                            s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    used = footage(a, 100_000, 3)
    engine_for(a, s3_bucket).sync_once()
    eb = engine_for(b, s3_bucket)
    eb.media.set_policy(MediaPolicy.ON_DEMAND)
    eb.sync_once()
    assert not b.media_path(used).exists()
    eb.request_media(used)
    assert eb.media_once().media_downloaded == 1 and b.media_path(used).is_file()


def test_a_corrupted_bucket_copy_is_reported_once_and_repaired_by_the_uploader(
        make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    h = footage(a, 6 * 1024 * 1024, 4)  # two parts
    ea = engine_for(a, s3_bucket)
    ea.sync_once()
    key = ea.layout.media_key(h)
    ea.store.put(key, random.Random(9).randbytes(6 * 1024 * 1024))  # same size, wrong bytes

    eb = engine_for(b, s3_bucket)
    seen = downloads_of(eb)
    counts = eb.sync_once()
    assert counts.media_failed == 1 and not b.media_path(h).exists()
    transfer = eb.ledger.transfer(h)
    assert transfer is not None and transfer.status is TransferStatus.FAILED and "corrupt" in (transfer.error or "")
    assert eb.sync_once().media_failed == 1 and seen == [key], "a bad object is downloaded once, not every cycle"

    ea2 = engine_for(a, s3_bucket)  # the uploader checks its bucket copies (on start, then every few hours)
    assert ea2.media_once().media_uploaded == 1
    assert eb.sync_once().media_downloaded == 1
    assert b.media_path(h).read_bytes() == a.media_path(h).read_bytes()


def test_a_deleted_bucket_copy_is_uploaded_again(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    h = footage(a, 200_000, 5)
    ea = engine_for(a, s3_bucket)
    ea.sync_once()
    ea.store.delete(ea.layout.media_key(h))
    assert engine_for(a, s3_bucket).media_once().media_uploaded == 1
    engine_for(b, s3_bucket).sync_once()
    assert b.media_path(h).is_file()
    # and an intact copy is left alone: verified by a HEAD, not uploaded again
    assert engine_for(a, s3_bucket).media_once().media_uploaded == 0


def test_download_progress_reaches_the_status(make_library: Callable[[str], Library], s3_bucket: Bucket) -> None:
    a, b = make_library("a"), make_library("b")
    join(b, a)
    h = footage(a, 12 * 1024 * 1024, 6)
    engine_for(a, s3_bucket).sync_once()
    statuses: list[SyncStatus] = []
    arrived = threading.Event()

    def on_status(status: SyncStatus) -> None:
        statuses.append(status)
        if status.media_bytes_incoming == 0 and any(x.media_bytes_incoming for x in statuses):
            arrived.set()  # the download ran to its end; stop() then waits for it to be verified and moved

    thread = SyncThread(engine_for(b, s3_bucket), on_status=on_status)
    thread.start()
    try:
        assert arrived.wait(60)
    finally:
        thread.stop(5.0)
    assert b.media_path(h).is_file()
    assert any(s.media_bytes_incoming > 0 for s in statuses)
    assert "MB media to download" in next(s for s in statuses if s.media_bytes_incoming).summary()
