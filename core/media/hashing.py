"""Content addressing: BLAKE3 while copying (or hard-linking) a file into the library's media folder.

Every path into ``dest_dir`` goes through a temporary file in the same folder and one atomic rename
to ``dest_dir/<hash>``, so a crash, a cancel or a full disk never leaves a partial media file.
"""
from __future__ import annotations

import errno
import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import blake3

from core.media.errors import ImportCancelled, MediaError, MediaErrorKind, from_os_error, is_disk_full

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024
TEMP_PREFIX = ".import-"
TEMP_SUFFIX = ".part"

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]

# Hard links are impossible across volumes (EXDEV / Windows ERROR_NOT_SAME_DEVICE) or on file systems
# without them (FAT32, exFAT, some network shares): fall back to copying.
_NO_LINK_ERRNOS = {errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
_WIN_NOT_SAME_DEVICE = 17
_WIN_INVALID_FUNCTION = 1
# A source that goes away mid-read: unplugged USB drive, lost network share, stale NFS handle.
_GONE_ERRNOS = {errno.ENODEV, errno.ENXIO, getattr(errno, "ESTALE", errno.ENODEV)}
_WIN_GONE = {21, 53, 55, 64, 1167}  # NOT_READY, BAD_NETPATH, DEV_NOT_EXIST, NETNAME_DELETED, DEVICE_NOT_CONNECTED


def _hasher() -> blake3.blake3:
    # BLAKE3 parallelises large updates; chunks are 4 MiB so threads pay off.
    return blake3.blake3(max_threads=blake3.blake3.AUTO)


def _write_chunk(out: BinaryIO, data: memoryview) -> None:
    """Write all of ``data`` to the unbuffered destination (a seam tests use to simulate a full disk)."""
    while data:
        written = out.write(data)
        data = data[written:]


def hash_file(path: Path, *, chunk: int = CHUNK) -> str:
    """BLAKE3 hex digest of a file's bytes."""
    path = Path(path)
    hasher = _hasher()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    try:
        with open(path, "rb") as src:
            while n := src.readinto(buffer):
                hasher.update(view[:n])
    except OSError as exc:
        raise from_os_error(path, exc) from exc
    return hasher.hexdigest()


def copy_and_hash(
    src: Path,
    dest_dir: Path,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    chunk: int = CHUNK,
) -> tuple[str, Path]:
    """Copy ``src`` into ``dest_dir/<blake3>`` reading it once; returns (hash, final path).

    Raises :class:`ImportCancelled` when ``cancelled()`` turns true and :class:`MediaError` for any
    failure; in both cases no temporary or partial file remains.
    """
    src, dest_dir = Path(src), Path(dest_dir)
    _ensure_dir(dest_dir)
    temp = _temp_path(dest_dir)
    try:
        digest = _copy_into(src, temp, progress=progress, cancelled=cancelled, chunk=chunk)
        return digest, _commit(src, temp, dest_dir / digest)
    finally:
        _remove_quietly(temp)


def link_and_hash(
    src: Path,
    dest_dir: Path,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    chunk: int = CHUNK,
) -> tuple[str, Path]:
    """Like :func:`copy_and_hash` but hard-links instead of copying when ``src`` is on the same volume.

    The library then shares the bytes with the original: editing the original in place would change
    the media (the "link instead of copy" setting accepts that to save space on huge files).
    Falls back to a copy where hard links are impossible.
    """
    src, dest_dir = Path(src), Path(dest_dir)
    _ensure_dir(dest_dir)
    _check_source(src)
    temp = _temp_path(dest_dir)
    try:
        try:
            os.link(src, temp)
        except OSError as exc:
            if _link_unsupported(exc):
                log.info("cannot hard-link %s into %s (%s); copying instead", src, dest_dir, exc)
                return copy_and_hash(src, dest_dir, progress=progress, cancelled=cancelled, chunk=chunk)
            if isinstance(exc, FileNotFoundError):
                raise _source_error(src, exc) from exc
            raise from_os_error(src, exc, doing="linking the file into the library") from exc
        # Hash the link itself (same bytes as the source), so what is named is exactly what is stored.
        digest = _read_hash(temp, src, progress, cancelled, chunk, out=None)
        return digest, _commit(src, temp, dest_dir / digest)
    finally:
        _remove_quietly(temp)


def _link_unsupported(exc: OSError) -> bool:
    return exc.errno in _NO_LINK_ERRNOS or getattr(exc, "winerror", None) in (
        _WIN_NOT_SAME_DEVICE,
        _WIN_INVALID_FUNCTION,
    )


def _temp_path(dest_dir: Path) -> Path:
    # Hidden (dot) name inside dest_dir: same volume, so the final rename is atomic.
    return dest_dir / f"{TEMP_PREFIX}{uuid.uuid4().hex}{TEMP_SUFFIX}"


def _ensure_dir(dest_dir: Path) -> None:
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise from_os_error(dest_dir, exc, doing="creating the media folder") from exc


def _check_source(src: Path) -> int:
    try:
        st = src.stat()
    except OSError as exc:
        raise from_os_error(src, exc) from exc
    if not os.path.isfile(src):
        raise MediaError(src, "not a regular file", MediaErrorKind.NOT_A_FILE)
    if st.st_size == 0:
        raise MediaError(src, "empty file (0 bytes)", MediaErrorKind.EMPTY)
    return st.st_size


def _copy_into(src: Path, temp: Path, *, progress: Progress | None, cancelled: Cancelled | None,
               chunk: int) -> str:
    _check_source(src)
    try:
        # Unbuffered: a failed write leaves nothing in a buffer that close() would retry and fail on
        # again, hiding the clear error behind a raw OSError.
        out = open(temp, "xb", buffering=0)
    except OSError as exc:
        raise _dest_error(src, exc) from exc
    try:
        digest = _read_hash(src, src, progress, cancelled, chunk, out=out)
        try:
            os.fsync(out.fileno())  # the rename must never expose a file whose bytes are not on disk
        except OSError as exc:
            raise _dest_error(src, exc) from exc
    except BaseException:
        try:
            out.close()
        except OSError:
            pass  # already failing; the temp file is removed by the caller
        raise
    try:
        out.close()  # network file systems may report quota / space errors only here
    except OSError as exc:
        raise _dest_error(src, exc) from exc
    return digest


def _read_hash(read_path: Path, src: Path, progress: Progress | None, cancelled: Cancelled | None,
               chunk: int, *, out: BinaryIO | None) -> str:
    """Read ``read_path`` once, hashing and (when ``out`` is given) writing each chunk."""
    hasher = _hasher()
    buffer = bytearray(chunk)
    view = memoryview(buffer)
    done = 0
    try:
        fh = open(read_path, "rb")
    except OSError as exc:
        raise _source_error(src, exc) from exc
    with fh:
        try:
            before = os.fstat(fh.fileno())
        except OSError as exc:
            raise _source_error(src, exc) from exc
        total = before.st_size
        if progress is not None:
            progress(0, total)
        while True:
            if cancelled is not None and cancelled():
                raise ImportCancelled(f"import of {src.name} cancelled")
            try:
                n = fh.readinto(buffer)
            except OSError as exc:
                raise _source_error(src, exc) from exc
            if not n:
                break
            data = view[:n]
            hasher.update(data)
            if out is not None:
                try:
                    _write_chunk(out, data)
                except OSError as exc:
                    raise _dest_error(src, exc) from exc
            done += n
            if progress is not None:
                progress(done, total)
    _check_unchanged(read_path, src, before, done)
    return hasher.hexdigest()


def _check_unchanged(read_path: Path, src: Path, before: os.stat_result, done: int) -> None:
    """The bytes read must be the whole, unchanged file, or the hash names something that never existed."""
    try:
        after = os.stat(read_path)
    except FileNotFoundError as exc:
        raise MediaError(src, "the file disappeared during the copy", MediaErrorKind.DISAPPEARED) from exc
    except OSError as exc:
        raise _source_error(src, exc) from exc
    if done != before.st_size or after.st_size != done or after.st_mtime_ns != before.st_mtime_ns:
        raise MediaError(
            src,
            "the file changed during the copy (is it still being written?)",
            MediaErrorKind.SOURCE_CHANGED,
        )


def _source_error(src: Path, exc: OSError) -> MediaError:
    if isinstance(exc, FileNotFoundError):
        return MediaError(src, "the file disappeared during the copy", MediaErrorKind.DISAPPEARED)
    if exc.errno in _GONE_ERRNOS or getattr(exc, "winerror", None) in _WIN_GONE:
        return MediaError(
            src,
            "the file became unavailable during the copy (drive removed or network lost?)",
            MediaErrorKind.DISAPPEARED,
        )
    return from_os_error(src, exc, doing="reading the file")


def _dest_error(src: Path, exc: OSError, *, doing: str = "writing to the library's media folder") -> MediaError:
    """A destination failure, reported against the file being imported (the temp name means nothing)."""
    if is_disk_full(exc):
        return MediaError(src, "not enough space on the destination disk", MediaErrorKind.DISK_FULL)
    if isinstance(exc, FileNotFoundError):
        return MediaError(src, f"the media folder vanished while {doing}", MediaErrorKind.IO)
    return from_os_error(src, exc, doing=doing)


def _commit(src: Path, temp: Path, final: Path) -> Path:
    """Atomically move ``temp`` to ``final``; identical content already there wins."""
    if final.exists():
        return final  # same hash, same bytes: the caller's finally removes the temp file
    try:
        os.replace(temp, final)
    except OSError as exc:
        # Windows refuses to replace a file another program has open; if it exists it is the same bytes.
        if final.exists():
            return final
        raise _dest_error(src, exc, doing="moving the copy into the media folder") from exc
    return final


def _remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # best effort: a leftover ``.import-*.part`` is hidden and swept later
        log.warning("could not remove temporary file %s: %s", path, exc)


def sweep_temp_files(dest_dir: Path) -> int:
    """Delete temporary files left by a crash mid-import; returns how many were removed."""
    removed = 0
    try:
        candidates = list(Path(dest_dir).glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))
    except OSError:
        return 0
    for path in candidates:
        try:
            path.unlink()
            removed += 1
        except OSError as exc:
            log.warning("could not remove stale temporary file %s: %s", path, exc)
    return removed
