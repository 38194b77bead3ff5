"""Wire formats of the objects the sync writes: gesture batches, snapshots, the snapshot pointer,
device records. All gzip'd or plain JSON, decoded strictly (size limits before and during
decompression, no NaN/Infinity, no duplicate keys, exact field sets), because every object in a
shared bucket is untrusted input.

A `FormatError` means "this object can never be applied as it is": the caller quarantines it.
"""
from __future__ import annotations

import gzip
import io
import json
import math
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.enums import GestureKind
from core.gestures.model import canonical_json
from core.ids import is_uid
from sync.layout import MAX_BATCH_NUMBER

MiB = 1024 * 1024
MAX_BATCH_COMPRESSED = 8 * MiB
# A batch (and each chunk of a snapshot) is parsed whole, so its size bounds memory: 8 MiB of JSON and at most this many
# containers and items keep any object under ~100 MB of Python objects. Pushes stay well below
# (`PUSH_BATCH_JSON`), so no honest batch comes near these limits.
MAX_BATCH_JSON = 8 * MiB
MAX_BATCH_CONTAINERS = 250_000
MAX_BATCH_ITEMS = 1_000_000
PUSH_BATCH_JSON = 4 * MiB
MAX_BATCH_GESTURES = 10_000
MAX_SNAPSHOT_COMPRESSED = 256 * MiB
MAX_SNAPSHOT_JSON = 1024 * MiB
MAX_SMALL_JSON = 64 * 1024  # pointer and device records

BATCH_FORMAT = "reeldesk.batch"
SNAPSHOT_FORMAT = "reeldesk.snapshot"
POINTER_FORMAT = "reeldesk.snapshot-pointer"
DEVICE_FORMAT = "reeldesk.device"
VERSION = 1

_BATCH_FIELDS = frozenset({"format", "v", "library", "device", "batch", "created_at", "gestures"})
_SNAPSHOT_FIELDS = frozenset({"format", "v", "library", "created_by", "created_at", "cursors", "gestures"})
_POINTER_FIELDS = frozenset({"format", "v", "library", "key", "gesture_count", "cursors", "created_by",
                             "created_at"})
_GESTURE_FIELDS = frozenset({"op_id", "device_id", "lamport", "kind", "entity", "payload", "base_version",
                             "undoes"})
_KINDS = frozenset(k.value for k in GestureKind)
_GZIP_LEVEL = 6


class FormatError(ValueError):
    """A remote object that is malformed, oversized or inconsistent with its key."""


class UnsupportedVersion(FormatError):
    """Written by a newer ReelDesk: kept in quarantine and retried after an upgrade."""


def utc_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# -- generic ---------------------------------------------------------------------------------------
def gzip_json(doc: Any) -> bytes:
    raw = canonical_json(doc)
    # mtime=0: the same batch always compresses to the same bytes (easier to diff and dedupe).
    return gzip.compress(raw.encode("utf-8"), compresslevel=_GZIP_LEVEL, mtime=0)


def gunzip_limited(data: bytes, *, max_compressed: int, max_uncompressed: int) -> bytes:
    """Decompress at most `max_uncompressed` bytes: a gzip bomb fails without filling memory."""
    if len(data) > max_compressed:
        raise FormatError(f"object too large ({len(data)} bytes compressed, limit {max_compressed})")
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data), mode="rb") as f:
            out = f.read(max_uncompressed + 1)
            if len(out) > max_uncompressed:
                raise FormatError(f"object too large uncompressed (limit {max_uncompressed} bytes)")
            if f.read(1):  # pragma: no cover - read(n+1) already reached EOF
                raise FormatError("object too large uncompressed")
    except FormatError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise FormatError(f"not valid gzip ({type(exc).__name__})") from None
    return out


_STRING_RE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def check_shape(raw: bytes, *, max_containers: int, max_items: int) -> tuple[int, int]:
    """Count what parsing `raw` would build (strings blanked out first) and refuse too much.
    Returns (containers, items)."""
    bare = _STRING_RE.sub(b'""', raw)
    containers = bare.count(b"[") + bare.count(b"{")
    if containers > max_containers:
        raise FormatError(f"too many nested objects ({containers}, limit {max_containers})")
    items = containers + bare.count(b",")
    if items > max_items:
        raise FormatError(f"too many values ({items}, limit {max_items})")
    return containers, items


