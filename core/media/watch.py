"""Watch folder: report each new media file once, when it is complete.

Windows sends no "file closed" event and recorders (OBS, copy dialogs) grow files for minutes, so a
file is *ready* only once its size and mtime have held still for ``settle_s`` and it opens for
reading. File-system events only tell the watcher which files to look at; a poll thread decides.
What was reported is remembered in a :class:`SeenStore`, keyed by (path, size, mtime_ns), so a
restart does not report it again, while a file replaced by a new recording is reported anew.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from core.clock import REAL, Clock
from core.media.detect import is_hidden_or_system, iter_candidate_files
from core.media.errors import MediaError, MediaErrorKind, from_os_error

log = logging.getLogger(__name__)

SeenKey = tuple[str, int, int]
# Browsers and download tools write under these names and rename when done.
_IN_PROGRESS_SUFFIXES = {".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".!qb", ".opdownload"}
_REPLACE_RETRIES = 5


class SeenStore(Protocol):
    """Remembers which file versions were already reported."""

    def has(self, key: SeenKey) -> bool: ...

    def add(self, key: SeenKey) -> None: ...


class MemorySeenStore:
    """A SeenStore that forgets on exit (tests, one-off scans)."""

    def __init__(self) -> None:
        self._keys: set[SeenKey] = set()
        self._lock = threading.Lock()

    def has(self, key: SeenKey) -> bool:
        with self._lock:
            return key in self._keys

    def add(self, key: SeenKey) -> None:
        with self._lock:
            self._keys.add(key)


class JsonSeenStore:
    """A SeenStore persisted as JSON, rewritten atomically (temp file + rename) on every add."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keys: set[SeenKey] = self._load()

    def has(self, key: SeenKey) -> bool:
        with self._lock:
            return tuple(key) in self._keys

    def add(self, key: SeenKey) -> None:
        key = (str(key[0]), int(key[1]), int(key[2]))
        with self._lock:
            if key in self._keys:
                return
            self._keys.add(key)
            self._save()

    def _load(self) -> set[SeenKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return {(str(p), int(s), int(m)) for p, s, m in raw["seen"]}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Keep the damaged file for inspection; starting empty only risks re-reporting (imports
            # are content-addressed, so a re-report adds nothing twice).
            aside = self.path.with_name(f"{self.path.name}.damaged-{uuid.uuid4().hex[:8]}")
            log.warning("watch-folder memory %s is unreadable (%s); kept as %s", self.path, exc, aside.name)
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return set()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        payload = {"version": 1, "seen": sorted(list(k) for k in self._keys)}
        try:
            with open(temp, "w", encoding="utf-8") as fh:
                json.dump(payload, fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            for attempt in range(_REPLACE_RETRIES):
                try:
                    os.replace(temp, self.path)
                    break
                except PermissionError:  # Windows: a virus scanner briefly holds the old file
                    if attempt == _REPLACE_RETRIES - 1:
                        raise
                    time.sleep(0.05 * (attempt + 1))
        finally:
            temp.unlink(missing_ok=True)


def seen_key(path: Path, size: int, mtime_ns: int) -> SeenKey:
    # normcase: Windows paths are case-insensitive, so C:\Clips\A.mp4 and c:\clips\a.mp4 are one file.
    return (os.path.normcase(os.path.abspath(path)), size, mtime_ns)


@dataclass
class _Pending:
    path: Path
    size: int
    mtime_ns: int
    stable_since: float


class FolderWatcher:
    """Calls ``on_ready(path)`` once per new, complete file in ``folder`` (recursively).

    Call :meth:`start`, then :meth:`scan_existing` to pick up files that arrived while the app was
    closed. ``on_ready`` runs on the watcher's poll thread, so keep it short (hand long imports to a
    worker); an exception in it is logged and the file still counts as reported (no endless retries
    on a bad file). 0-byte files are never ready.
    """

    def __init__(
        self,
        folder: Path,
        on_ready: Callable[[Path], None],
        *,
        seen: SeenStore,
        settle_s: float = 2.0,
        poll_s: float = 0.5,
        accept: Callable[[Path], bool] | None = None,
        clock: Clock = REAL,
    ) -> None:
        self.folder = Path(os.path.abspath(folder))
        self.clock = clock
        self.on_ready = on_ready
        self.seen = seen
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.accept = accept
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("watcher already started")
        if not self.folder.is_dir():
            try:
                self.folder.stat()
            except OSError as exc:
                raise from_os_error(self.folder, exc) from exc
            raise MediaError(self.folder, "the watch folder is not a folder", MediaErrorKind.NOT_A_FILE)
        self._stop.clear()
        observer = Observer()
        observer.schedule(_Handler(self), str(self.folder), recursive=True)
        observer.daemon = True
        try:
            observer.start()
        except OSError as exc:  # e.g. Linux inotify watch limit, a network share without notifications
            raise from_os_error(self.folder, exc, doing="watching the folder") from exc
        self._observer = observer
        self._thread = threading.Thread(target=self._run, name=f"watch {self.folder.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():  # stop() from on_ready
            thread.join(timeout)

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- tracking ----------------------------------------------------------------------------------

    def scan_existing(self) -> None:
        """Consider every file already in the folder (each still has to settle and be unseen)."""
        for path in iter_candidate_files([self.folder]):
            self.track(path)

    def track(self, path: Path) -> None:
        """Start watching one file until it settles (called for file-system events)."""
        path = Path(path)
        if not self._wanted(path):
            return
        try:
            st = path.stat()
        except OSError:
            return
        key = seen_key(path, 0, 0)[0]
        now = self.clock.monotonic()
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                self._pending[key] = _Pending(path, st.st_size, st.st_mtime_ns, now)
            elif (entry.size, entry.mtime_ns) != (st.st_size, st.st_mtime_ns):
                entry.size, entry.mtime_ns, entry.stable_since = st.st_size, st.st_mtime_ns, now

    def forget(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(seen_key(Path(path), 0, 0)[0], None)

    def _wanted(self, path: Path) -> bool:
        if path.suffix.casefold() in _IN_PROGRESS_SUFFIXES or path.name.endswith("~"):
            return False
        try:
            relative = path.relative_to(self.folder)
        except ValueError:  # moved out of the watched folder
            return False
        # Skip hidden files and anything inside hidden folders (e.g. a library's own temp files).
        current = self.folder
        for part in relative.parts:
            current = current / part
            if is_hidden_or_system(current):
                return False
        return self.accept is None or self.accept(path)

    # -- poll thread -------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self.clock.wait(self._stop, self.poll_s):
            try:
                self.poll()
            except Exception:  # the watcher must outlive any surprise
                log.exception("watch folder poll failed")

    def poll(self) -> None:
        """Report every pending file that has settled (normally called by the poll thread)."""
        now = self.clock.monotonic()
        with self._lock:
            entries = list(self._pending.items())
        for key, entry in entries:
            if self._stop.is_set():
                return
            try:
                st = entry.path.stat()
            except OSError:
                self._drop(key, entry)  # gone (or unreachable); a new event brings it back
                continue
            if (st.st_size, st.st_mtime_ns) != (entry.size, entry.mtime_ns):
                with self._lock:
                    entry.size, entry.mtime_ns, entry.stable_since = st.st_size, st.st_mtime_ns, now
                continue
            if st.st_size == 0 or now - entry.stable_since < self.settle_s:
                continue
            version = seen_key(entry.path, st.st_size, st.st_mtime_ns)
            if self.seen.has(version):
                self._drop(key, entry)
                continue
            if not _can_open(entry.path):
                continue  # still held exclusively by the writer: try again next poll
            self._drop(key, entry)
            try:
                self.on_ready(entry.path)
            except Exception:
                log.exception("watch folder handler failed for %s", entry.path)
            self.seen.add(version)

    def _drop(self, key: str, entry: _Pending) -> None:
        with self._lock:
            if self._pending.get(key) is entry:
                del self._pending[key]


def _can_open(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
        return True
    except OSError:
        return False


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.event_type == "deleted":
            self.watcher.forget(Path(os.fsdecode(event.src_path)))
            return
        dest = getattr(event, "dest_path", "") or ""
        if dest:  # a rename: the old name is gone
            self.watcher.forget(Path(os.fsdecode(event.src_path)))
        path = Path(os.fsdecode(dest or event.src_path))
        if event.is_directory:
            if event.event_type in ("created", "moved"):  # a whole folder moved in: look inside
                for file in iter_candidate_files([path]):
                    self.watcher.track(file)
            return
        self.watcher.track(path)
