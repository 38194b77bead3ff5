"""The media queue: content-addressed uploads to ``media/{blake3}`` and verified downloads.

It runs apart from the gesture log (docs/ARCHITECTURE.md, "Sync"): a gesture naming a 2 GB file is pushed at once;
the file follows when the queue gets to it. Uploads are multipart and resumable across restarts
(the `MultipartState` JSON is persisted after every part); downloads land in a staging file, are
hashed, and only a file whose BLAKE3 matches its name is moved into ``media/``.

What comes down is chosen by `MediaPolicy` (default: the media of every clip used in a project).
The bucket copy of every local file is checked by etag (a HEAD; the expected etags are computed
from the file once and kept) on the first cycle and every few hours: a missing or corrupted object
is uploaded again. A download that fails verification remembers the bad object's etag and is not
repeated until the object changes (the uploader's repair), so a bad object costs one download.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from sqlalchemy import select

from core.db import models as m
from core.ids import is_media_hash
from core.library import Library
from core.media.errors import MediaError
from core.media.hashing import hash_file
from sync.layout import Layout
from sync.ledger import Ledger, Transfer, TransferDirection, TransferStatus
from sync.store import (
    Cancelled,
    CancelledFn,
    MultipartState,
    NotFound,
    ProgressFn,
    RemoteStore,
    StoreError,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

INCOMING_DIR = "sync-incoming"  # under the library's cache/: same volume as media/, so the move is atomic
SETTING_POLICY = "sync.media_policy"
_SETTING_ETAGS = "sync.media_etags."  # + hash: the etags an intact bucket copy of that file may have
VERIFY_EVERY_S = 6 * 3600.0


class MediaPolicy(str, Enum):
    REELS = "reels"  # media of every clip used in a project (the default)
    ALL = "all"  # every media file of the library
    ON_DEMAND = "on_demand"  # only what an editor opens


class MediaStatus(str, Enum):
    LOCAL = "local"  # the file is in media/ (and uploaded, or nothing to upload to)
    UPLOADING = "uploading"  # the file is local and queued for / in upload
    DOWNLOADING = "downloading"  # requested from the remote, transfer in progress
    REMOTE_ONLY = "remote_only"  # known from a gesture, not here: the UI shows "waiting for media"
    UNKNOWN = "unknown"  # no such media in this library


class MediaNotAvailable(StoreError):
    """The media object is not on the remote (yet): the other device has not uploaded it."""


class MediaVerifyError(StoreError):
    """A downloaded file's BLAKE3 did not match its key: it was discarded, nothing entered media/."""


@dataclass
class MediaCounts:
    uploaded: int = 0
    downloaded: int = 0
    failed: int = 0
    bytes_sent: int = 0