def _reject_constant(name: str) -> Any:
    raise FormatError(f"{name} is not allowed in JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise FormatError(f"number {text[:40]} overflows")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(f"duplicate key {key[:40]!r}")
        out[key] = value
    return out


def strict_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite,
                          object_pairs_hook=_no_duplicates)
    except FormatError:
        raise
    except UnicodeDecodeError:
        raise FormatError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (RecursionError, ValueError):
        raise FormatError("not valid JSON (nested too deeply or a number out of range)") from None


def _check_header(doc: Any, fmt: str, fields: frozenset[str], library_uid: str,
                  version: int = VERSION) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise FormatError("top level is not a JSON object")
    if doc.get("format") != fmt:
        raise FormatError(f"format is {str(doc.get('format'))[:40]!r}, expected {fmt!r}")
    v = doc.get("v")
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        raise FormatError("format version missing or invalid")
    if v > version:
        raise UnsupportedVersion(f"format version {v} is newer than this ReelDesk understands ({version})")
    missing, extra = fields - doc.keys(), doc.keys() - fields
    if missing or extra:
        raise FormatError(f"fields missing {sorted(missing)} / unexpected {sorted(extra)[:5]}")
    if doc["library"] != library_uid:
        raise FormatError("object belongs to another library")
    if not isinstance(doc["created_at"], str) or len(doc["created_at"]) > 64:
        raise FormatError("created_at must be a short string")
    return doc


def _check_count(value: Any, what: str, maximum: int = MAX_BATCH_NUMBER) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        raise FormatError(f"{what} must be an integer within 0..{maximum}")
    return value


