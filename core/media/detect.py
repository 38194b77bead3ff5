"""Cheap content sniffing and folder expansion for imports.

The sniff only reads the first few KiB, so a folder of thousands of files is filtered quickly; the
real verdict is always :func:`core.media.probe.probe`.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import Path

log = logging.getLogger(__name__)

SNIFF_BYTES = 4096

_TS_PACKET = 188
_ISO_BOX_TYPES = {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
# ftyp major brands that mean "not a video": audio-only MP4 and HEIF / AVIF still images.
_ISO_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_ISO_IMAGE_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis", b"jpeg"}
_MXF_PARTITION = bytes.fromhex("060e2b34020501010d010201")
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")

# Names that the OS or other tools drop into folders; never media.
_SYSTEM_NAMES = {
    "thumbs.db",
    "desktop.ini",
    "$recycle.bin",
    "system volume information",
    "__macosx",
    ".ds_store",
}
_FILE_ATTRIBUTE_HIDDEN = 0x2
_FILE_ATTRIBUTE_SYSTEM = 0x4


class Sniffed(str, Enum):
    """What the first bytes of a file look like."""

    VIDEO = "video"
    AUDIO = "audio"
    IMAGE = "image"
    UNKNOWN = "unknown"


def sniff_bytes(head: bytes) -> Sniffed:
    """Classify a file by its first bytes (at least 1 KiB recommended)."""
    if len(head) >= 12 and head[4:8] in _ISO_BOX_TYPES:
        if head[4:8] == b"ftyp":
            brand = head[8:12]
            if brand in _ISO_AUDIO_BRANDS:
                return Sniffed.AUDIO
            if brand in _ISO_IMAGE_BRANDS:
                return Sniffed.IMAGE
        return Sniffed.VIDEO
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska / WebM
        return Sniffed.VIDEO
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return Sniffed.VIDEO
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return Sniffed.AUDIO
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed.IMAGE
    if _is_mpeg_ts(head):
        return Sniffed.VIDEO
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):  # MPEG-PS / ES
        return Sniffed.VIDEO
    if head.startswith(b"FLV\x01"):
        return Sniffed.VIDEO
    if head.startswith(_ASF_GUID):  # ASF: WMV (or WMA; the probe decides)
        return Sniffed.VIDEO
    if head.startswith(_MXF_PARTITION):
        return Sniffed.VIDEO
    if head.startswith(b".RMF"):
        return Sniffed.VIDEO
    if head.startswith(b"OggS"):
        return Sniffed.VIDEO if b"\x80theora" in head else Sniffed.AUDIO
    if _is_image(head):
        return Sniffed.IMAGE
    if _is_audio(head):
        return Sniffed.AUDIO
    return Sniffed.UNKNOWN


def _is_mpeg_ts(head: bytes) -> bool:
    # Plain TS (sync byte every 188) or M2TS / AVCHD (4-byte timecode before each packet).
    for offset, step in ((0, _TS_PACKET), (4, _TS_PACKET + 4)):
        marks = [offset + i * step for i in range(3)]
        if marks[-1] < len(head) and all(head[m] == 0x47 for m in marks):
            return True
    return False


def _is_image(head: bytes) -> bool:
    return (
        head.startswith(b"\x89PNG\r\n\x1a\n")
        or head.startswith(b"\xff\xd8\xff")  # JPEG
        or head.startswith((b"GIF87a", b"GIF89a"))
        or head.startswith(b"BM")
        or head.startswith((b"II*\x00", b"MM\x00*"))  # TIFF
        or head.startswith(b"\x00\x00\x01\x00")  # ICO
    )


def _is_audio(head: bytes) -> bool:
    return (
        head.startswith(b"ID3")
        or head.startswith(b"fLaC")
        or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)  # MPEG audio / ADTS sync
    )


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """First ``size`` bytes of a file (OSError propagates)."""
    with open(path, "rb") as fh:
        return fh.read(size)


def looks_like_video(path: Path) -> bool:
    """True when the first bytes look like a video container. Unreadable files count as not video."""
    try:
        head = read_head(Path(path))
    except OSError as exc:
        log.debug("cannot sniff %s: %s", path, exc)
        return False
    return sniff_bytes(head) is Sniffed.VIDEO


def is_hidden_or_system(entry: os.DirEntry[str] | Path) -> bool:
    """Dot-files, Windows hidden/system attributes, and well-known OS litter."""
    name = entry.name
    if name.startswith(".") or name.casefold() in _SYSTEM_NAMES:
        return True
    try:
        st = entry.stat(follow_symlinks=False) if isinstance(entry, os.DirEntry) else entry.lstat()
    except OSError:
        return False
    attrs = getattr(st, "st_file_attributes", 0)  # Windows only
    return bool(attrs & (_FILE_ATTRIBUTE_HIDDEN | _FILE_ATTRIBUTE_SYSTEM))


def iter_candidate_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, plus every non-hidden file inside named folders (recursively, sorted).

    A file named directly is always yielded (the user chose it); hidden entries are skipped only
    while expanding folders. Unreadable folders are logged and skipped; each file is yielded once.
    """
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()

    def key(p: Path) -> str:
        return os.path.normcase(os.path.abspath(p))

    def walk(folder: Path) -> Iterator[Path]:
        try:
            st = folder.stat()
            ident = (st.st_dev, st.st_ino)
            if ident in seen_dirs and ident != (0, 0):  # symlink / junction loop
                return
            seen_dirs.add(ident)
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
        except OSError as exc:
            log.warning("skipping unreadable folder %s: %s", folder, exc)
            return
        for entry in entries:
            if is_hidden_or_system(entry):
                continue
            try:
                if entry.is_dir():
                    yield from walk(Path(entry.path))
                elif entry.is_file():
                    yield Path(entry.path)
            except OSError as exc:
                log.warning("skipping %s: %s", entry.path, exc)

    for raw in paths:
        path = Path(raw)
        candidates = walk(path) if path.is_dir() else iter([path])
        for file in candidates:
            k = key(file)
            if k not in seen_files:
                seen_files.add(k)
                yield file
