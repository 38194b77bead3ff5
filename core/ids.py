"""Identifiers: client-minted, time-sortable UUIDs (uuid7) for every syncable row."""
from __future__ import annotations

import re
import uuid

from uuid6 import uuid7

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HASH_RE = re.compile(r"[0-9a-f]{64}")


def new_uid() -> str:
    """A new uuid7 as its canonical lower-case string."""
    return str(uuid7())


def is_uid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID_RE.fullmatch(value))


def is_media_hash(value: object) -> bool:
    """BLAKE3 hex digest (32 bytes)."""
    return isinstance(value, str) and bool(_HASH_RE.fullmatch(value))


def parse_uid(value: str) -> str:
    return str(uuid.UUID(value))
