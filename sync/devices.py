"""Device records, as part of `sync.engine.SyncEngine` (see its docstring): publishing this device's
record, finding the other devices, and telling which of them run another build.

A record (``devices/{id}.json``) names the device's build and the gesture kinds it reads. It is
written before the device's first batch and again after an upgrade (then the head object is
touched, so the others re-read it at their next poll). From the records each device tells at once,
without waiting for a quarantine, that another one runs an older ReelDesk that cannot read some
kinds of edit made here (that device quarantines them and its later edits wait), or that this one
is the older; both are reported in the sync status and by `doctor`, with the fix (update the older
one). Records of builds older than this one carry no build: those builds never write the head
object either, so their logs are listed on every poll instead of only at the periodic full listing.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from importlib import metadata

from core import identity
from core.enums import GestureKind
from core.library import Library
from sync.codec import MAX_SMALL_JSON, VERSION, DeviceRecord, FormatError, decode_device, encode_device, known_kinds
from sync.layout import Layout, skip_past
from sync.store import NotFound, RemoteStore

log = logging.getLogger("sync.engine")

RESCAN_LOG_EVERY = 20  # listing pulls between full scans of log/ (and of our own id's log, for clones)
_SHOWN_KINDS = 5


def build_id() -> str:
    """What this build can read: a quarantined batch is retried only when it changes (an upgrade)."""
    try:
        version = metadata.version("reeldesk")
    except metadata.PackageNotFoundError:
        version = "dev"
    kinds = ",".join(sorted(k.value for k in GestureKind))
    return f"{version}/{VERSION}/" + hashlib.sha256(kinds.encode()).hexdigest()[:12]


def _kinds_text(kinds: set[str]) -> str:
    shown = sorted(kinds)[:_SHOWN_KINDS]
    more = len(kinds) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def skew_advice(device: str, record: DeviceRecord) -> str | None:
    """Why `device` and this build cannot read each other's edits, with the fix; None when they can."""
    who = f"device {record.name!r} ({device})"
    if record.kinds is None:
        return (f"{who} runs an older ReelDesk that may not read edits made here: update ReelDesk on that "
                "computer")
    mine = known_kinds()
    if missing := mine - record.kinds:
        return (f"{who} runs an older ReelDesk that cannot read {_kinds_text(set(missing))} edits made here; "
                "its later edits wait behind them: update ReelDesk on that computer")
    if extra := record.kinds - mine:
        return (f"this computer runs an older ReelDesk than {who}, which makes {_kinds_text(set(extra))} edits "
                "this one cannot read: update ReelDesk here")
    return None


class DevicesMixin:
    library: Library
    store: RemoteStore
    layout: Layout
    library_uid: str
    device_id: str
    device_name: str
    poll_head: bool
    holds: dict[str, str]
    _lock: threading.RLock
    _pulls: int
    _records: dict[str, tuple[str, DeviceRecord | None]]  # device -> (etag of its record, the record)

    def _touch_head(self) -> None:
        raise NotImplementedError

    def _publish_record(self) -> None:
        """Write this device's record once per library, device id and build."""
        marker = f"{self.library_uid} {build_id()}"
        if self.library.get_setting(identity.SETTING_REGISTERED) == marker:
            return
        self.store.put(self.layout.device_key(self.device_id),
                       encode_device(self.library_uid, self.device_id, self.device_name, build_id()))
        self.library.set_setting(identity.SETTING_REGISTERED, marker)
        if self.poll_head:
            self._touch_head()

    def _read_records(self) -> set[str]:
        """Every device with a record; re-reads only records whose etag changed since the last look."""
        devices: set[str] = set()
        for key, etag in self.store.list_etags(self.layout.devices_prefix):
            device = self.layout.device_of_record_key(key)
            if device is None:
                continue
            devices.add(device)
            if device == self.device_id or self._records.get(device, ("", None))[0] == etag:
                continue
            record: DeviceRecord | None = None
            try:
                record = decode_device(self.store.get(key, MAX_SMALL_JSON), library_uid=self.library_uid,
                                       device_id=device)
            except (NotFound, FormatError) as exc:
                log.info("device record %s is unreadable: %s", key, exc)
            self._records[device] = (etag, record)
        for device in list(self._records):
            if device not in devices:
                del self._records[device]
                self.holds.pop(f"build:{device}", None)
        for device, (_etag, record) in self._records.items():
            advice = skew_advice(device, record) if record is not None and device != self.device_id else None
            if advice is None:
                self.holds.pop(f"build:{device}", None)
            else:
                self.holds[f"build:{device}"] = advice
        return devices

    def _headless(self) -> set[str]:
        """Devices on builds that never write the head object: their logs are listed at every poll."""
        return {d for d, (_e, r) in self._records.items()
                if r is not None and r.build is None and d != self.device_id}

    def device_skews(self) -> list[str]:
        """Each other device whose build reads other gesture kinds than this one, with the fix."""
        with self._lock:
            self._read_records()
            return sorted(v for k, v in self.holds.items() if k.startswith("build:"))

    def _remote_devices(self) -> set[str]:
        devices = self._read_records()
        if self._pulls % RESCAN_LOG_EVERY == 0:
            devices |= self._scan_log_devices()
        self._pulls += 1
        devices.discard(self.device_id)
        return devices

    def _scan_log_devices(self) -> set[str]:
        """Device folders under log/ by skip-scanning: one listing per device, not per object."""
        found: set[str] = set()
        after: str | None = None
        for _ in range(10_000):
            key = first_key(self.store.list_keys(self.layout.log_prefix, start_after=after))
            if key is None:
                break
            device = self.layout.device_of_log_key(key)
            if device is None:
                after = key  # a stray object directly under log/: step over it
                continue
            found.add(device)
            after = skip_past(self.layout.device_log_prefix(device))
        return found


def first_key(keys: Iterator[str]) -> str | None:
    try:
        return next(keys, None)
    finally:
        close = getattr(keys, "close", None)
        if close is not None:
            close()
