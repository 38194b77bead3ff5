"""Background cache jobs: timeline thumbnails and waveform peaks for imported media.

One worker thread drains a queue of media hashes; ``enqueue`` only appends under a lock, so an
import never waits for decoding. Each job calls ``ensure_thumbnails`` and ``ensure_peaks``, which
reuse a complete cache entry and regenerate a missing or partial one, so enqueueing a hash is also
how a reader asks for a cache it found missing. Pure Python (no Qt): the window turns the events
into signals.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.media.errors import MediaError, OperationCancelled
from core.media.thumbnails import ensure_thumbnails, load_strip, thumbnail_strip_path
from core.media.waveform import ensure_peaks, load_peaks, peaks_path

if TYPE_CHECKING:
    from core.library import Library

log = logging.getLogger(__name__)

THUMB_EVERY_S = 2.0
THUMB_HEIGHT = 90
PEAKS_PER_SECOND = 50


class CacheStage(str, Enum):
    """Where one media's cache job is."""

    QUEUED = "queued"
    THUMBNAILS = "thumbnails"
    WAVEFORM = "waveform"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CacheEvent:
    """A job's progress. ``jobs_done`` / ``jobs_total`` count since the queue was last empty."""

    media: str
    stage: CacheStage
    jobs_done: int
    jobs_total: int
    error: str | None = None


CacheListener = Callable[[CacheEvent], None]


class CacheWorker:
    """A thread that generates thumbnails and peaks for queued media, one job at a time.

    The thread starts on the first :meth:`enqueue` (or :meth:`start`) and is a daemon, so an
    unfinished cache never keeps the app alive: whatever is missing is regenerated next time.
    Listeners run on the worker thread; keep them short.
    """

    def __init__(
        self,
        media_dir: Path,
        cache_dir: Path,
        *,
        on_event: CacheListener | None = None,
        thumb_every_s: float = THUMB_EVERY_S,
        thumb_height: int = THUMB_HEIGHT,
        peaks_per_second: int = PEAKS_PER_SECOND,
    ) -> None:
        self.media_dir = Path(media_dir)
        self.cache_dir = Path(cache_dir)
        self.thumb_every_s = thumb_every_s
        self.thumb_height = thumb_height
        self.peaks_per_second = peaks_per_second
        self._listeners: list[CacheListener] = [on_event] if on_event is not None else []
        self._queue: deque[str] = deque()
        self._cond = threading.Condition()
        self._current: str | None = None
        self._cancel_current = threading.Event()
        self._generation = 0  # bumped by stop(): a thread of an older generation exits
        self._thread: threading.Thread | None = None
        self._done = 0
        self._total = 0

    @classmethod
    def for_library(cls, library: Library, **kwargs: Any) -> CacheWorker:
        """A worker for ``library``'s folders; ``kwargs`` as for the constructor."""
        return cls(library.media_dir, library.cache_dir, **kwargs)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, args=(self._generation,),
                                            name="reeldesk-cache", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel the running job, drop the queue and end the thread (partial caches are removed)."""
        with self._cond:
            self._generation += 1
            dropped = list(self._queue)
            self._queue.clear()
            self._done = self._total = 0
            self._cancel_current.set()
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        for media in dropped:
            self._emit(media, CacheStage.CANCELLED)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def __enter__(self) -> CacheWorker:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def subscribe(self, listener: CacheListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- queue -------------------------------------------------------------------------------------
    def enqueue(self, media_hash: str) -> bool:
        """Queue a cache job; False when that media is already queued or running. Never blocks.

        After :meth:`stop`, enqueueing starts a fresh worker thread.
        """
        with self._cond:
            if media_hash == self._current or media_hash in self._queue:
                return False
            self._queue.append(media_hash)
            self._total += 1
            self._cond.notify_all()
            total, done = self._total, self._done
        self._emit(media_hash, CacheStage.QUEUED, done=done, total=total)
        self.start()
        return True

    def cancel(self, media_hash: str | None = None) -> None:
        """Cancel one media's job (queued or running), or every job when ``media_hash`` is None."""
        dropped: list[str] = []
        with self._cond:
            if media_hash is None:
                dropped = list(self._queue)
                self._queue.clear()
            elif media_hash in self._queue:
                self._queue.remove(media_hash)
                dropped = [media_hash]
            if media_hash is None or media_hash == self._current:
                self._cancel_current.set()
            self._total -= len(dropped)
            self._cond.notify_all()
        for media in dropped:
            self._emit(media, CacheStage.CANCELLED)

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return len(self._queue) + (self._current is not None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and no job runs; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and self._current is None, timeout)

    def is_cached(self, media_hash: str) -> bool:
        """True when both the thumbnail strip and the peaks are complete on disk."""
        strip = load_strip(thumbnail_strip_path(self.cache_dir, media_hash),
                           every_s=self.thumb_every_s, height=self.thumb_height)
        peaks = load_peaks(peaks_path(self.cache_dir, media_hash, self.peaks_per_second))
        return strip is not None and peaks is not None

    # -- worker thread -----------------------------------------------------------------------------
    def _run(self, generation: int) -> None:
        while True:
            with self._cond:
                while not self._queue and generation == self._generation:
                    self._cond.wait()
                if generation != self._generation:
                    return
                media = self._queue.popleft()
                self._current = media
                self._cancel_current.clear()
            try:
                stage, error = self._job(media)
            finally:
                with self._cond:
                    self._current = None
                    self._done += 1
                    done, total = self._done, self._total
                    if not self._queue:
                        self._done = self._total = 0  # the next burst counts from zero
                    self._cond.notify_all()
            self._emit(media, stage, error=error, done=done, total=total)

    def _job(self, media: str) -> tuple[CacheStage, str | None]:
        video = self.media_dir / media
        cancelled = self._cancel_current.is_set
        try:
            if not video.is_file():  # synced media not downloaded yet: the next enqueue retries
                return CacheStage.FAILED, "the media file is not in the library folder"
            self._emit(media, CacheStage.THUMBNAILS)
            ensure_thumbnails(video, self.cache_dir, media, every_s=self.thumb_every_s,
                              height=self.thumb_height, cancelled=cancelled)
            self._emit(media, CacheStage.WAVEFORM)
            ensure_peaks(video, self.cache_dir, media, peaks_per_second=self.peaks_per_second,
                         cancelled=cancelled)
        except OperationCancelled:
            log.info("cache job for %s cancelled", media[:12])
            return CacheStage.CANCELLED, None
        except MediaError as exc:
            log.warning("cannot build the thumbnail/waveform cache of %s: %s", media[:12], exc.message)
            return CacheStage.FAILED, exc.message
        except Exception as exc:  # the worker must outlive any one bad file
            log.exception("cache job for %s failed", media[:12])
            return CacheStage.FAILED, f"unexpected error ({type(exc).__name__})"
        return CacheStage.DONE, None

    def _emit(self, media: str, stage: CacheStage, *, error: str | None = None,
              done: int | None = None, total: int | None = None) -> None:
        if done is None or total is None:
            with self._cond:
                done, total = self._done, self._total
        event = CacheEvent(media, stage, done, total, error)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("cache listener failed")
