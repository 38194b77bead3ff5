"""Object keys of one library in the bucket (docs/ARCHITECTURE.md, "Sync").

Everything lives under ``libraries/{library_uid}/``; keys name UUIDs and media hashes only.
Batch numbers are zero-padded to 12 digits so lexicographic listing order is numeric order.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from core.ids import is_media_hash, is_uid

LIBRARIES = "libraries/"
BATCH_DIGITS = 12
MAX_BATCH_NUMBER = 10**BATCH_DIGITS - 1
_BATCH_NAME_RE = re.compile(r"^(\d{12})\.json\.gz$")


@dataclass(frozen=True)
class Layout:
    library_uid: str

    def __post_init__(self) -> None:
        if not is_uid(self.library_uid):
            raise ValueError(f"library uid must be a uuid, not {self.library_uid!r}")

    @property
    def root(self) -> str:
        return f"{LIBRARIES}{self.library_uid}/"

    @property
    def library_key(self) -> str:
        """A small marker written by `remote set`, so the library is discoverable before its first push."""
        return f"{self.root}library.json"

    # -- gesture log -----------------------------------------------------------------------------
    @property
    def log_prefix(self) -> str:
        return f"{self.root}log/"

    def device_log_prefix(self, device_id: str) -> str:
        return f"{self.log_prefix}{device_id}/"

    def batch_key(self, device_id: str, batch: int) -> str:
        if not 0 <= batch <= MAX_BATCH_NUMBER:
            raise ValueError(f"batch number out of range: {batch}")
        return f"{self.device_log_prefix(device_id)}{batch:0{BATCH_DIGITS}d}.json.gz"

    def parse_batch_key(self, key: str) -> tuple[str, int] | None:
        """(device id, batch number) of a well-formed batch key of this library, else None."""
        if not key.startswith(self.log_prefix):
            return None
        device, sep, name = key[len(self.log_prefix):].partition("/")
        match = _BATCH_NAME_RE.match(name)
        if not sep or not is_uid(device) or match is None:
            return None
        return device, int(match.group(1))

    def device_of_log_key(self, key: str) -> str | None:
        """The device folder a key under ``log/`` belongs to (even a malformed one's)."""
        if not key.startswith(self.log_prefix):
            return None
        device, sep, _rest = key[len(self.log_prefix):].partition("/")
        return device if sep and is_uid(device) else None

    # -- media -----------------------------------------------------------------------------------
    def media_key(self, media_hash: str) -> str:
        if not is_media_hash(media_hash):
            raise ValueError(f"not a media hash: {media_hash!r}")
        return f"{self.root}media/{media_hash}"

    # -- devices ---------------------------------------------------------------------------------
    @property
    def devices_prefix(self) -> str:
        return f"{self.root}devices/"

    def device_key(self, device_id: str) -> str:
        return f"{self.devices_prefix}{device_id}.json"

    def device_of_record_key(self, key: str) -> str | None:
        name = key[len(self.devices_prefix):] if key.startswith(self.devices_prefix) else ""
        device = name.removesuffix(".json")
        return device if name.endswith(".json") and is_uid(device) else None

    # -- snapshots -------------------------------------------------------------------------------
    @property
    def snapshots_prefix(self) -> str:
        return f"{self.root}snapshots/"

    @property
    def head_key(self) -> str:
        """Rewritten after every push: one cheap GET/HEAD tells a poller whether anything changed."""
        return f"{self.root}head.json"

    @property
    def pointer_key(self) -> str:
        return f"{self.snapshots_prefix}latest.json"

    def snapshot_key(self, snapshot_uid: str) -> str:
        return f"{self.snapshots_prefix}{snapshot_uid}.json.gz"

    def is_snapshot_key(self, key: str) -> bool:
        name = key[len(self.snapshots_prefix):] if key.startswith(self.snapshots_prefix) else ""
        return name.endswith(".json.gz") and is_uid(name.removesuffix(".json.gz"))


def library_uid_after(key: str) -> str | None:
    """The library uid a bucket key belongs to (``libraries/{uid}/...``), if any."""
    if not key.startswith(LIBRARIES):
        return None
    uid, sep, _rest = key[len(LIBRARIES):].partition("/")
    return uid if sep and is_uid(uid) else None


def skip_past(prefix_with_slash: str) -> str:
    """A ``start_after`` value just past every key under ``prefix_with_slash``.

    '0' is the code point after '/', and uids are fixed length, so no sibling folder is skipped.
    """
    assert prefix_with_slash.endswith("/")
    return prefix_with_slash[:-1] + "0"