def _check_cursors(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > 100_000:
        raise FormatError("cursors must be an object")
    for device, batch in value.items():
        if not is_uid(device):
            raise FormatError("cursor device ids must be uuids")
        _check_count(batch, "cursor batch")
    return dict(value)


def _check_gestures(value: Any, *, maximum: int) -> list[dict[str, Any]]:
    """Shape of each wire gesture; the gesture engine validates values (validate_remote).

    A gesture's author may differ from the device whose batch carries it: a re-minted copy relays
    the unpushed gestures of its former id (see core.identity); op_ids make that idempotent."""
    if not isinstance(value, list):
        raise FormatError("gestures must be a list")
    if len(value) > maximum:
        raise FormatError(f"too many gestures ({len(value)}, limit {maximum})")
    seen: set[str] = set()
    for i, g in enumerate(value):
        if not isinstance(g, dict) or g.keys() != _GESTURE_FIELDS:
            raise FormatError(f"gesture {i} does not have exactly the gesture fields")
        if not isinstance(g["kind"], str) or g["kind"] not in _KINDS:  # a list is not even hashable
            raise FormatError(f"gesture {i} has unknown kind {str(g['kind'])[:40]!r}")
        if not is_uid(g["op_id"]) or g["op_id"] in seen:
            raise FormatError(f"gesture {i} has an invalid or repeated op_id")
        seen.add(g["op_id"])
        if not is_uid(g["device_id"]):
            raise FormatError(f"gesture {i} has an invalid device id")
    return value


# -- batches ---------------------------------------------------------------------------------------
def fit_batch(gestures: list[dict[str, Any]], limit: int = PUSH_BATCH_JSON) -> int:
    """How many of `gestures` (at least one) fit in one batch of at most `limit` bytes of JSON."""
    total = 0
    for n, g in enumerate(gestures):
        total += len(canonical_json(g).encode("utf-8")) + 1
        if total > limit and n:
            return n
    return len(gestures)


def encode_batch(library_uid: str, device_id: str, batch: int, gestures: list[dict[str, Any]]) -> bytes:
    return gzip_json({"format": BATCH_FORMAT, "v": VERSION, "library": library_uid, "device": device_id,
                      "batch": batch, "created_at": utc_iso(), "gestures": gestures})


def decode_batch(data: bytes, *, library_uid: str, device_id: str, batch: int) -> list[dict[str, Any]]:
    """The wire gestures of a batch object whose key names `device_id` and `batch`."""
    raw = gunzip_limited(data, max_compressed=MAX_BATCH_COMPRESSED, max_uncompressed=MAX_BATCH_JSON)
    check_shape(raw, max_containers=MAX_BATCH_CONTAINERS, max_items=MAX_BATCH_ITEMS)
    doc = _check_header(strict_json(raw), BATCH_FORMAT, _BATCH_FIELDS, library_uid)
    if doc["device"] != device_id:
        raise FormatError("device id in the object does not match its key")
    if doc["batch"] != batch:
        raise FormatError(f"batch number in the object ({str(doc['batch'])[:20]}) does not match its key")
    gestures = _check_gestures(doc["gestures"], maximum=MAX_BATCH_GESTURES)
    if not gestures:
        raise FormatError("batch holds no gestures")
    return gestures


# -- snapshots -------------------------------------------------------------------------------------
# A snapshot is gzip'd JSON lines: a header (version 2: no gestures in it), then one gesture per line,
# so a reader holds one bounded chunk of gestures at a time whatever the object holds. A version-1
# snapshot (one JSON document) is read only when it is no bigger than a batch.
SNAPSHOT_VERSION = 2
_SNAPSHOT_HEADER_FIELDS = _SNAPSHOT_FIELDS - {"gestures"}


@dataclass(frozen=True)
class Pointer:
    key: str
    gesture_count: int
    cursors: dict[str, int]
    created_by: str
    created_at: str


def encode_snapshot(library_uid: str, created_by: str, cursors: Mapping[str, int],
                    gestures: Iterable[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=_GZIP_LEVEL, mtime=0) as f:
        f.write(canonical_json({"format": SNAPSHOT_FORMAT, "v": SNAPSHOT_VERSION, "library": library_uid,
                                "created_by": created_by, "created_at": utc_iso(),
                                "cursors": dict(cursors)}).encode("utf-8") + b"\n")
        for g in gestures:
            f.write(canonical_json(g).encode("utf-8") + b"\n")
    return out.getvalue()


class SnapshotReader:
    """Reads a snapshot file in bounded steps: `open` checks the header, `chunks` yields the gestures
    in lists of at most a batch's worth (JSON bytes, values and count), so memory stays bounded by
    the batch limits whatever the object holds. Raises FormatError at the first bad line."""

    def __init__(self, path: Path, *, library_uid: str) -> None:
        self._file = gzip.open(path, "rb")
        self._read = 0
        self._first: list[dict[str, Any]] = []
        try:
            line = self._line()
            if line is None:
                raise FormatError("snapshot is empty")
            self._count_shape(line)
            doc = strict_json(line)
            version1 = isinstance(doc, dict) and doc.get("v") == 1
            fields = _SNAPSHOT_FIELDS if version1 else _SNAPSHOT_HEADER_FIELDS
            doc = _check_header(doc, SNAPSHOT_FORMAT, fields, library_uid, SNAPSHOT_VERSION)
            if not is_uid(doc["created_by"]):
                raise FormatError("created_by must be a device uuid")
            self.created_by: str = doc["created_by"]
            self.created_at: str = doc["created_at"]
            self.cursors = _check_cursors(doc["cursors"])
            if version1:
                self._first = _check_gestures(doc["gestures"], maximum=MAX_BATCH_GESTURES)
                if self._line() is not None:
                    raise FormatError("a version-1 snapshot is one JSON document")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SnapshotReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self) -> bytes | None:
        try:
            line = self._file.readline(MAX_BATCH_JSON + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise FormatError(f"not valid gzip ({type(exc).__name__})") from None
        if not line:
            return None
        if len(line) > MAX_BATCH_JSON:
            raise FormatError(f"a snapshot line is over {MAX_BATCH_JSON} bytes (an old-format snapshot that "
                              "large is not read whole)")
        self._read += len(line)
        if self._read > MAX_SNAPSHOT_JSON:
            raise FormatError(f"snapshot too large uncompressed (limit {MAX_SNAPSHOT_JSON} bytes)")
        return line

    @staticmethod
    def _count_shape(line: bytes) -> tuple[int, int]:
        return check_shape(line, max_containers=MAX_BATCH_CONTAINERS, max_items=MAX_BATCH_ITEMS)

    def chunks(self) -> Iterator[list[dict[str, Any]]]:
        if self._first:
            yield self._first
            return
        chunk: list[dict[str, Any]] = []
        size = containers = items = 0
        while (line := self._line()) is not None:
            c, i = self._count_shape(line)
            if chunk and (size + len(line) > MAX_BATCH_JSON or containers + c > MAX_BATCH_CONTAINERS
                          or items + i > MAX_BATCH_ITEMS or len(chunk) >= MAX_BATCH_GESTURES):
                yield chunk
                chunk, size, containers, items = [], 0, 0, 0
            chunk.extend(_check_gestures([strict_json(line)], maximum=1))
            size, containers, items = size + len(line), containers + c, items + i
        if chunk:
            yield chunk


def encode_pointer(library_uid: str, pointer: Pointer) -> bytes:
    doc = {"format": POINTER_FORMAT, "v": VERSION, "library": library_uid, "key": pointer.key,
           "gesture_count": pointer.gesture_count, "cursors": pointer.cursors, "created_by": pointer.created_by,
           "created_at": pointer.created_at}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def decode_pointer(data: bytes, *, library_uid: str, snapshots_prefix: str) -> Pointer:
    if len(data) > MAX_SMALL_JSON:
        raise FormatError("snapshot pointer too large")
    doc = _check_header(strict_json(data), POINTER_FORMAT, _POINTER_FIELDS, library_uid)
    key = doc["key"]
    name = key[len(snapshots_prefix):] if isinstance(key, str) and key.startswith(snapshots_prefix) else ""
    if not (name.endswith(".json.gz") and is_uid(name.removesuffix(".json.gz"))):
        raise FormatError("snapshot pointer names a key outside the library's snapshots")
    if not is_uid(doc["created_by"]):
        raise FormatError("created_by must be a device uuid")
    return Pointer(key, _check_count(doc["gesture_count"], "gesture_count", 2**53), _check_cursors(doc["cursors"]),
                   doc["created_by"], doc["created_at"])


# -- device records --------------------------------------------------------------------------------
_DEVICE_FIELDS = frozenset({"format", "v", "library", "device", "name"})


def known_kinds() -> frozenset[str]:
    """The gesture kinds this build reads (what a device record announces)."""
    return _KINDS


@dataclass(frozen=True)
class DeviceRecord:
    """``devices/{id}.json``. `build` and `kinds` are None in records of builds older than the record
    manifest; those builds also never write the head object, so their pushes show only in listings."""
    name: str
    build: str | None
    kinds: frozenset[str] | None


def encode_device(library_uid: str, device_id: str, name: str, build: str) -> bytes:
    doc = {"format": DEVICE_FORMAT, "v": VERSION, "library": library_uid, "device": device_id,
           "name": name[:200], "first_seen": utc_iso(), "build": build, "kinds": sorted(known_kinds())}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode_device(data: bytes, *, library_uid: str, device_id: str) -> DeviceRecord:
    """A device record; fields beyond the known ones are allowed (a newer build may add some)."""
    if len(data) > MAX_SMALL_JSON:
        raise FormatError("device record too large")
    doc = strict_json(data)
    if not isinstance(doc, dict) or doc.get("format") != DEVICE_FORMAT or not _DEVICE_FIELDS <= doc.keys():
        raise FormatError("not a device record")
    if doc["library"] != library_uid or doc["device"] != device_id:
        raise FormatError("device record of another library or device")
    name, build, kinds = doc["name"], doc.get("build"), doc.get("kinds")
    if not isinstance(name, str) or (build is not None and not isinstance(build, str)):
        raise FormatError("device name and build must be strings")
    if kinds is not None and not (isinstance(kinds, list) and all(isinstance(k, str) and len(k) <= 64
                                                                 for k in kinds)):
        raise FormatError("device kinds must be a list of short strings")
    return DeviceRecord(name[:200], None if build is None else build[:200],
                        None if kinds is None else frozenset(kinds))
