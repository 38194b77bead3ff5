"""The import service: files and folders in, media + whole-file clips (or one game) out.

Used by the CLI now and by the window's drop targets and the watch folder. Per file it probes the
source (junk is never copied), copies it into ``media/`` while hashing it (one read, temp file +
atomic rename), dedupes by hash, checks the stored copy still probes, and records the result through
``Library.apply`` gestures only, so imports sync like any other edit. A failed or cancelled file
leaves no file in ``media/`` and no rows; the rest of the batch carries on.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.enums import GestureKind
from core.gestures.model import Gesture, GestureError
from core.media.detect import Sniffed, iter_candidate_files, read_head, sniff_bytes
from core.media.errors import ImportCancelled, MediaError, MediaErrorKind, OperationCancelled, from_os_error
from core.media.hashing import CHUNK, TEMP_PREFIX, TEMP_SUFFIX, copy_and_hash, link_and_hash
from core.media.probe import MediaInfo, probe

if TYPE_CHECKING:
    from core.library import Library
    from core.media.cache import CacheWorker

log = logging.getLogger(__name__)

MAX_GAME_FILES = 16  # the create_game schema's limit
MAX_MEDIA_NAME = 512
MAX_CLIP_NAME = 200
MAX_GAME_NAME = 200
WHOLE_FILE_EPS = 1e-3  # seconds: a raw clip this close to [0, duration] spans the whole file
STALE_TEMP_S = 3600.0  # a temp file untouched this long belongs to a crashed import, not a running one

# Probe verdicts that mean "this is not a video at all": for files found inside folders (or by the
# watch folder) they are skipped quietly, since a camera dump also holds sidecars and thumbnails.
_NOT_VIDEO_KINDS = {MediaErrorKind.NOT_MEDIA, MediaErrorKind.NO_VIDEO, MediaErrorKind.AUDIO_ONLY,
                    MediaErrorKind.IMAGE, MediaErrorKind.EMPTY}
_SKIP_REASONS = {
    Sniffed.AUDIO: "not a video (audio file)",
    Sniffed.IMAGE: "not a video (image)",
}

# The stored copy is per library folder; serialising the short "check, record or discard" step per
# folder stops two importers of the same bytes (watch folder + drop) from deleting each other's file.
_COMMIT_LOCKS: dict[str, threading.Lock] = {}
_COMMIT_LOCKS_GUARD = threading.Lock()


class ImportStatus(str, Enum):
    """What happened to one file."""

    IMPORTED = "imported"    # new media (and a whole-file clip unless imported as a game)
    DUPLICATE = "duplicate"  # the same bytes were already in the library: nothing stored twice
    SKIPPED = "skipped"      # found inside a folder but not a video (sidecar, image, audio)
    ERROR = "error"          # bad input or an I/O failure; nothing of it was kept
    CANCELLED = "cancelled"  # the user cancelled before this file was complete; nothing kept


@dataclass(frozen=True)
class ImportResult:
    """The outcome for one file. ``error`` is short, human and path-free."""

    path: Path
    status: ImportStatus
    media: str | None = None
    clip: str | None = None
    error: str | None = None
    kind: MediaErrorKind | None = None  # why it failed, for icons and retry decisions
    game: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (ImportStatus.IMPORTED, ImportStatus.DUPLICATE)

    def to_json(self) -> dict[str, Any]:
        """``{"path", "media", "clip"}`` (+ ``"duplicate": true``, ``"game"``), or ``{"path", "error"}``.

        Skipped files are ``{"path", "skipped": reason}``; cancelled ones carry ``"cancelled": true``
        beside their error.
        """
        out: dict[str, Any] = {"path": str(self.path)}
        if self.ok:
            out["media"] = self.media
            if self.clip is not None:
                out["clip"] = self.clip
            if self.game is not None:
                out["game"] = self.game
            if self.status is ImportStatus.DUPLICATE:
                out["duplicate"] = True
        elif self.status is ImportStatus.SKIPPED:
            out["skipped"] = self.error
        else:
            out["error"] = self.error
            if self.status is ImportStatus.CANCELLED:
                out["cancelled"] = True
        return out


@dataclass(frozen=True)
class ImportProgress:
    """Bytes copied so far: of the current file and of the whole batch. ``file_index`` is 0-based."""

    file_index: int
    file_count: int
    path: Path
    bytes_done: int
    bytes_total: int
    overall_done: int
    overall_total: int

    @property
    def fraction(self) -> float:
        return self.overall_done / self.overall_total if self.overall_total else 1.0


ProgressCallback = Callable[[ImportProgress], None]
CancelledCallback = Callable[[], bool]


@dataclass
class _Item:
    """One file of the batch, as planned before anything is copied."""

    path: Path
    size: int
    explicit: bool  # named by the user: a non-video is an error, not a skip
    skip_reason: str | None = None


class ImportService:
    """Imports files and folders into one library. Safe to share between threads."""

    def __init__(self, library: Library, *, cache: CacheWorker | None = None, chunk: int = CHUNK) -> None:
        self.library = library
        self.cache = cache
        self.chunk = chunk
        sweep_stale_temp_files(library.media_dir)

    # -- public API ------------------------------------------------------------------------------
    def import_paths(
        self,
        paths: Iterable[Path | str],
        *,
        game_name: str | None = None,
        link: bool = False,
        progress: ProgressCallback | None = None,
        cancelled: CancelledCallback | None = None,
        skip_non_video: bool = False,
    ) -> list[ImportResult]:
        """Import ``paths`` (files, or folders searched recursively); one result per file, in order.

        ``game_name``: record all successfully imported files as ONE game (halves in argument order)
        instead of whole-file clips. ``link``: hard-link instead of copying where the volume allows
        (huge files). ``skip_non_video``: treat named files like files found in a folder (the watch
        folder), so non-videos are skipped rather than reported as errors.

        Raises ValueError only for a bad ``game_name`` or more files than a game holds, before any
        work; every per-file problem is reported in the results.
        """
        if game_name is not None:
            game_name = _check_game_name(game_name)
        items = self._plan([Path(p) for p in paths], skip_non_video)
        candidates = [it for it in items if it.skip_reason is None]
        if game_name is not None and len(candidates) > MAX_GAME_FILES:
            raise ValueError(f"a game holds at most {MAX_GAME_FILES} files; {len(candidates)} were given")
        is_cancelled = cancelled or (lambda: False)
        overall_total = sum(it.size for it in candidates)
        overall_done = 0
        results: list[ImportResult] = []
        index = 0
        stopped = False
        for item in items:
            if item.skip_reason is not None:
                results.append(ImportResult(item.path, ImportStatus.SKIPPED, error=item.skip_reason))
                continue
            if stopped or is_cancelled():
                stopped = True
                results.append(_cancelled(item.path))
                index += 1
                continue
            report = self._reporter(progress, index, len(candidates), item.path, overall_done, overall_total)
            result = self._import_one(item, game_name is not None, link, report, is_cancelled)
            results.append(result)
            stopped = result.status is ImportStatus.CANCELLED
            overall_done += item.size
            if progress is not None and not stopped:
                progress(ImportProgress(index, len(candidates), item.path, item.size, item.size,
                                        overall_done, overall_total))
            index += 1
        if game_name is not None:
            results = self._record_game(game_name, results, cancelled=stopped)
        return results

    # -- planning --------------------------------------------------------------------------------
    def _plan(self, paths: Sequence[Path], skip_non_video: bool) -> list[_Item]:
        named = {_key(p) for p in paths if not p.is_dir()}
        items: list[_Item] = []
        for file in iter_candidate_files(paths):
            explicit = not skip_non_video and _key(file) in named
            try:
                size = file.stat().st_size
            except OSError:
                size = 0  # reported by the per-file step with a proper message
            item = _Item(file, size, explicit)
            if not explicit:
                item.skip_reason = _sniff_skip(file, size)
            items.append(item)
        return items

    # -- one file --------------------------------------------------------------------------------
    def _import_one(self, item: _Item, as_game: bool, link: bool,
                    report: Callable[[int, int], None], cancelled: CancelledCallback) -> ImportResult:
        path = item.path
        started = time.perf_counter()
        try:
            try:
                probe(path)  # first: a non-video is rejected before a byte is copied
            except MediaError as exc:
                if not item.explicit and exc.kind in _NOT_VIDEO_KINDS:
                    return ImportResult(path, ImportStatus.SKIPPED, error=exc.message, kind=exc.kind)
                raise
            copier = link_and_hash if link else copy_and_hash
            digest, stored = copier(path, self.library.media_dir, progress=report, cancelled=cancelled,
                                    chunk=self.chunk)
            duplicate, duration = self._record_media(path, digest, stored, cancelled)
            clip = None if as_game else self._whole_file_clip(path, digest, duration)
        except OperationCancelled:
            log.info("import of %s cancelled", path)
            return _cancelled(path)
        except MediaError as exc:
            log.info("import of %s failed: %s", path, exc.message)
            return ImportResult(path, ImportStatus.ERROR, error=exc.message, kind=exc.kind)
        except GestureError as exc:
            log.info("import of %s rejected: %s", path, exc)
            return ImportResult(path, ImportStatus.ERROR, error=str(exc))
        except OSError as exc:
            err = from_os_error(path, exc)
            log.info("import of %s failed: %s", path, err.message)
            return ImportResult(path, ImportStatus.ERROR, error=err.message, kind=err.kind)
        except Exception as exc:  # one broken file must not stop the batch; the log keeps the traceback
            log.exception("unexpected error importing %s", path)
            return ImportResult(path, ImportStatus.ERROR, error=f"unexpected error ({type(exc).__name__})")
        log.info("imported %s as %s%s in %.2f s", path, digest[:12], " (duplicate)" if duplicate else "",
                 time.perf_counter() - started)
        if self.cache is not None:
            self.cache.enqueue(digest)  # thumbnails and peaks later, on the cache thread
        status = ImportStatus.DUPLICATE if duplicate else ImportStatus.IMPORTED
        return ImportResult(path, status, media=digest, clip=clip)

    def _record_media(self, path: Path, digest: str, stored: Path,
                      cancelled: CancelledCallback) -> tuple[bool, float]:
        """Record new media (or recognise known bytes). Returns (duplicate, duration).

        Anything that fails here removes the stored copy unless the library already knew it.
        """
        with _commit_lock(self.library.media_dir):
            known = self.library.media(digest)
            if known is not None:
                return True, float(known["duration"])
            try:
                if cancelled():
                    raise ImportCancelled(f"import of {path.name} cancelled")
                if not stored.is_file():  # a concurrent failed import of the same bytes removed it
                    raise MediaError(path, "the copy in the library vanished; import it again",
                                     MediaErrorKind.IO)
                info = _verify_copy(path, stored)
                self.library.apply(Gesture(GestureKind.IMPORT_MEDIA, digest,
                                           {"info": info.to_payload(), "name": path.name[:MAX_MEDIA_NAME]}))
            except BaseException:
                self._discard(digest, stored)
                raise
            return False, info.duration

    def _discard(self, digest: str, stored: Path) -> None:
        if self.library.media(digest) is not None:
            return  # recorded after all (or by someone else): the file is the library's now
        try:
            stored.unlink(missing_ok=True)
        except OSError as exc:  # e.g. a virus scanner holds it (Windows); it is unreferenced either way
            log.warning("could not remove unrecorded media file %s: %s", stored, exc)

    def _whole_file_clip(self, path: Path, digest: str, duration: float) -> str:
        """The media's existing whole-file clip, or a new one named after the file."""
        for clip in self.library.raw_clips(digest):
            if abs(clip["start"]) <= WHOLE_FILE_EPS and abs(clip["end"] - duration) <= WHOLE_FILE_EPS:
                return str(clip["uid"])
        payload = {"media": digest, "start": 0.0, "end": duration, "name": path.stem[:MAX_CLIP_NAME]}
        return self.library.apply(Gesture(GestureKind.MARK_CLIP, None, payload)).entity

    # -- games -----------------------------------------------------------------------------------
    def _record_game(self, name: str, results: list[ImportResult], *, cancelled: bool) -> list[ImportResult]:
        hashes: list[str] = []
        for r in results:
            if r.ok and r.media is not None and r.media not in hashes:
                hashes.append(r.media)
        if not hashes:
            log.info("game %r not created: no file was imported", name)
            return results
        if cancelled:  # half a game is worse than none; the imported media stay and can be re-used
            log.info("game %r not created: the import was cancelled", name)
            return results
        game = self.library.apply(Gesture(GestureKind.CREATE_GAME, None, {"name": name, "media": hashes})).entity
        log.info("created game %r (%s) over %d file(s)", name, game, len(hashes))
        return [replace(r, game=game) if r.ok else r for r in results]

    # -- progress --------------------------------------------------------------------------------
    @staticmethod
    def _reporter(progress: ProgressCallback | None, index: int, count: int, path: Path,
                  overall_before: int, overall_total: int) -> Callable[[int, int], None]:
        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(ImportProgress(index, count, path, done, total, overall_before + done, overall_total))

        return report


