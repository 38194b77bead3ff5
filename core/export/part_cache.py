"""The on-disk cache of encoded reel parts, in the library's cache folder.

One entry = ``<key>.mp4`` (a video-only H.264 part) + ``<key>.json`` (its size, frame count and
BLAKE3 hash). An entry is trusted only when its file still has that size and hash, so a damaged
or half-written part is detected, dropped and rendered again. Bounded in bytes: using an entry
touches its file, and the least recently used entries go first. It is plain files, so it
survives restarts; parts are written under a temporary name and renamed into place.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blake3 import blake3

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 4 * 1024**3
SETTING = "export.part_cache_max_mb"  # library setting: the bound in MiB
FOLDER = "parts"  # under the library's cache folder
ABANDONED_S = 3600.0
_READ = 1 << 20


@dataclass(frozen=True)
class Entry:
    path: Path
    frames: int


def file_hash(path: Path) -> str:
    h = blake3()
    with path.open("rb") as f:
        while chunk := f.read(_READ):
            h.update(chunk)
    return h.hexdigest()


class PartCache:
    def __init__(self, folder: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self.folder.mkdir(parents=True, exist_ok=True)
        self._sweep()

    def _sweep(self) -> None:
        """Remove parts left half-written by a render that was killed: a part being written
        grows all the time, so one untouched for an hour is abandoned."""
        cutoff = time.time() - ABANDONED_S
        for p in self.folder.glob(".*.partial.mp4"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                continue

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.mp4", self.folder / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        """The entry for ``key`` when present and intact (and mark it used), else None."""
        part, meta = self._paths(key)
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            ok = part.stat().st_size == info["size"] and file_hash(part) == info["blake3"]
            frames = int(info["frames"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            log.warning("part cache entry %s is unreadable (%s); rendering it again", key, e)
            ok, frames = False, 0
        if not ok:
            log.warning("part cache entry %s is damaged; rendering it again", key)
            self._drop(key)
            return None
        now = time.time()
        os.utime(part, (now, now))
        return Entry(part, frames)

    def new_path(self, key: str) -> Path:
        """Where to write a part before ``put`` (same folder, so the rename is atomic)."""
        return self.folder / f".{key}.{uuid.uuid4().hex[:8]}.partial.mp4"

    def put(self, key: str, written: Path, frames: int) -> Entry:
        part, meta = self._paths(key)
        info = {"size": written.stat().st_size, "blake3": file_hash(written), "frames": frames}
        tmp_meta = meta.with_name(f".{meta.name}.{uuid.uuid4().hex[:8]}")
        tmp_meta.write_text(json.dumps(info), encoding="utf-8")
        try:
            os.replace(written, part)
        except OSError:
            # Windows: another export is reading the same part (it rendered it meanwhile); use theirs.
            tmp_meta.unlink(missing_ok=True)
            existing = self.get(key)
            if existing is None:
                raise
            written.unlink(missing_ok=True)
            return existing
        os.replace(tmp_meta, meta)  # last: an entry without its record is never trusted
        self.evict(keep=key)
        return Entry(part, frames)

    def evict(self, keep: str | None = None) -> None:
        """Drop least recently used entries until the cache fits its bound."""
        parts = []
        for p in self.folder.glob("*.mp4"):
            try:
                st = p.stat()
            except OSError:
                continue
            parts.append((st.st_mtime, st.st_size, p.stem))
        total = sum(size for _t, size, _k in parts)
        for _mtime, size, key in sorted(parts):
            if total <= self.max_bytes:
                break
            if key == keep:
                continue
            self._drop(key)
            total -= size

    def _drop(self, key: str) -> None:
        for p in self._paths(key):
            try:
                p.unlink(missing_ok=True)
            except OSError as e:  # e.g. open in a player on Windows: the next run tries again
                log.warning("could not remove %s from the part cache: %s", p, e)


def cache_bound(db: Path) -> int:
    """The library's bound (setting ``export.part_cache_max_mb``), read with plain sqlite3 like
    the export worker reads its job; the default when unset or unreadable."""
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
        try:
            row = conn.execute("SELECT value FROM settings WHERE key = ?", (SETTING,)).fetchone()
        finally:
            conn.close()
        return max(0, int(float(row[0]) * 1024 * 1024)) if row else DEFAULT_MAX_BYTES
    except (sqlite3.Error, ValueError, TypeError) as e:
        log.warning("part cache bound unreadable (%s); using %d MiB", e, DEFAULT_MAX_BYTES >> 20)
        return DEFAULT_MAX_BYTES


def _report_path(folder: Path, job_uid: str) -> Path:
    return Path(folder) / "reports" / f"{job_uid}.json"


def write_report(folder: Path, job_uid: str, clips: list[dict[str, Any]]) -> None:
    """What an export reused, per clip, for ``reeldesk export --json`` to show."""
    path = _report_path(folder, job_uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clips), encoding="utf-8")


def read_report(folder: Path, job_uid: str) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(_report_path(folder, job_uid).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, list) else None
