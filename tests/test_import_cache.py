"""Background thumbnail / waveform cache: made after import without blocking it, regenerated when missing."""
from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from core.library import Library
from core.media import cache as cache_module
from core.media.cache import CacheEvent, CacheStage, CacheWorker
from core.media.importer import ImportService, ImportStatus
from core.media.thumbnails import load_strip, thumbnail_strip_path
from core.media.waveform import load_peaks, peaks_path
from tests.fixtures.media import make_video
from tests.waiting import wait_until

WAIT = 30.0


class Events:
    def __init__(self) -> None:
        self.items: list[CacheEvent] = []
        self.lock = threading.Lock()

    def __call__(self, event: CacheEvent) -> None:
        with self.lock:
            self.items.append(event)

    def stages(self, media: str) -> list[CacheStage]:
        with self.lock:
            return [e.stage for e in self.items if e.media == media]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def worker(library: Library, events: Events) -> Iterator[CacheWorker]:
    w = CacheWorker.for_library(library, on_event=events)
    yield w
    w.stop()


def strip(lib: Library, media: str) -> list[Path] | None:
    return load_strip(thumbnail_strip_path(lib.cache_dir, media), every_s=2.0, height=90)


def test_import_queues_thumbnails_and_peaks(library: Library, worker: CacheWorker, events: Events,
                                            video_set: dict[str, Path]) -> None:
    service = ImportService(library, cache=worker)
    with_audio, silent = service.import_paths([video_set["h30"], video_set["noaudio"]])
    assert worker.wait_idle(WAIT)
    for r in (with_audio, silent):
        assert worker.is_cached(r.media)
        thumbs = strip(library, r.media)
        assert thumbs and all(p.read_bytes()[:2] == b"\xff\xd8" for p in thumbs)  # JPEGs
        assert events.stages(r.media) == [CacheStage.QUEUED, CacheStage.THUMBNAILS, CacheStage.WAVEFORM,
                                          CacheStage.DONE]
    peaks = load_peaks(peaks_path(library.cache_dir, with_audio.media))
    assert peaks is not None and peaks.size == pytest.approx(2.0 * 50, abs=2) and peaks.max() > 0.5
    assert load_peaks(peaks_path(library.cache_dir, silent.media)).size == 0  # no audio: empty, but cached
    done = [e for e in events.items if e.stage is CacheStage.DONE]
    assert all(1 <= e.jobs_done <= e.jobs_total for e in done)
    assert done[-1].jobs_done == done[-1].jobs_total  # the queue ran dry: "all done"

    # A duplicate import re-checks the cache (cheaply) and finds it complete.
    (dup,) = service.import_paths([video_set["h30"]])
    assert dup.status is ImportStatus.DUPLICATE and worker.wait_idle(WAIT)
    assert worker.is_cached(dup.media)


def test_missing_cache_is_regenerated(library: Library, worker: CacheWorker, video_set: dict[str, Path]) -> None:
    (r,) = ImportService(library, cache=worker).import_paths([video_set["pal"]])
    assert worker.wait_idle(WAIT) and worker.is_cached(r.media)
    folder = thumbnail_strip_path(library.cache_dir, r.media)
    first_thumb = sorted(folder.glob("thumb_*.jpg"))[0]
    original = first_thumb.read_bytes()

    first_thumb.unlink()  # a cleaner tool or a crash took part of it
    peaks_path(library.cache_dir, r.media).unlink()
    assert not worker.is_cached(r.media)
    assert worker.enqueue(r.media)
    assert worker.wait_idle(WAIT) and worker.is_cached(r.media)
    assert first_thumb.read_bytes() == original

    shutil.rmtree(library.cache_dir)  # the whole cache folder gone
    worker.enqueue(r.media)
    assert worker.wait_idle(WAIT) and worker.is_cached(r.media)


def test_cache_never_blocks_the_import(library: Library, events: Events, video_set: dict[str, Path],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    real = cache_module.ensure_thumbnails

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(WAIT)  # a two-hour game's strip, say
        return real(*args, **kwargs)

    monkeypatch.setattr(cache_module, "ensure_thumbnails", slow)
    worker = CacheWorker.for_library(library, on_event=events)
    try:
        service = ImportService(library, cache=worker)
        started = time.monotonic()
        results = service.import_paths([video_set["h30"], video_set["pal"], video_set["ntsc"]])
        assert all(r.status is ImportStatus.IMPORTED for r in results)
        assert time.monotonic() - started < WAIT / 2  # finished while the cache job is stuck
        assert worker.pending == 3
        assert not worker.enqueue(results[1].media)  # already queued: not twice
        release.set()
        assert worker.wait_idle(WAIT)
        assert all(worker.is_cached(r.media) for r in results)
    finally:
        release.set()
        worker.stop()


def test_cancel_and_stop_leave_no_partial_strip(library: Library, events: Events, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    long_video = make_video(tmp_path / "long.mp4", seconds=8.0, width=160, height=120, audio=False)
    (r,) = ImportService(library).import_paths([long_video])
    started = threading.Event()
    hold = threading.Event()  # while set, the strip stays half made until the test cancels or stops
    hold.set()
    real = cache_module.ensure_thumbnails

    def watched(*args: Any, **kwargs: Any) -> Any:
        cancelled = kwargs["cancelled"]

        def held_cancelled() -> bool:
            started.set()
            if hold.is_set():
                wait_until(cancelled, what="the cancel to reach the thumbnailer")
            return cancelled()

        return real(*args, **{**kwargs, "cancelled": held_cancelled})

    monkeypatch.setattr(cache_module, "ensure_thumbnails", watched)
    worker = CacheWorker.for_library(library, on_event=events, thumb_every_s=0.5)
    worker.enqueue(r.media)
    worker.enqueue("ab" * 32)  # queued behind it
    assert started.wait(WAIT)
    worker.cancel(r.media)
    assert worker.wait_idle(WAIT)
    assert events.stages(r.media)[-1] is CacheStage.CANCELLED
    assert list(thumbnail_strip_path(library.cache_dir, r.media).glob("*")) == []
    assert events.stages("ab" * 32)[-1] is CacheStage.FAILED  # not in media/: reported, not raised

    started.clear()
    worker.enqueue(r.media)
    assert started.wait(WAIT)
    worker.stop()
    assert events.stages(r.media)[-1] is CacheStage.CANCELLED
    assert list(thumbnail_strip_path(library.cache_dir, r.media).glob("*")) == []

    hold.clear()
    worker.enqueue(r.media)  # after stop(): a fresh worker thread picks it up
    assert worker.wait_idle(WAIT) and worker.is_cached(r.media)
    worker.stop()


def test_damaged_media_fails_the_job_not_the_worker(library: Library, worker: CacheWorker, events: Events,
                                                    video_set: dict[str, Path]) -> None:
    fake = "cd" * 32
    shutil.copyfile(video_set["text"], library.media_path(fake))  # never imported; just bytes on disk
    (good,) = ImportService(library).import_paths([video_set["pal"]])
    worker.enqueue(fake)
    worker.enqueue(good.media)
    assert worker.wait_idle(WAIT)
    failed = [e for e in events.items if e.media == fake and e.stage is CacheStage.FAILED]
    assert failed and failed[0].error
    assert worker.is_cached(good.media)
