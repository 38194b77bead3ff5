"""The sync in the background: `SyncThread` runs `SyncEngine` cycles and reports a `SyncStatus`.

- Wakes on every local commit (`Library.subscribe`, debounced so a burst of gestures goes up as
  one batch) and on a timer (to pull other devices' edits).
- Backs off exponentially with jitter while the endpoint fails, so a fleet of laptops coming back
  online does not hammer the bucket in lock-step.
- Media runs on a helper thread of its own: a 2 GB upload never delays a gesture.
- `status` is an immutable snapshot, safe to read from any thread; `on_status` is called (on a
  sync thread) after every change: the UI forwards it through a signal.
- `stop(flush_timeout_s)` cancels media transfers (their multipart state is kept for resuming),
  pushes what is pending, and waits at most `flush_timeout_s`.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from core.enums import GestureKind
from core.clock import REAL, Clock
from core.library import ChangeSet
from core.redact import redact
from sync.advice import Problem, classify
from sync.engine import SyncEngine, SyncError
from sync.store import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300


class SyncState(str, Enum):
    SYNCED = "synced"
    PENDING = "pending"
    OFFLINE = "offline"
    ERROR = "error"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SyncStatus:
    state: SyncState
    pending: int = 0
    last_error: str | None = None
    conflicts: int = 0
    media_bytes_pending: int = 0
    media_bytes_incoming: int = 0  # of downloads running now
    quarantined: int = 0
    last_sync_at: datetime | None = None
    held: tuple[str, ...] = field(default_factory=tuple)
    retry_in_s: float | None = None
    problem: Problem | None = None  # what the last failure was, told apart for the editor
    advice: str | None = None  # one plain sentence with the fix
    cycle: int = 0  # cycles finished (or failed): a manual "Sync now" waits for the next one

    @classmethod
    def disabled(cls) -> SyncStatus:
        return cls(SyncState.DISABLED)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state.value, "pending": self.pending, "last_error": self.last_error,
                "conflicts": self.conflicts, "media_bytes_pending": self.media_bytes_pending,
                "media_bytes_incoming": self.media_bytes_incoming,
                "quarantined": self.quarantined,
                "last_sync_at": self.last_sync_at.isoformat() if self.last_sync_at else None,
                "held": list(self.held), "retry_in_s": self.retry_in_s,
                "problem": self.problem.value if self.problem else None, "advice": self.advice}

    def summary(self) -> str:
        """The status-bar text: synced / N pending / offline / error / N conflicts."""
        parts = {SyncState.SYNCED: "synced", SyncState.PENDING: f"{self.pending} pending",
                 SyncState.OFFLINE: "offline" + (f", {self.pending} pending" if self.pending else ""),
                 SyncState.ERROR: "sync error", SyncState.DISABLED: "sync off"}
        text = [parts[self.state]]
        if self.conflicts:
            text.append(f"{self.conflicts} conflict{'s' if self.conflicts != 1 else ''}")
        if self.quarantined:
            text.append(f"{self.quarantined} quarantined")
        if self.media_bytes_pending:
            text.append(f"{self.media_bytes_pending / 1e6:.1f} MB media to upload")
        if self.media_bytes_incoming:
            text.append(f"{self.media_bytes_incoming / 1e6:.1f} MB media to download")
        return ", ".join(text)


def sanitize_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """One line, bounded, with any known secret blanked out (defence in depth: store errors are
    already formatted without server text)."""
    return redact(" ".join(str(exc).split()) or type(exc).__name__, secrets)[:MAX_ERROR_CHARS]


def backoff_delay(failures: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Exponential back-off with jitter: within [d/2, d] for d = min(cap, base * 2^(failures-1))."""
    d = min(cap_s, base_s * (2 ** max(0, min(failures - 1, 30))))
    return rng.uniform(d / 2, d)


StatusCallback = Callable[[SyncStatus], None]


