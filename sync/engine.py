# This file is longer than 500 lines because push, pull and quarantine share the cycle lock and the
# per-device hold state they set for each other; snapshots (sync/snapshots.py) and device records
# (sync/devices.py) are already split out as mixins.
"""SyncEngine: the push / pull / snapshot / media logic, one cycle at a time, no threads.

Push. This device's pending gestures (apply order) go up as immutable, create-only batch objects
``log/{device}/{n:012d}.json.gz`` of up to `batch_size` gestures. They are marked pushed only after
the PUT succeeded, in the transaction that records batch n. A create that finds the object already
there is the crash-before-ack case only when the object holds exactly (op_ids and content) our
first pending gestures; then we ack those. Anything else means another copy of this library wrote
under our device id (a copied folder, a restored backup): this library re-mints its id
(`core.identity`), pushes what is unpushed under the new one and pulls the old id's log from where
its own history stops. The same happens when the bucket holds batches of our id with gestures we
never had (checked at start and with each rescan of ``log/``).

Pull. For every other device (``devices/`` records, plus a periodic scan of ``log/``), list its
batches after our cursor and apply them in order, each one with its cursor update in one
transaction (`Library.merge_remote(..., in_transaction=...)`). A batch is validated completely
before anything is written (`sync.codec`, then the gesture engine's own checks); one that fails, or
whose merge raises anything at all, is quarantined (key + reason recorded locally, reported in
status) and blocks that device's cursor: its later batches wait, and since snapshots only hold what
cursors cover, no snapshot skips it either (a newer device must not inherit an older build's gap).
A quarantined object is never fetched again by the same build; after an upgrade (`build_id`
changed) each one is retried once, and a batch that is valid now is merged and unblocks its device.
A batch whose clock is implausibly far ahead (`Library.merge_remote`) waits for the other devices
of the cycle and is quarantined if it is still ahead.
A gap in a device's batch numbers (n+2 listed, n+1 absent) holds that device until it appears:
batches are written in order, so a gap is an object still in flight on an eventually consistent
store (a synced folder) or a deleted one, and guessing would lose gestures silently.

Snapshots. Every `snapshot_every` gestures a device uploads ``snapshots/{uuid}.json.gz`` (every
gesture it holds that its cursors cover, plus those cursors) and advances ``snapshots/latest.json``
with a compare-and-swap on its etag, so two devices never clobber each other and the pointer never
moves back to a smaller snapshot. A library that has never pulled starts from the latest snapshot
and then pulls each device after the snapshot's cursors.

Polling cost. After each push a device rewrites ``head.json`` (a few bytes). A pull first reads its
etag with one HEAD (R2 class B, 12x cheaper than a LIST) and lists devices and logs only when it
changed since the last listing, or every `FULL_LIST_EVERY_S` as a safety net. Devices of builds that
never write the head object are known by their records (`sync.devices`): their logs alone are
listed at every poll. An idle library of current builds thus costs one HEAD per poll.

Device ids. A library restored from R2 alone is a new, empty library and so mints a NEW device id. It
must not reuse the old one: the old id's log already holds batches 0..n (the restored library
cannot know n for certain: an upload may have landed after the last thing it can see), so reused
numbers would collide (412s read as a clash) or, worse, interleave two histories under one name;
and the old machine may still be alive. Under a new id the old log is simply another device's.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from core.db import models as m
from core.gestures.model import ClockAhead, canonical_json
from core.ids import new_uid
from core.library import Library
from sync.codec import (
    MAX_BATCH_COMPRESSED,
    DeviceRecord,
    FormatError,
    decode_batch,
    encode_batch,
    fit_batch,
    utc_iso,
)
from sync.layout import LIBRARIES, Layout, library_uid_after, skip_past
from sync.ledger import Ledger
from sync.media import MediaCounts, MediaStatus, MediaSync
from sync.devices import RESCAN_LOG_EVERY, DevicesMixin, build_id, first_key
from sync.snapshots import SnapshotsMixin
from sync.store import (
    AlreadyExists,
    CancelledFn,
    NotFound,
    PreconditionFailed,
    ProgressFn,
    RemoteStore,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500
DEFAULT_SNAPSHOT_EVERY = 5_000
FULL_LIST_EVERY_S = 600.0  # list even when the head object did not change, at most this often
_SETTING_QUARANTINE_BUILD = "sync.quarantine_build"


class SyncError(Exception):
    """A sync problem that needs the user (not a transient outage)."""


@dataclass
class SyncCounts:
    pushed: int = 0  # gestures
    batches_pushed: int = 0
    acked: int = 0  # batches found already uploaded by an earlier attempt
    pulled: int = 0  # gestures newly applied from other devices
    batches_pulled: int = 0
    duplicates: int = 0
    quarantined: int = 0  # objects newly quarantined this cycle
    reminted: int = 0  # this library found it is a copy and took a new device id
    unquarantined: int = 0
    bootstrapped: int = 0  # gestures applied from a snapshot
    snapshot: str | None = None  # key of a snapshot written this cycle
    media_uploaded: int = 0
    media_downloaded: int = 0
    media_failed: int = 0
    held: list[str] = field(default_factory=list)

    def add(self, other: SyncCounts) -> SyncCounts:
        for name, value in asdict(other).items():
            mine = getattr(self, name)
            if isinstance(value, int):
                setattr(self, name, mine + value)
            elif isinstance(value, list):
                mine.extend(value)
            elif value is not None:
                setattr(self, name, value)
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class SyncEngine(SnapshotsMixin, DevicesMixin):
    def __init__(self, library: Library, store: RemoteStore, *, library_uid: str | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
                 device_name: str | None = None, cancelled: CancelledFn | None = None,
                 poll_head: bool = True) -> None:
        if not 1 <= batch_size <= 5_000:
            raise ValueError("batch_size must be within 1..5000")
        self.library = library
        self.store = store
        # The setting, not library.library_uid: `remote set` may have adopted another uid since opening.
        self.library_uid = library_uid or library.get_setting("library_uid") or library.library_uid
        self.layout = Layout(self.library_uid)
        self.device_id = library.device_id
        self.batch_size = batch_size
        self.snapshot_every = snapshot_every
        self.device_name = device_name or _hostname()
        self.ledger = Ledger(library)
        self._cancelled: CancelledFn = cancelled or (lambda: False)
        # Media transfers stop on their own flag: quitting cancels a 2 GB upload but still flushes gestures.
        self.media_cancel = threading.Event()
        self.media = MediaSync(library, store, self.layout, self.ledger,
                               lambda: self.media_cancel.is_set() or self._cancelled())
        self._lock = threading.RLock()  # one gesture cycle at a time (the thread's loop and a quit flush)
        self._media_lock = threading.Lock()  # the media queue runs beside gesture cycles, never inside one
        self.holds: dict[str, str] = {}  # device -> why its pull is held
        self._gaps: set[str] = set()  # held devices waiting for an object already written: list each poll
        self._pulls = 0
        self._records: dict[str, tuple[str, DeviceRecord | None]] = {}
        self._bootstrap_checked = False
        self._quarantine_retried = False
        self._snapshot_base: int | None = None
        self.poll_head = poll_head
        self._listed_head: str | None = None  # etag of head.json when we last listed
        self._listed_at = float("-inf")

    # ================================================================ push
    def push_once(self) -> SyncCounts:
        """Upload every pending gesture of this device; returns what went up."""
        counts = SyncCounts()
        with self._lock:
            if not self.library.pending_count():
                return counts
            self._publish_record()
            batch = self.ledger.next_batch()
            while not self._cancelled():
                pending = self.library.pending_gestures(self.batch_size)
                if not pending:
                    break
                key = self.layout.batch_key(self.device_id, batch)
                wire = [g.to_wire() for g in pending]
                wire = wire[:fit_batch(wire)]
                op_ids = [g["op_id"] for g in wire]
                body = encode_batch(self.library_uid, self.device_id, batch, wire)
                try:
                    self._create(key, body)
                except AlreadyExists:
                    acked = self._reconcile(key, batch, op_ids, body)
                    if acked is None:  # another copy wrote it: we are a new device now, start over
                        counts.reminted += 1
                        self._publish_record()
                        batch = self.ledger.next_batch()
                        continue
                    op_ids = acked
                    counts.acked += 1
                with self.library.transaction() as conn:
                    Ledger.record_batch(conn, batch, key, len(op_ids))
                    Library.mark_pushed(conn, op_ids, batch)
                counts.pushed += len(op_ids)
                counts.batches_pushed += 1
                log.debug("pushed batch %d (%d gestures)", batch, len(op_ids))
                batch += 1
        if counts.pushed:
            log.info("pushed %d gesture(s) in %d batch(es)", counts.pushed, counts.batches_pushed)
            if self.poll_head:
                self._touch_head()
        return counts

    def _touch_head(self) -> None:
        # A fresh uid per push: two pushes within one clock second must still change the etag,
        # or the other devices would skip the second until their next full listing.
        body = json.dumps({"device": self.device_id, "at": utc_iso(), "push": new_uid()}).encode()
        try:  # unchanged since our last listing: then our own write need not make us list again
            etag = self.store.put_if_match(self.layout.head_key, body, self._listed_head)
        except PreconditionFailed:
            self.store.put(self.layout.head_key, body)  # another device pushed too: the next pull lists
            return
        self._listed_head = etag

    def _create(self, key: str, body: bytes) -> None:
        self.store.put_create_only(key, body)

    def _reconcile(self, key: str, batch: int, op_ids: list[str], body: bytes) -> list[str] | None:
        """The op_ids to ack for an existing batch object `key`; None after re-minting our id."""
        for _attempt in range(3):
            try:
                data = self.store.get(key, MAX_BATCH_COMPRESSED)  # larger: not a valid batch
                break
            except NotFound:
                # R2 answers 409 while a racing conditional write is in flight, and the object
                # may not be readable yet (or that write failed): create it again.
                try:
                    self._create(key, body)
                except AlreadyExists:
                    continue
                return op_ids
        else:
            raise SyncError(f"batch {batch} exists but cannot be read")
        try:
            theirs = decode_batch(data, library_uid=self.library_uid, device_id=self.device_id, batch=batch)
        except FormatError as exc:
            detail = f"it is not a valid batch ({exc})"
        else:
            detail = "it holds other gestures"
            # The earlier attempt may have used another batch size; the object must hold exactly
            # our first pending gestures, byte for byte, to be ours.
            mine = [g.to_wire() for g in self.library.pending_gestures(max(len(theirs), len(op_ids)))]
            if canonical_json(theirs) == canonical_json(mine[:len(theirs)]):
                log.info("batch %d was already uploaded by an earlier attempt; acknowledged", batch)
                return [g["op_id"] for g in theirs]
        self._become_new_device(f"batch {batch} of device {self.device_id} was written by another copy of this "
                                f"library ({detail})")
        return None

    def _become_new_device(self, reason: str) -> None:
        old = self.device_id
        self.device_id = self.library.remint_device(reason)
        self.holds.pop(self.device_id, None)
        log.warning("this library is a copy of another (%s): device %s is now %s", reason, old, self.device_id)

    def foreign_own_batch(self) -> str | None:
        """A batch of our id holding edits this library never had: a copy or a restored backup wrote it."""
        with self.library.read() as conn:
            last = conn.execute(select(m.SyncBatch.key).order_by(m.SyncBatch.batch.desc()).limit(1)).scalar()
        for key in self.store.list_keys(self.layout.device_log_prefix(self.device_id), start_after=last):
            parsed = self.layout.parse_batch_key(key)
            if parsed is None:
                continue
            try:
                fetched = self._fetch_checked(key, MAX_BATCH_COMPRESSED)
                theirs = [] if isinstance(fetched, str) else decode_batch(
                    fetched, library_uid=self.library_uid, device_id=self.device_id, batch=parsed[1])
            except (NotFound, FormatError):
                theirs = []
            held = self.library.known_op_ids([g["op_id"] for g in theirs])
            # Otherwise it is our own crash-before-ack object (or unreadable): the push reconciles it.
            return key if any(g["op_id"] not in held for g in theirs) else None
        return None

    def _check_own_log(self, counts: SyncCounts) -> None:
        key = self.foreign_own_batch()
        if key is not None:
            self._become_new_device(f"the bucket holds {key.rsplit('/', 1)[-1]} of this device id with edits "
                                    "this library never had (a restored backup or a copied folder)")
            counts.reminted += 1

    # ================================================================ pull
    def pull_once(self) -> SyncCounts:
        """Apply every new batch of every other device; returns what came in."""
        counts = SyncCounts()
        with self._lock:
            self._publish_record()
            listing, head = self._changed_head()
            if listing:
                if self._pulls % RESCAN_LOG_EVERY == 0:
                    self._check_own_log(counts)
                self._maybe_bootstrap(counts)
                if not self._quarantine_retried:
                    self._quarantine_retried = True
                    if self.library.get_setting(_SETTING_QUARANTINE_BUILD) not in (None, build_id()):
                        self._retry_quarantined(counts)
                devices = self._remote_devices()
            else:
                devices = self._headless()  # older builds never touch the head object: list their logs
            ahead: list[str] = []
            for device in sorted(devices):
                if self._cancelled():
                    break
                if self._pull_guarded(device, counts, final=False):
                    ahead.append(device)
            for device in ahead:  # the other devices' batches may have brought our clock close enough
                self._pull_guarded(device, counts, final=True)
            if listing and not self._cancelled():
                self._listed_head, self._listed_at = head, time.monotonic()
            counts.held = sorted(self.holds.values())
        if counts.pulled or counts.quarantined:
            log.info("pulled %d gesture(s) in %d batch(es); %d quarantined", counts.pulled, counts.batches_pulled,
                     counts.quarantined)
        return counts

    def _changed_head(self) -> tuple[bool, str | None]:
        """Whether to list devices and logs now, and the head etag to remember when we do."""
        if not self.poll_head:
            return True, None
        info = self.store.head(self.layout.head_key)
        etag = info.etag if info is not None else None
        fresh = time.monotonic() - self._listed_at < FULL_LIST_EVERY_S
        return not (etag is not None and etag == self._listed_head and fresh and not self._gaps), etag

    def _pull_guarded(self, device: str, counts: SyncCounts, *, final: bool) -> bool:
        """Pull one device; True when it stopped at a batch whose clock is too far ahead."""
        try:
            return self._pull_device(device, counts, final=final)
        except StoreUnavailable:
            raise
        except StoreError as exc:  # one device's problem must not stop the others
            self.holds[device] = f"device {device}: {exc}"
            log.warning("pull of device %s stopped: %s", device, exc)
            return False

    def _pull_device(self, device: str, counts: SyncCounts, *, final: bool) -> bool:
        cursor = self.ledger.cursors().get(device)
        expected = 0 if cursor is None else cursor.last_batch + 1
        start_after = None if cursor is None else cursor.last_key
        quarantined = self.ledger.quarantined_keys()
        self.holds.pop(device, None)
        self._gaps.discard(device)
        for key in self.store.list_keys(self.layout.device_log_prefix(device), start_after=start_after):
            if self._cancelled():
                return False
            parsed = self.layout.parse_batch_key(key)
            if parsed is None:
                if key not in quarantined:
                    self._quarantine(key, device, None, "not a batch object name", counts)
                    quarantined.add(key)
                continue
            batch = parsed[1]
            if batch < expected:
                continue  # covered by the snapshot this library started from
            if batch > expected:
                self.holds[device] = f"device {device}: waiting for batch {expected} (batch {batch} is there)"
                self._gaps.add(device)
                log.warning("%s", self.holds[device])
                return False
            if key in quarantined:  # remembered: not fetched again until an upgrade retries it
                self.holds[device] = f"device {device}: batch {batch} is quarantined; its later batches wait"
                return False
            applied = self._apply_batch(device, batch, key, counts, final=final)
            if applied is not True:
                return applied is None
            expected += 1
        return False

    def _fetch_checked(self, key: str, limit: int) -> bytes | str:
        """The object's bytes, or why it is refused (too large: not even downloaded)."""
        info = self.store.head(key)
        if info is None:
            raise NotFound(key)
        if info.size > limit:
            return f"object too large ({info.size} bytes, limit {limit})"
        data = self.store.get(key, limit)  # it may have grown since the HEAD
        if len(data) > limit:
            return f"object too large ({len(data)} bytes, limit {limit})"
        return data

    def _apply_batch(self, device: str, batch: int, key: str, counts: SyncCounts, *, final: bool) -> bool | None:
        """True: applied. False: quarantined or gone (the device waits). None: clock ahead, try later."""
        try:
            fetched = self._fetch_checked(key, MAX_BATCH_COMPRESSED)
        except NotFound:
            self.holds[device] = f"device {device}: batch {batch} disappeared while reading it"
            self._gaps.add(device)
            return False
        reason: str | None = fetched if isinstance(fetched, str) else None
        gestures: list[dict[str, Any]] = []
        if reason is None:
            assert isinstance(fetched, bytes)
            try:
                gestures = decode_batch(fetched, library_uid=self.library_uid, device_id=device, batch=batch)
            except FormatError as exc:
                reason = str(exc)
        if reason is None:
            try:
                result = self.library.merge_remote(
                    gestures, in_transaction=lambda conn: Ledger.set_cursor(conn, device, batch, key))
            except ClockAhead as exc:
                if not final:
                    self.holds[device] = f"device {device}: batch {batch} waits ({exc})"
                    return None
                reason = f"invalid gesture: {exc}"
            except OperationalError:
                raise  # this library's own trouble (locked, disk full): the batch is not to blame
            except Exception as exc:  # anything a remote batch makes the merge raise is the batch's fault
                reason = f"invalid gesture: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            else:
                counts.pulled += result.applied
                counts.duplicates += result.duplicates
                counts.batches_pulled += 1
                return True
        self._quarantine(key, device, batch, reason, counts)
        self.holds[device] = f"device {device}: batch {batch} is quarantined; its later batches wait"
        return False

    def _quarantine(self, key: str, device: str | None, batch: int | None, reason: str,
                    counts: SyncCounts) -> None:
        """Record a refused object (its device's cursor stays before it)."""
        log.warning("quarantined %s: %s", key, reason)
        with self.library.transaction() as conn:
            if Ledger.add_quarantine(conn, key, device, batch, reason):
                counts.quarantined += 1
            Library.put_setting_in(conn, _SETTING_QUARANTINE_BUILD, build_id())

    def _retry_quarantined(self, counts: SyncCounts) -> None:
        """After an upgrade: merge quarantined batches that have become valid (unblocking their device)
        and drop ones deleted remotely."""
        for item in self.ledger.quarantined():
            key, device, batch = item["key"], item["device_id"], item["batch"]
            if device is None or batch is None or self.layout.parse_batch_key(key) != (device, batch):
                continue
            try:
                fetched = self._fetch_checked(key, MAX_BATCH_COMPRESSED)
            except NotFound:
                with self.library.transaction() as conn:
                    Ledger.remove_quarantine(conn, key)
                continue
            if isinstance(fetched, str):
                continue

            def unblock(conn: Any, k: str = key, d: str = device, b: int = batch) -> None:
                Ledger.remove_quarantine(conn, k)
                Ledger.set_cursor(conn, d, b, k)

            try:
                gestures = decode_batch(fetched, library_uid=self.library_uid, device_id=device, batch=batch)
                result = self.library.merge_remote(gestures, in_transaction=unblock)
            except OperationalError:
                raise
            except Exception:  # still not applicable by this build
                continue
            log.info("quarantined batch %s is valid now; merged %d gesture(s)", key, result.applied)
            counts.pulled += result.applied
            counts.unquarantined += 1
        self.library.set_setting(_SETTING_QUARANTINE_BUILD, build_id())

    # ================================================================ media
    def media_once(self, *, progress: ProgressFn | None = None) -> SyncCounts:
        with self._media_lock:
            mc: MediaCounts = self.media.run_once(progress=progress)
        return SyncCounts(media_uploaded=mc.uploaded, media_downloaded=mc.downloaded, media_failed=mc.failed)

    def media_status(self, media_hash: str) -> MediaStatus:
        return self.media.status(media_hash)

    def request_media(self, media_hash: str) -> MediaStatus:
        return self.media.request(media_hash)

    def download_media(self, media_hash: str, *, progress: ProgressFn | None = None,
                       cancelled: CancelledFn | None = None) -> Any:
        return self.media.download(media_hash, progress=progress, cancelled=cancelled)

    # ================================================================ a full cycle
    def sync_once(self, *, media: bool = True) -> SyncCounts:
        """Push, pull, snapshot, media. Offline (StoreUnavailable) and other store errors propagate."""
        counts = SyncCounts()
        with self._lock:
            counts.add(self.push_once())
            counts.add(self.pull_once())
            if counts.reminted and self.library.pending_count():
                counts.add(self.push_once())  # found out in the pull: push the relayed gestures now
            counts.snapshot = self.snapshot_once()
        if media:
            counts.add(self.media_once())
        return counts

    # ================================================================ status numbers
    def local_status(self) -> dict[str, int]:
        return {"pending": self.library.pending_count(), "conflicts": len(self.library.conflicts()),
                "media_bytes_pending": self.media.bytes_pending(), "media_bytes_incoming": self.media.bytes_incoming(),
                "quarantined": self.ledger.quarantine_count()}


def discover_libraries(store: RemoteStore, limit: int = 100) -> list[str]:
    """Library uids present in a bucket/prefix (one listing per library, by skip-scanning)."""
    found: list[str] = []
    after: str | None = None
    for _ in range(limit * 10):
        key = first_key(store.list_keys(LIBRARIES, start_after=after))
        if key is None:
            break
        uid = library_uid_after(key)
        if uid is None:
            after = key
            continue
        found.append(uid)
        if len(found) >= limit:
            break
        after = skip_past(f"{LIBRARIES}{uid}/")
    return found


def _hostname() -> str:
    try:
        return socket.gethostname() or "unknown"
    except OSError:
        return "unknown"