class MediaSync:
    def __init__(self, library: Library, store: RemoteStore, layout: Layout, ledger: Ledger,
                 cancelled: CancelledFn | None = None) -> None:
        self.library = library
        self.store = store
        self.layout = layout
        self.ledger = ledger
        self._cancelled = cancelled or (lambda: False)
        self._live: dict[str, tuple[int, int]] = {}  # hash -> (done, total) of the transfer running now
        self._live_lock = threading.Lock()
        self._verified_at: float | None = None

    @property
    def policy(self) -> MediaPolicy:
        try:
            return MediaPolicy(self.library.get_setting(SETTING_POLICY, MediaPolicy.REELS.value))
        except ValueError:
            return MediaPolicy.REELS

    def set_policy(self, policy: MediaPolicy) -> None:
        self.library.set_setting(SETTING_POLICY, MediaPolicy(policy).value)

    # -- queries ---------------------------------------------------------------------------------
    def status(self, media_hash: str) -> MediaStatus:
        transfer = self.ledger.transfer(media_hash)
        local = is_media_hash(media_hash) and self.library.media_path(media_hash).is_file()
        if local:
            if transfer is not None and transfer.direction is TransferDirection.UP \
                    and transfer.status is not TransferStatus.DONE:
                return MediaStatus.UPLOADING
            return MediaStatus.LOCAL
        if transfer is not None and transfer.direction is TransferDirection.DOWN \
                and transfer.status in (TransferStatus.QUEUED, TransferStatus.ACTIVE):
            return MediaStatus.DOWNLOADING
        if self.library.media(media_hash) is not None or transfer is not None:
            return MediaStatus.REMOTE_ONLY
        return MediaStatus.UNKNOWN

    def progress(self, media_hash: str) -> tuple[int, int] | None:
        """(bytes done, total) of a running transfer."""
        with self._live_lock:
            return self._live.get(media_hash)

    def bytes_pending(self) -> int:
        pending = self.ledger.open_upload_bytes()
        with self._live_lock:
            live = dict(self._live)
        for h, (done, _total) in live.items():
            transfer = self.ledger.transfer(h)
            if transfer is not None and transfer.direction is TransferDirection.UP:
                pending -= max(0, done - transfer.bytes_done)  # parts finished since the last persist
        return max(0, pending)

    def bytes_incoming(self) -> int:
        """Bytes still to come of the downloads running now (for progress in the status bar)."""
        with self._live_lock:
            live = dict(self._live)
        incoming = 0
        for h, (done, total) in live.items():
            transfer = self.ledger.transfer(h)
            if transfer is not None and transfer.direction is TransferDirection.DOWN:
                incoming += max(0, total - done)
        return incoming

    # -- the queue -------------------------------------------------------------------------------
    def enqueue_uploads(self) -> int:
        """Queue every media file that is here and has no transfer record yet."""
        known = self.ledger.known_transfer_hashes()
        added = 0
        for row in self.library.media_list():
            h = row["hash"]
            if h in known or not is_media_hash(h):
                continue
            path = self.library.media_path(h)
            try:
                size = path.stat().st_size
            except OSError:
                continue  # remote-only media: nothing to upload
            self.ledger.put_transfer(h, TransferDirection.UP, TransferStatus.QUEUED, bytes_total=size, replace=False)
            added += 1
        return added

    def wanted(self) -> list[str]:
        """Media hashes the policy wants here, sorted."""
        policy = self.policy
        if policy is MediaPolicy.ON_DEMAND:
            return []
        with self.library.read() as conn:
            if policy is MediaPolicy.ALL:
                q = select(m.Media.hash)
            else:
                RC, WC, P = m.RawClip, m.WorkingClip, m.Project
                q = (select(RC.media_hash).join(WC, WC.raw_clip_uid == RC.uid).join(P, P.uid == WC.project_uid)
                     .where(WC.removed.is_(False), P.deleted.is_(False)))
            return sorted({h for h in conn.execute(q.distinct()).scalars() if is_media_hash(h)})

    def enqueue_downloads(self) -> int:
        """Queue what the policy wants and this library lacks (once: a failed one retries itself)."""
        known = self.ledger.known_transfer_hashes()
        added = 0
        for h in self.wanted():
            if h not in known and not self.library.media_path(h).is_file():
                self.ledger.put_transfer(h, TransferDirection.DOWN, TransferStatus.QUEUED, replace=False)
                added += 1
        return added

    def verify_remote_copies(self) -> int:
        """Queue an upload for every local file whose bucket copy is missing or not these bytes."""
        requeued = 0
        for transfer in self.ledger.transfers(open_only=False):
            h = transfer.hash
            path = self.library.media_path(h)
            if self._cancelled() or transfer.status is not TransferStatus.DONE or not path.is_file():
                continue
            if self.store.holds_copy(self.layout.media_key(h), path, self._expected_etags(h, path)):
                continue
            log.warning("the bucket copy of media %s is missing or corrupt; uploading it again", h[:12])
            self.ledger.put_transfer(h, TransferDirection.UP, TransferStatus.QUEUED,
                                     bytes_total=path.stat().st_size)
            requeued += 1
        return requeued

    def _expected_etags(self, media_hash: str, path: Path) -> set[str]:
        key = f"{_SETTING_ETAGS}{type(self.store).__name__}.{media_hash}"  # each store has its etag scheme
        cached = self.library.get_setting(key)
        if cached:
            return set(json.loads(cached))
        etags = self.store.etags_of(path)
        self.library.set_setting(key, json.dumps(sorted(etags)))
        return etags

    def request(self, media_hash: str) -> MediaStatus:
        """Ask for a media file this library lacks: `run_once` fetches it when it is on the remote."""
        if not is_media_hash(media_hash):
            raise ValueError(f"not a media hash: {media_hash!r}")
        if self.library.media_path(media_hash).is_file():
            return MediaStatus.LOCAL
        self.ledger.put_transfer(media_hash, TransferDirection.DOWN, TransferStatus.QUEUED)
        return MediaStatus.DOWNLOADING

    def run_once(self, *, progress: ProgressFn | None = None) -> MediaCounts:
        """Upload queued files, then fetch requested ones. Raises StoreUnavailable when offline."""
        counts = MediaCounts()
        now = time.monotonic()
        if self._verified_at is None or now - self._verified_at >= VERIFY_EVERY_S:
            self.verify_remote_copies()
            self._verified_at = now
        self.enqueue_uploads()
        self.enqueue_downloads()
        for transfer in self.ledger.transfers(TransferDirection.UP):
            if self._cancelled():
                return counts
            self._upload(transfer, counts)
        for transfer in self.ledger.transfers(TransferDirection.DOWN):
            if self._cancelled():
                return counts
            try:
                self.download(transfer.hash, progress=progress)
                counts.downloaded += 1
            except MediaNotAvailable:
                pass  # recorded as waiting; retried next cycle
            except Cancelled:
                return counts
            except MediaVerifyError:
                counts.failed += 1
        return counts

    # -- upload ----------------------------------------------------------------------------------
    def _upload(self, transfer: Transfer, counts: MediaCounts) -> None:
        h = transfer.hash
        key = self.layout.media_key(h)
        path = self.library.media_path(h)
        state = _load_state(transfer.state_json)
        try:
            size = path.stat().st_size
        except OSError:
            if state is not None:
                self._abort_quietly(state)
            self.ledger.update_transfer(h, status=TransferStatus.FAILED, state_json=None,
                                        error="the media file is no longer in the library folder")
            return

        def on_state(snapshot: MultipartState) -> None:
            done = sum(snapshot.part_length(p.number) for p in snapshot.parts)
            self.ledger.update_transfer(h, status=TransferStatus.ACTIVE, state_json=snapshot.to_json(),
                                        bytes_done=done, bytes_total=snapshot.size)

        def on_progress(done: int, total: int) -> None:
            with self._live_lock:
                self._live[h] = (done, total)

        if state is None:
            self.ledger.update_transfer(h, status=TransferStatus.ACTIVE, bytes_total=size)
        try:
            self.store.upload_file(key, path, state=state, on_state=on_state, progress=on_progress,
                                   cancelled=self._cancelled)
        except Cancelled:
            log.info("upload of media %s paused", h[:12])
            return
        except StoreUnavailable:
            raise
        except StoreError as exc:
            log.warning("upload of media %s failed: %s", h[:12], exc)
            self.ledger.update_transfer(h, status=TransferStatus.FAILED, error=str(exc)[:300])
            counts.failed += 1
            return
        finally:
            with self._live_lock:
                self._live.pop(h, None)
        self.ledger.update_transfer(h, status=TransferStatus.DONE, state_json=None, bytes_done=size,
                                    bytes_total=size, error=None)
        counts.uploaded += 1
        counts.bytes_sent += size - transfer.bytes_done
        log.info("uploaded media %s (%d bytes)", h[:12], size)

    def _abort_quietly(self, state: MultipartState) -> None:
        try:
            self.store.abort_upload(state)
        except StoreError as exc:
            log.info("could not abort an unfinished upload: %s", exc)

    # -- download --------------------------------------------------------------------------------
    def download(self, media_hash: str, *, progress: ProgressFn | None = None,
                 cancelled: CancelledFn | None = None) -> Path:
        """Fetch a media file into ``media/`` (verified by BLAKE3) and return its path."""
        if not is_media_hash(media_hash):
            raise ValueError(f"not a media hash: {media_hash!r}")
        dest = self.library.media_path(media_hash)
        if dest.is_file():
            return dest
        key = self.layout.media_key(media_hash)
        info = self.store.head(key)
        if info is None:
            self.ledger.put_transfer(media_hash, TransferDirection.DOWN, TransferStatus.WAITING)
            raise MediaNotAvailable(f"media {media_hash[:12]}... is not uploaded yet", key=key)
        previous = self.ledger.transfer(media_hash)
        if previous is not None and _bad_etag(previous) == info.etag:
            raise MediaVerifyError(f"the bucket copy of media {media_hash[:12]}... is corrupt; waiting for the "
                                   "device that has the file to upload it again", key=key)
        staging_dir = self.library.cache_dir / INCOMING_DIR
        staging_dir.mkdir(parents=True, exist_ok=True)
        staging = staging_dir / media_hash
        stop = cancelled or self._cancelled
        self.ledger.put_transfer(media_hash, TransferDirection.DOWN, TransferStatus.ACTIVE)

        def on_progress(done: int, total: int) -> None:
            with self._live_lock:
                self._live[media_hash] = (done, total)
            if progress is not None:
                progress(done, total)

        try:
            self.store.download_file(key, staging, progress=on_progress, cancelled=stop)
        except NotFound:
            self.ledger.update_transfer(media_hash, status=TransferStatus.WAITING, error=None)
            raise MediaNotAvailable(f"media {media_hash[:12]}... is not uploaded yet", key=key) from None
        except Cancelled:
            self.ledger.update_transfer(media_hash, status=TransferStatus.QUEUED)
            raise
        except StoreError as exc:
            self.ledger.update_transfer(media_hash, status=TransferStatus.FAILED, error=str(exc)[:300])
            raise
        finally:
            with self._live_lock:
                self._live.pop(media_hash, None)
        try:
            digest = hash_file(staging)
        except MediaError as exc:
            _unlink_quietly(staging)
            raise MediaVerifyError(f"cannot read the downloaded media: {exc}", key=key) from None
        if digest != media_hash:
            _unlink_quietly(staging)
            self.ledger.update_transfer(media_hash, status=TransferStatus.FAILED,
                                        state_json=json.dumps({"bad_etag": info.etag}),
                                        error="the bucket copy is corrupt (its bytes do not match the media hash)")
            raise MediaVerifyError(f"media {media_hash[:12]}... failed verification (hash mismatch); discarded",
                                   key=key)
        os.replace(staging, dest)
        size = dest.stat().st_size
        self.ledger.update_transfer(media_hash, status=TransferStatus.DONE, bytes_done=size, bytes_total=size,
                                    state_json=None, error=None)
        log.info("downloaded media %s (%d bytes)", media_hash[:12], size)
        return dest


def _bad_etag(transfer: Transfer) -> str | None:
    """The etag of the object a download found corrupt (None when it did not)."""
    if transfer.direction is not TransferDirection.DOWN or not transfer.state_json:
        return None
    try:
        doc = json.loads(transfer.state_json)
    except ValueError:
        return None
    return doc.get("bad_etag") if isinstance(doc, dict) else None


def _load_state(text: str | None) -> MultipartState | None:
    if not text:
        return None
    try:
        return MultipartState.from_json(text)
    except (ValueError, KeyError, TypeError):
        log.warning("discarding an unreadable upload state")
        return None


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

