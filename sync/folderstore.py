# This file is longer than 500 lines because it is one store: create-only and compare-and-swap writes
# through lock files, Windows-safe replace/unlink retries and folder multipart parts keep shared
# invariants (temp, lock and upload dot-folders) that a split would scatter.
"""`RemoteStore` on a local or network folder (USB disk, NAS/SMB share, synced folder).

Layout: key ``a/b/c`` is the file ``root/a/b/c``. Internal state lives in dot-folders that
`list_keys` never reports (key segments may not start with '.'):

- ``.tmp/``      whole-object temp files, written + fsynced before they are published;
- ``.locks/``    one lock file per key for read-compare-write sequences;
- ``.uploads/``  one folder per multipart upload: ``meta.json`` + parts named ``{n:05d}-{etag}``.

Publishing (why it is atomic and create-only on both POSIX and Windows):

- A temp file is fully written and fsynced first, so a published name never shows a partial
  object to readers on other machines.
- Create-only publish is ``os.link(temp, final)``: link(2) / CreateHardLinkW fail atomically
  with EEXIST / ERROR_ALREADY_EXISTS when the name is taken, with no window where the name
  exists half-written. NFS may report EEXIST for a retransmitted link that did succeed, so
  EEXIST is double-checked with ``samefile``.
- Where hard links are unsupported (FAT/exFAT, some NAS shares) Windows falls back to
  ``os.rename`` (MoveFileExW without REPLACE_EXISTING: atomic, fails if the target exists),
  POSIX to a check-then-``os.replace`` under the key's lock file (atomic only among
  ReelDesk writers, which are the only writers of a library folder).
- Overwrites (``put``, ``put_if_match``) take the key's lock, compare, then ``os.replace``.
  Windows refuses to replace a file another process has open, so that step is retried briefly.

Lock files are created with ``O_CREAT|O_EXCL``; a lock older than `stale_lock_s` is assumed
to belong to a crashed writer and broken (locks are held for milliseconds). ETags are the
BLAKE2b-128 of the content, so they are stable across machines reading the same share.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sync.store import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_PART_SIZE,
    AccessDenied,
    AlreadyExists,
    Cancelled,
    CancelledFn,
    CompletedPart,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    ProgressFn,
    RemoteStore,
    StoreError,
    StoreUnavailable,
    UploadNotFound,
)

_log = logging.getLogger(__name__)

_T = TypeVar("_T")
_CHUNK = 1024 * 1024
_TMP, _LOCKS, _UPLOADS = ".tmp", ".locks", ".uploads"
_PART_RE = re.compile(r"(\d{5})-([0-9a-f]{32})")
_WIN_BAD_CHARS = frozenset('<>:"\\|?*') | frozenset(chr(c) for c in range(32))
_WIN_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
)
# Windows sharing violations and transient "in use" states on replace/unlink.
_RETRY_DELAYS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8)


def etag_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class FolderStore(RemoteStore):
    def __init__(
        self,
        root: Path,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        lock_timeout_s: float = 10.0,
        stale_lock_s: float = 30.0,
        durable: bool = True,
    ) -> None:
        if part_size <= 0:
            raise ValueError("part_size must be positive")
        # absolute() not resolve(): resolving a disconnected network drive can hang or fail.
        self.root = Path(root).absolute()
        self.part_size = part_size
        self.max_concurrency = max_concurrency
        self.lock_timeout_s = lock_timeout_s
        self.stale_lock_s = stale_lock_s
        self.durable = durable

    def __repr__(self) -> str:
        return f"FolderStore(root={str(self.root)!r})"

    def ensure_root(self) -> None:
        """Create the root folder (first set-up). Operations never create it themselves, so
        an unmounted share reads as `StoreUnavailable` instead of filling the mount point."""
        self.root.mkdir(parents=True, exist_ok=True)

    # ---------------------------------------------------------------- paths & errors

    def _path(self, key: str) -> Path:
        segments = key.split("/")
        for seg in segments:
            if (
                not seg
                or seg.startswith(".")
                or seg.endswith((" ", "."))
                or any(c in _WIN_BAD_CHARS for c in seg)
                or seg.split(".")[0].upper() in _WIN_RESERVED
            ):
                # Windows-hostile names would make the folder unusable from another device.
                raise ValueError(f"key not storable in a folder: {key!r}")
        return self.root.joinpath(*segments)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable(f"store folder unavailable: {str(self.root)!r}")

    @contextmanager
    def _io(self, op: str, key: str | None) -> Iterator[None]:
        """Map OS errors to store errors (missing root = unavailable, not "not found")."""
        try:
            yield
        except StoreError:
            raise
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._check_root()
            raise NotFound(key or "", f"{op} {key!r}: not found") from None
        except PermissionError as exc:
            self._check_root()
            raise AccessDenied(f"{op} {key!r}: permission denied ({exc.strerror})", key=key) from None
        except OSError as exc:
            # EIO, ESTALE, ENETDOWN, WinError 53/64/67 ...: the share went away under us.
            raise StoreUnavailable(f"{op} {key!r}: {exc.strerror or type(exc).__name__}", key=key) from None

    def _internal(self, name: str) -> Path:
        self._check_root()
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path

    def _make_parent(self, path: Path) -> None:
        self._check_root()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"key {path.relative_to(self.root).as_posix()!r} collides with an object") from None

    def _write_temp(self, data: bytes) -> Path:
        tmp = self._internal(_TMP) / f"{uuid.uuid4().hex}.tmp"
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            if self.durable:
                os.fsync(f.fileno())
        return tmp

    def _fsync_dir(self, path: Path) -> None:
        # POSIX needs the directory entry flushed for a rename/link to survive power loss;
        # Windows cannot open directories this way (and NTFS journals metadata anyway).
        if not self.durable or os.name == "nt":
            return
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    # ---------------------------------------------------------------- locking & publishing

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        path = self._internal(_LOCKS) / f"{etag_of(key.encode())}.lock"
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    age = time.time() - os.stat(path).st_mtime
                except FileNotFoundError:
                    continue  # released between our attempts
                if age > self.stale_lock_s:
                    _log.warning("breaking stale lock for %s (%.0f s old)", key, age)
                    _unlink_quiet(path)
                    continue
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"lock for {key!r} busy", key=key) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            try:
                os.write(fd, f"{os.getpid()}\n".encode())
            finally:
                os.close(fd)
            break
        try:
            yield
        finally:
            _retry_windows(_unlink_quiet, path)

    def _publish_new(self, tmp: Path, final: Path, key: str) -> None:
        """Atomically give `tmp` the name `final` unless `final` exists (see module doc)."""
        try:
            self._make_parent(final)
            try:
                os.link(tmp, final)
            except FileExistsError:
                if _same_file(tmp, final):  # NFS: retransmitted link that did succeed
                    return
                raise AlreadyExists(key) from None
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) or not _links_unsupported(exc):
                    raise
                self._publish_new_without_links(tmp, final, key)
            self._fsync_dir(final.parent)
        finally:
            _unlink_quiet(tmp)

    def _publish_new_without_links(self, tmp: Path, final: Path, key: str) -> None:
        if os.name == "nt":
            try:
                os.rename(tmp, final)  # never replaces on Windows
            except FileExistsError:
                raise AlreadyExists(key) from None
            return
        with self._lock(key):
            if os.path.lexists(final):
                raise AlreadyExists(key)
            os.replace(tmp, final)

    def _replace(self, tmp: Path, final: Path) -> None:
        try:
            _retry_windows(os.replace, tmp, final)
            self._fsync_dir(final.parent)
        finally:
            _unlink_quiet(tmp)

    def etags_of(self, path: Path) -> set[str]:
        return {_hash_file(path)}

    def _current_etag(self, path: Path) -> str | None:
        try:
            return _hash_file(path)
        except (FileNotFoundError, NotADirectoryError):
            return None

    # ---------------------------------------------------------------- small objects

    def put_create_only(self, key: str, data: bytes) -> None:
        final = self._path(key)
        with self._io("put_create_only", key):
            self._publish_new(self._write_temp(data), final, key)

    def put(self, key: str, data: bytes) -> str:
        final = self._path(key)
        with self._io("put", key):
            tmp = self._write_temp(data)
            try:
                self._make_parent(final)
                # Locked so a concurrent put_if_match cannot compare against a stale version.
                with self._lock(key):
                    self._replace(tmp, final)
            finally:
                _unlink_quiet(tmp)
        return etag_of(data)

    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        final = self._path(key)
        with self._io("put_if_match", key):
            tmp = self._write_temp(data)
            try:
                if etag is None:
                    try:
                        self._publish_new(tmp, final, key)
                    except AlreadyExists:
                        raise PreconditionFailed(key) from None
                else:
                    self._make_parent(final)
                    with self._lock(key):
                        if self._current_etag(final) != etag:
                            raise PreconditionFailed(key)
                        self._replace(tmp, final)
            finally:
                _unlink_quiet(tmp)
        return etag_of(data)

    def get_with_etag(self, key: str, limit: int | None = None) -> tuple[bytes, str]:
        path = self._path(key)
        with self._io("get", key):
            if path.is_dir():  # Windows reports opening a folder as PermissionError
                raise NotFound(key)
            with open(path, "rb") as f:
                data = f.read() if limit is None else f.read(limit + 1)
            if limit is not None and len(data) > limit:
                return data, _hash_file(path)  # the etag of the whole object, as head() gives it
        return data, etag_of(data)

    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            with self._io("head", key):
                if path.is_dir():
                    return None
                size = os.stat(path).st_size
                return ObjectInfo(size=size, etag=_hash_file(path))
        except NotFound:
            return None

    def exists(self, key: str) -> bool:
        return self._existing_size(key) is not None

    def _existing_size(self, key: str) -> int | None:
        # stat only: head() hashes the whole file, too slow for multi-GB media.
        path = self._path(key)
        try:
            with self._io("stat", key):
                if path.is_dir():
                    return None
                return os.stat(path).st_size
        except NotFound:
            return None

    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        # Sort full keys, not per folder: "a-b" < "a/c" in key order but not in a tree walk.
        base = prefix.rpartition("/")[0]
        with self._io("list", prefix):
            self._check_root()
            start = self._path(base) if base else self.root  # validates: no '..' escapes
            keys: list[str] = []
            if start.is_dir():
                for dirpath, dirnames, filenames in os.walk(start):
                    dirnames[:] = [d for d in dirnames if not d.startswith(".")]
                    rel = Path(dirpath).relative_to(self.root).as_posix()
                    head = "" if rel == "." else rel + "/"
                    for name in filenames:
                        if name.startswith("."):
                            continue
                        k = head + name
                        if k.startswith(prefix) and (start_after is None or k > start_after):
                            keys.append(k)
        keys.sort()
        yield from keys

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._io("delete", key):
            self._check_root()
            with self._lock(key):
                _retry_windows(_unlink_quiet, path)

    # ---------------------------------------------------------------- media

    def download_file(
        self,
        key: str,
        dest: Path,
        *,
        progress: ProgressFn | None = None,
        cancelled: CancelledFn | None = None,
    ) -> None:
        src = self._path(key)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with self._io("download", key):
                if src.is_dir():
                    raise NotFound(key)
                with open(src, "rb") as inp:
                    total = os.fstat(inp.fileno()).st_size
                    done = 0
                    with open(tmp, "wb") as out:
                        while chunk := inp.read(_CHUNK):
                            if cancelled and cancelled():
                                raise Cancelled(key)
                            out.write(chunk)
                            done += len(chunk)
                            if progress:
                                progress(done, total)
                        out.flush()
                        os.fsync(out.fileno())
            if progress and total == 0:
                progress(0, 0)
            os.replace(tmp, dest)
        finally:
            _unlink_quiet(tmp)

    def presign_get(self, key: str, expires_s: int) -> str:
        # No expiry for folders: a file:// URL is only meaningful where the folder is mounted.
        return self._path(key).as_uri()

    def presign_put(self, key: str, expires_s: int) -> str:
        return self._path(key).as_uri()

    # ---------------------------------------------------------------- multipart primitives

    def _upload_dir(self, upload_id: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise UploadNotFound("", f"invalid upload id {upload_id!r}")
        return self.root / _UPLOADS / upload_id

    def _mp_create(self, key: str) -> str:
        self._path(key)  # validate now, not at completion
        upload_id = uuid.uuid4().hex
        with self._io("create_multipart_upload", key):
            d = self._internal(_UPLOADS) / upload_id
            d.mkdir()
            with open(d / "meta.json", "x", encoding="utf-8") as f:
                json.dump({"key": key, "created": time.time()}, f)
        return upload_id

    def _mp_check(self, key: str, upload_id: str) -> Path:
        d = self._upload_dir(upload_id)
        try:
            with open(d / "meta.json", encoding="utf-8") as f:
                meta = json.load(f)
        except (FileNotFoundError, NotADirectoryError, ValueError):
            self._check_root()
            raise UploadNotFound(key, f"upload {upload_id} of {key!r} does not exist") from None
        if meta.get("key") != key:
            raise UploadNotFound(key, f"upload {upload_id} belongs to another key")
        return d

    def _mp_upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        etag = etag_of(data)
        with self._io("upload_part", key):
            d = self._mp_check(key, upload_id)
            tmp = d / f".{number:05d}.{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "xb") as f:
                    f.write(data)
                    f.flush()
                    if self.durable:
                        os.fsync(f.fileno())
                _retry_windows(os.replace, tmp, d / f"{number:05d}-{etag}")
            except FileNotFoundError:
                raise UploadNotFound(key, f"upload {upload_id} of {key!r} vanished") from None
            finally:
                _unlink_quiet(tmp)
            for other in d.glob(f"{number:05d}-*"):
                if other.name != f"{number:05d}-{etag}":
                    _unlink_quiet(other)  # superseded by this re-upload
        return etag

    def _mp_list_parts(self, key: str, upload_id: str) -> dict[int, ObjectInfo]:
        parts: dict[int, ObjectInfo] = {}
        with self._io("list_parts", key):
            d = self._mp_check(key, upload_id)
            for entry in os.scandir(d):
                m = _PART_RE.fullmatch(entry.name)
                if m:
                    parts[int(m.group(1))] = ObjectInfo(size=entry.stat().st_size, etag=m.group(2))
        return parts

    def _mp_complete(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None:
        final = self._path(key)
        with self._io("complete_multipart_upload", key):
            d = self._mp_check(key, upload_id)
            tmp = self._internal(_TMP) / f"{uuid.uuid4().hex}.tmp"
            try:
                with open(tmp, "xb") as out:
                    for part in parts:
                        try:
                            with open(d / f"{part.number:05d}-{part.etag}", "rb") as inp:
                                shutil.copyfileobj(inp, out, _CHUNK)
                        except FileNotFoundError:
                            raise StoreError(f"part {part.number} of {key!r} missing", key=key) from None
                    out.flush()
                    if self.durable:
                        os.fsync(out.fileno())
                self._make_parent(final)
                # Media is content-addressed, so replacing an equal object is harmless.
                with self._lock(key):
                    self._replace(tmp, final)
            finally:
                _unlink_quiet(tmp)
            shutil.rmtree(d, ignore_errors=True)

    def _mp_abort(self, key: str, upload_id: str) -> None:
        with self._io("abort_multipart_upload", key):
            d = self._mp_check(key, upload_id)
            shutil.rmtree(d, ignore_errors=True)


def _hash_file(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _links_unsupported(exc: OSError) -> bool:
    if exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV, errno.ENOSYS):
        return True
    # ERROR_INVALID_FUNCTION, ACCESS_DENIED, NOT_SAME_DEVICE, NOT_SUPPORTED (FAT, some shares).
    return getattr(exc, "winerror", None) in (1, 5, 17, 50)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _retry_windows(fn: Callable[..., _T], *args: object) -> _T:
    """Run `fn`, retrying PermissionError briefly on Windows (file open in another process)."""
    for delay in _RETRY_DELAYS:
        if delay:
            time.sleep(delay)
        try:
            return fn(*args)
        except PermissionError:
            if os.name != "nt":
                raise
    return fn(*args)
