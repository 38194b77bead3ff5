"""Errors raised while importing media: one exception type with a human message and a machine kind."""
from __future__ import annotations

import errno
from enum import Enum
from pathlib import Path


class MediaErrorKind(str, Enum):
    """Why a file could not be used; lets the UI pick an icon or a hint without parsing text."""

    NOT_FOUND = "not_found"
    NOT_A_FILE = "not_a_file"
    EMPTY = "empty"
    PERMISSION = "permission"
    LOCKED = "locked"
    NOT_MEDIA = "not_media"
    IMAGE = "image"
    AUDIO_ONLY = "audio_only"
    NO_VIDEO = "no_video"
    TRUNCATED = "truncated"
    UNDECODABLE = "undecodable"
    NO_DURATION = "no_duration"
    SOURCE_CHANGED = "source_changed"
    DISAPPEARED = "disappeared"
    DISK_FULL = "disk_full"
    IO = "io"


class MediaError(Exception):
    """A file cannot be imported or read. ``message`` is short, human and path-free."""

    def __init__(self, path: Path, message: str, kind: MediaErrorKind = MediaErrorKind.IO) -> None:
        self.path = Path(path)
        self.message = message
        self.kind = kind
        super().__init__(f"{self.path.name}: {message}")


class OperationCancelled(Exception):
    """The user cancelled a long media operation; nothing partial was left behind."""


class ImportCancelled(OperationCancelled):
    """The user cancelled an import (copy / link + hash)."""


# Windows reports sharing / lock violations as EACCES; winerror tells them apart from real ACLs.
_WIN_SHARING_VIOLATION = 32
_WIN_LOCK_VIOLATION = 33
_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def is_disk_full(exc: OSError) -> bool:
    return exc.errno in _NO_SPACE


def from_os_error(path: Path, exc: OSError, *, doing: str = "reading") -> MediaError:
    """Translate an OSError into a MediaError with a message an editor understands."""
    if isinstance(exc, FileNotFoundError):
        return MediaError(path, "file not found", MediaErrorKind.NOT_FOUND)
    if isinstance(exc, IsADirectoryError):
        return MediaError(path, "a folder, not a file", MediaErrorKind.NOT_A_FILE)
    if getattr(exc, "winerror", None) in (_WIN_SHARING_VIOLATION, _WIN_LOCK_VIOLATION):
        return MediaError(
            path, "the file is in use by another program (close it and try again)", MediaErrorKind.LOCKED
        )
    if isinstance(exc, PermissionError):
        return MediaError(path, f"permission denied while {doing}", MediaErrorKind.PERMISSION)
    if is_disk_full(exc):
        return MediaError(path, "not enough space on the destination disk", MediaErrorKind.DISK_FULL)
    reason = exc.strerror or exc.__class__.__name__
    return MediaError(path, f"input/output error while {doing}: {reason}", MediaErrorKind.IO)