class SyncThread(threading.Thread):
    def __init__(self, engine: SyncEngine, *, interval_s: float = 120.0, active_interval_s: float = 3.5,
                 in_use_s: float = 600.0, debounce_s: float = 0.3,
                 backoff_base_s: float = 1.0, backoff_cap_s: float = 300.0, on_status: StatusCallback | None = None,
                 secrets: Iterable[str] = (), media: bool = True, media_interval_s: float = 60.0,
                 rng: random.Random | None = None, clock: Clock = REAL) -> None:
        super().__init__(name="reeldesk-sync", daemon=True)
        self.engine = engine
        # Adaptive polling: every `active_interval_s` while the editor uses the window (focused, or
        # an edit in the last `in_use_s`), else every `interval_s`. Each poll is one HEAD when
        # nothing changed (see sync.engine), so fast polling in use stays cheap.
        self.interval_s = interval_s
        self.active_interval_s = active_interval_s
        self.in_use_s = in_use_s
        self._active_until = float("-inf")
        self.debounce_s = debounce_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.media_interval_s = media_interval_s
        self._on_status = on_status
        self._secrets = tuple(secrets)
        self._rng = rng or random.Random()
        self._clock = clock  # poll intervals, debounce and back-off run on it (tests move a fake one)
        self._wake = threading.Event()
        self._force = threading.Event()
        self._media_wake = threading.Event()
        self._stopping = threading.Event()
        self._status_lock = threading.Lock()
        self._status = SyncStatus(SyncState.PENDING)
        self._failures = 0
        self._gesture_error: tuple[SyncState, str] | None = None
        self._problem: tuple[Problem, str] | None = None
        self._media_error: str | None = None
        self._last_sync_at: datetime | None = None
        self._held: tuple[str, ...] = ()
        self._retry_in: float | None = None
        self._flushed = False
        self.cycles = 0
        self._finished = 0  # cycles that ended (in success or failure): SyncStatus.cycle
        self._progress_at = float("-inf")
        self._media_thread = threading.Thread(target=self._media_loop, name="reeldesk-sync-media",
                                              daemon=True) if media else None

    # -- public ----------------------------------------------------------------------------------
    @property
    def status(self) -> SyncStatus:
        with self._status_lock:
            return self._status

    def wake(self) -> None:
        """Run a cycle now, even while backing off (the user pressed "sync now", the network came back)."""
        self._force.set()
        self._wake.set()

    def note_activity(self) -> None:
        """The editor is using the window (focus, an edit): poll fast for the next `in_use_s`."""
        idle = not self.in_use
        self._active_until = self._clock.monotonic() + self.in_use_s
        if idle:
            self._wake.set()  # shorten a long idle wait now

    def fetch_media(self, media_hash: str) -> None:
        """An editor opened a clip whose media is not here: download it now, whatever the policy."""
        self.engine.request_media(media_hash)
        self._media_wake.set()

    @property
    def in_use(self) -> bool:
        return self._clock.monotonic() < self._active_until

    def stop(self, flush_timeout_s: float = 5.0) -> bool:
        """Stop, pushing what is pending within `flush_timeout_s`. True when nothing is left pending."""
        self._stopping.set()
        self.engine.media_cancel.set()
        self._wake.set()
        self._media_wake.set()
        deadline = time.monotonic() + max(0.0, flush_timeout_s)
        if self.is_alive():
            self.join(max(0.0, deadline - time.monotonic()))
        if self._media_thread is not None and self._media_thread.is_alive():
            self._media_thread.join(max(0.0, deadline - time.monotonic()))
        if self.is_alive():
            log.warning("sync did not finish flushing within %.1f s; pending gestures go up next start",
                        flush_timeout_s)
            return False
        return self._flushed

    # -- loops -----------------------------------------------------------------------------------
    def run(self) -> None:
        unsubscribe = self.engine.library.subscribe(self._on_change)
        if self._media_thread is not None:
            self._media_thread.start()
        try:
            next_at = 0.0  # the first cycle runs at once
            while not self._stopping.is_set():
                remaining = next_at - self._clock.monotonic()
                if remaining > 0:
                    woke = self._clock.wait(self._wake, remaining)
                    self._wake.clear()
                    if self._stopping.is_set():
                        break
                    if woke and self._failures and not self._force.is_set():
                        self._publish()  # the pending count still moves while offline
                        continue  # backing off: a new edit waits too instead of hammering a dead endpoint
                    if woke and self.debounce_s:
                        self._clock.wait(self._stopping, self.debounce_s)  # gather a burst of gestures into one batch
                self._force.clear()
                next_at = self._clock.monotonic() + self._cycle()
            self._flush()
        finally:
            unsubscribe()

    def _on_change(self, event: ChangeSet) -> None:
        # Called on the writer's (UI) thread right after a commit: only signal, never do work here.
        if not event.remote:
            self._active_until = self._clock.monotonic() + self.in_use_s
            self._wake.set()
        if GestureKind.IMPORT_MEDIA in event.kinds:
            self._media_wake.set()

    def _cycle(self) -> float:
        """One push+pull+snapshot; returns the seconds until the next one."""
        self.cycles += 1
        try:
            counts = self.engine.sync_once(media=False)
        except StoreUnavailable as exc:
            return self._failed(SyncState.OFFLINE, exc)
        except (SyncError, StoreError) as exc:
            return self._failed(SyncState.ERROR, exc)
        except Exception as exc:  # a bug must not kill the thread: report it and retry later
            log.exception("sync cycle failed")
            return self._failed(SyncState.ERROR, exc)
        self._failures = 0
        self._gesture_error = None
        self._problem = None
        self._retry_in = None
        self._finished += 1
        self._held = tuple(counts.held)
        self._last_sync_at = datetime.now(UTC)
        self._media_wake.set()  # new remote media may be wanted, new local media may be queued
        self._publish()
        return self.active_interval_s if self.in_use else self.interval_s

    def _failed(self, state: SyncState, exc: BaseException) -> float:
        self._failures += 1
        self._finished += 1
        text = sanitize_error(exc, self._secrets)
        self._gesture_error = (state, text)
        self._problem = classify(exc, getattr(self.engine.store, "endpoint_url", None))
        if self._problem[0] is Problem.OFFLINE:
            self._gesture_error = (SyncState.OFFLINE, text)
        self._retry_in = backoff_delay(self._failures, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s,
                                       rng=self._rng)
        log.info("sync %s (attempt %d): %s; retrying in %.1f s", state.value, self._failures, text, self._retry_in)
        self._publish()
        return self._retry_in

    def _flush(self) -> None:
        try:
            if self.engine.library.pending_count():
                self.engine.push_once()
            self._flushed = self.engine.library.pending_count() == 0
        except (StoreError, SyncError) as exc:
            log.info("flush on quit failed: %s", sanitize_error(exc, self._secrets))
            self._flushed = False
        self._publish()

    def _media_loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self.engine.media_once(progress=self._media_progress)
            except StoreUnavailable as exc:
                failures += 1
                self._media_error = sanitize_error(exc, self._secrets)
            except Exception as exc:  # noqa: BLE001 - reported in status, retried
                failures += 1
                log.warning("media sync failed: %s", sanitize_error(exc, self._secrets))
                self._media_error = sanitize_error(exc, self._secrets)
            else:
                failures = 0
                self._media_error = None
            self._publish()
            wait = self.media_interval_s if not failures else backoff_delay(
                failures, base_s=self.backoff_base_s, cap_s=self.backoff_cap_s, rng=self._rng)
            self._clock.wait(self._media_wake, wait)
            self._media_wake.clear()

    def _media_progress(self, done: int, total: int) -> None:
        now = self._clock.monotonic()
        if now - self._progress_at >= 0.5 or done >= total:  # the status bar follows a download
            self._progress_at = now
            self._publish()

    # -- status ----------------------------------------------------------------------------------
    def _publish(self) -> None:
        try:
            numbers = self.engine.local_status()
        except Exception:  # the database may be closing on quit
            log.debug("status numbers unavailable", exc_info=True)
            return
        error: str | None
        if self._gesture_error is not None:
            state, error = self._gesture_error
        else:
            state = SyncState.PENDING if numbers["pending"] else SyncState.SYNCED
            error = self._media_error
        status = SyncStatus(state, pending=numbers["pending"], last_error=error, conflicts=numbers["conflicts"],
                            media_bytes_pending=numbers["media_bytes_pending"], quarantined=numbers["quarantined"],
                            media_bytes_incoming=numbers["media_bytes_incoming"],
                            last_sync_at=self._last_sync_at, held=self._held,
                            retry_in_s=self._retry_in, problem=self._problem[0] if self._problem else None,
                            advice=self._problem[1] if self._problem else None, cycle=self._finished)
        with self._status_lock:
            changed = status != self._status
            self._status = status
        if changed and self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:  # a UI callback must not stop the sync
                log.exception("sync status callback failed")


def status_once(engine: SyncEngine, *, error: BaseException | None = None, secrets: Iterable[str] = (),
                last_sync_at: datetime | None = None, held: Iterable[str] = ()) -> SyncStatus:
    """A status for a one-off cycle (the CLI's `sync --once`)."""
    numbers = engine.local_status()
    if error is None:
        state = SyncState.PENDING if numbers["pending"] else SyncState.SYNCED
    else:
        state = SyncState.OFFLINE if isinstance(error, StoreUnavailable) else SyncState.ERROR
    status = SyncStatus(state, pending=numbers["pending"], conflicts=numbers["conflicts"],
                        media_bytes_pending=numbers["media_bytes_pending"], quarantined=numbers["quarantined"],
                        last_sync_at=last_sync_at, held=tuple(held), cycle=1)
    if error is None:
        return status
    problem, advice = classify(error, getattr(engine.store, "endpoint_url", None))
    state = SyncState.OFFLINE if problem is Problem.OFFLINE else status.state
    return replace(status, state=state, last_error=sanitize_error(error, secrets), problem=problem, advice=advice)