# -- helpers -------------------------------------------------------------------------------------
def _cancelled(path: Path) -> ImportResult:
    return ImportResult(path, ImportStatus.CANCELLED, error="import cancelled")


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _check_game_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValueError("the game name must not be empty")
    if len(name) > MAX_GAME_NAME:
        raise ValueError(f"the game name is longer than {MAX_GAME_NAME} characters")
    return name


def _sniff_skip(path: Path, size: int) -> str | None:
    """Why a file found in a folder is not worth probing, or None to let the probe decide."""
    if size == 0:
        return "empty file (0 bytes)"
    try:
        head = read_head(path)
    except OSError:
        return None  # unreadable: the probe reports it properly
    return _SKIP_REASONS.get(sniff_bytes(head))


def _verify_copy(src: Path, stored: Path) -> MediaInfo:
    """Probe the stored bytes: what the hash names must itself be a usable video."""
    try:
        return probe(stored)
    except MediaError as exc:
        if exc.kind in (MediaErrorKind.NOT_FOUND, MediaErrorKind.PERMISSION, MediaErrorKind.IO):
            raise MediaError(src, f"{exc.message} (the library's copy)", exc.kind) from exc
        raise MediaError(src, "the copied file is not a readable video (did it change during the copy?)",
                         MediaErrorKind.SOURCE_CHANGED) from exc


def _commit_lock(media_dir: Path) -> threading.Lock:
    key = _key(media_dir)
    with _COMMIT_LOCKS_GUARD:
        return _COMMIT_LOCKS.setdefault(key, threading.Lock())


def sweep_stale_temp_files(media_dir: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Remove temporary copies left by a crashed import (a running copy keeps its file fresh)."""
    removed = 0
    cutoff = time.time() - older_than_s
    try:
        candidates = list(Path(media_dir).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
    except OSError:
        return 0
    for temp in candidates:
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
        except OSError as exc:
            log.debug("could not sweep %s: %s", temp, exc)
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted import", removed)
    return removed


def orphan_media_files(library: Library) -> list[Path]:
    """Files in ``media/`` that no media row names (a crash between the rename and the gesture)."""
    known = {m["hash"] for m in library.media_list()}
    try:
        return sorted(p for p in library.media_dir.iterdir() if p.name not in known)
    except OSError:
        return []
