"""The watch folder as a service: complete new files in a folder are imported exactly once.

:class:`core.media.watch.FolderWatcher` decides *when* a file is complete (size and mtime settled,
file openable); this service imports it on the watcher's poll thread, so a file counts as seen only
after its import finished. What was imported is remembered in ``watch-seen.json`` in the library
folder, so a restart does not import it again; imports are content-addressed as well, so even a
lost memory never stores the same bytes twice. The folder is a local library setting.
"""
from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from core.clock import REAL, Clock
from core.media.errors import MediaError, MediaErrorKind
from core.media.importer import ImportResult, ImportService, ImportStatus
from core.media.watch import FolderWatcher, JsonSeenStore, SeenKey

if TYPE_CHECKING:
    from core.library import Library
    from core.media.cache import CacheWorker

log = logging.getLogger(__name__)

WATCH_FOLDER_SETTING = "watch_folder"
SEEN_FILE = "watch-seen.json"
DEFAULT_SETTLE_S = 2.0
DEFAULT_POLL_S = 0.5
RECENT_RESULTS = 1000  # a headless watch runs for weeks: keep only the latest results in memory

# Failures that may pass (the writer still holds the file, the disk was full, the file is being
# replaced): such a file is not remembered, so the next start or the next change retries it.
_TRANSIENT_KINDS = {MediaErrorKind.LOCKED, MediaErrorKind.DISK_FULL, MediaErrorKind.SOURCE_CHANGED,
                    MediaErrorKind.DISAPPEARED, MediaErrorKind.NOT_FOUND, MediaErrorKind.PERMISSION,
                    MediaErrorKind.IO}

ResultListener = Callable[[ImportResult], None]


def watch_folder(library: Library) -> Path | None:
    """The library's configured watch folder, or None."""
    value = library.get_setting(WATCH_FOLDER_SETTING)
    return Path(value) if value else None


def set_watch_folder(library: Library, folder: Path | None) -> None:
    """Configure (or, with None, clear) the library's watch folder; stored as an absolute path."""
    library.set_setting(WATCH_FOLDER_SETTING, "" if folder is None else os.path.abspath(folder))


class _ImportedSeenStore:
    """The JSON memory, except for files whose import should be retried later.

    FolderWatcher marks a file seen right after ``on_ready`` returns, whatever happened; the service
    names the paths to leave out just before it returns.
    """

    def __init__(self, inner: JsonSeenStore) -> None:
        self.inner = inner
        self._retry: set[str] = set()
        self._lock = threading.Lock()

    def has(self, key: SeenKey) -> bool:
        return self.inner.has(key)

    def add(self, key: SeenKey) -> None:
        with self._lock:
            if key[0] in self._retry:
                self._retry.discard(key[0])
                return
        self.inner.add(key)

    def retry_later(self, path: Path) -> None:
        with self._lock:
            self._retry.add(os.path.normcase(os.path.abspath(path)))


class WatchService:
    """Imports each complete new file of the watch folder once (recursively), across restarts.

    ``on_result`` is called for every import result on the watcher thread (non-videos are skipped
    results). :meth:`stop` cancels an import in progress; that file is imported at the next start.
    """

    def __init__(
        self,
        library: Library,
        folder: Path | None = None,
        *,
        importer: ImportService | None = None,
        cache: CacheWorker | None = None,
        on_result: ResultListener | None = None,
        settle_s: float = DEFAULT_SETTLE_S,
        poll_s: float = DEFAULT_POLL_S,
        link: bool = False,
        clock: Clock = REAL,
    ) -> None:
        folder = folder if folder is not None else watch_folder(library)
        if folder is None:
            raise ValueError("no watch folder is configured")
        self.library = library
        self.folder = Path(os.path.abspath(folder))
        self.importer = importer or ImportService(library, cache=cache)
        self.on_result = on_result
        self.link = link
        self.seen = _ImportedSeenStore(JsonSeenStore(library.root / SEEN_FILE))
        self._stopping = threading.Event()
        self._library_root = os.path.normcase(os.path.abspath(library.root))
        self._watcher = FolderWatcher(self.folder, self._on_ready, seen=self.seen, settle_s=settle_s,
                                      poll_s=poll_s, accept=self._accept, clock=clock)
        self._lock = threading.Lock()
        self.results: deque[ImportResult] = deque(maxlen=RECENT_RESULTS)  # for status displays

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching and pick up files that arrived while the app was closed."""
        self._stopping.clear()
        self._watcher.start()
        self._watcher.scan_existing()
        log.info("watching %s for new footage", self.folder)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()  # cancels a running copy within one chunk
        self._watcher.stop(timeout)

    def __enter__(self) -> WatchService:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def poll(self) -> None:
        """Check pending files now (tests; normally the watcher's thread does this)."""
        self._watcher.poll()

    def track(self, path: Path) -> None:
        """Consider ``path`` now (tests; normally its file-system event does this)."""
        self._watcher.track(path)

    # -- callbacks ---------------------------------------------------------------------------------
    def _accept(self, path: Path) -> bool:
        # Never import the library's own files, should the library live inside the watch folder.
        candidate = os.path.normcase(os.path.abspath(path))
        return not (candidate == self._library_root or candidate.startswith(self._library_root + os.sep))

    def _on_ready(self, path: Path) -> None:
        try:
            results = self.importer.import_paths([path], link=self.link, cancelled=self._stopping.is_set,
                                                 skip_non_video=True)
        except (MediaError, ValueError) as exc:  # not expected for one file; never retried endlessly
            log.warning("watch folder: cannot import %s: %s", path, exc)
            return
        for result in results:
            if _retry_later(result):
                self.seen.retry_later(result.path)
            if result.status is not ImportStatus.SKIPPED:
                log.info("watch folder: %s %s", result.status.value, result.path)
            with self._lock:
                self.results.append(result)
            if self.on_result is not None:
                try:
                    self.on_result(result)
                except Exception:
                    log.exception("watch folder result listener failed")


def _retry_later(result: ImportResult) -> bool:
    if result.status is ImportStatus.CANCELLED:
        return True
    return result.status is ImportStatus.ERROR and result.kind in _TRANSIENT_KINDS
