"""The sync status in the status bar, and the small adapter that runs the background sync.

``SyncController`` owns a ``sync.runtime.SyncThread`` (started on a worker: building the S3 client
loads botocore, which takes a moment) and forwards its status, reported on a sync thread, to the
UI thread through a queued signal. Without a configured remote the indicator says "Sync off" and
offers the settings; if the sync package cannot be loaded at all it says so instead of crashing.
A failure is named in plain words (offline, server unreachable, key refused, bucket missing) with
its fix in the tooltip; "Sync now" shows that it is running and then its result
(`syncNowFinished`). Focusing the application tells the sync the editor is here (fast polling).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu, QToolButton, QWidget

from core.library import Library
from desktop.ui import theme
from desktop.ui.workers import TaskHub
from resources import icon

log = logging.getLogger(__name__)

FLUSH_ON_QUIT_S = 3.0


class SyncController(QObject):
    statusChanged = Signal(object)  # sync.runtime.SyncStatus (or a stand-in with the same fields)
    syncNowFinished = Signal(str)  # the result of a "Sync now", in one sentence
    _status = Signal(object)

    def __init__(self, library: Library, hub: TaskHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.hub = hub
        self.thread: Any = None
        self.status: Any = None
        self.unavailable: str | None = None
        self.media_peak = 0  # largest media backlog since it was last empty: for a percentage
        self.manual_after: int | None = None  # "Sync now" waits for a cycle after this one
        self._requested: set[str] = set()
        self._lock = threading.Lock()
        self._status.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._app_state)
        try:
            from sync.runtime import SyncStatus
            self.status = SyncStatus.disabled()
        except Exception as exc:  # a broken install: the editor still works offline
            log.warning("sync is unavailable: %s", exc)
            self.unavailable = "Sync is not available in this installation"

    def start(self) -> None:
        if self.unavailable:
            self._status.emit(None)
            return

        def open_engine(report, cancelled) -> Any:
            from sync.remote import known_secrets, open_sync
            from sync.runtime import SyncThread

            engine = open_sync(self.library)
            if engine is None:
                return None
            return SyncThread(engine, on_status=self._status.emit, secrets=known_secrets(self.library))

        def started(thread: Any) -> None:
            with self._lock:
                self.thread = thread
            if thread is None:
                from sync.runtime import SyncStatus
                self._deliver(SyncStatus.disabled())
            else:
                thread.start()

        def failed(text: str) -> None:
            from sync.runtime import SyncState, SyncStatus
            self._deliver(SyncStatus(SyncState.ERROR, last_error=text))

        self.hub.submit(open_engine, name="start sync", on_result=started, on_error=failed)

    def restart(self) -> None:
        self.stop(0.5)
        self.start()

    def sync_now(self) -> None:
        if self.thread is None:
            return
        self.manual_after = int(getattr(self.status, "cycle", 0) or 0)
        self.statusChanged.emit(self.status)  # shows "Syncing now…" at once
        self.thread.wake()

    def fetch_media(self, media_hash: str) -> bool:
        """Ask the sync for a media file an editor opened (once per file); False when sync is off."""
        if self.thread is None:
            return False
        if media_hash not in self._requested:
            self._requested.add(media_hash)
            self.hub.submit(lambda report, cancelled: self.thread and self.thread.fetch_media(media_hash),
                            name="fetch media")
        return True

    def note_activity(self) -> None:
        if self.thread is not None:
            self.thread.note_activity()

    def _app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive:
            self.note_activity()

    def stop(self, flush_timeout_s: float = FLUSH_ON_QUIT_S) -> bool:
        with self._lock:
            thread, self.thread = self.thread, None
        if thread is None:
            return True
        try:
            return bool(thread.stop(flush_timeout_s))
        except Exception:
            log.exception("stopping the sync failed")
            return False

    def _deliver(self, status: Any) -> None:
        if status is not None:
            pending = _media_left(status)
            self.media_peak = max(self.media_peak, pending) if pending else 0
            self.status = status
            if self.manual_after is not None and int(getattr(status, "cycle", 0) or 0) > self.manual_after:
                self.manual_after = None
                self.syncNowFinished.emit(result_text(status))
        self.statusChanged.emit(status)

    def media_percent(self) -> int | None:
        pending = _media_left(self.status)
        if not pending or not self.media_peak:
            return None
        return int(100 * (1 - pending / self.media_peak))


def _media_left(status: Any) -> int:
    """Media bytes still to upload or to download."""
    return int(getattr(status, "media_bytes_pending", 0) or 0) + int(getattr(status, "media_bytes_incoming", 0) or 0)


_PROBLEM_TEXT = {"offline": "Offline", "unreachable": "Server unreachable", "bad_credentials": "Sync key refused",
                 "bucket_missing": "Bucket missing"}


def result_text(status: Any) -> str:
    """One sentence for the status bar after "Sync now"."""
    state = getattr(getattr(status, "state", None), "value", "disabled")
    pending = int(getattr(status, "pending", 0) or 0)
    if state in ("offline", "error"):
        return "Sync now failed: " + (getattr(status, "advice", None) or getattr(status, "last_error", None)
                                      or "unknown error")
    if pending:
        return f"Sync now ran: {pending} edit{'s' if pending != 1 else ''} still waiting to upload"
    return "Sync now ran: everything is up to date"


def describe(status: Any, media_percent: int | None) -> tuple[str, str, str]:
    """(icon name, short text, colour) for a SyncStatus."""
    state = getattr(getattr(status, "state", None), "value", "disabled")
    pending = int(getattr(status, "pending", 0) or 0)
    conflicts = int(getattr(status, "conflicts", 0) or 0)
    problem = getattr(getattr(status, "problem", None), "value", None)
    if state == "synced":
        name, text, colour = "cloud-check", "Synced", theme.TEXT_DIM
    elif state == "pending":
        name, text, colour = "cloud-up", f"{pending} pending" if pending else "Syncing…", theme.TEXT
    elif state == "offline":
        label = _PROBLEM_TEXT.get(problem or "", "Offline")
        name, text, colour = "cloud-off", label + (f" · {pending} pending" if pending else ""), theme.SPLIT
    elif state == "error":
        name, text, colour = "alert", _PROBLEM_TEXT.get(problem or "", "Sync error"), theme.ERROR
    else:
        name, text, colour = "cloud-off", "Sync off", theme.TEXT_DISABLED
    if media_percent is not None:
        text += f" · media {media_percent}%"
    if conflicts:
        text += f" · {conflicts} conflict{'s' if conflicts != 1 else ''}"
        colour = theme.ACCENT
    return name, text, colour.name()


class SyncIndicator(QToolButton):
    """Status-bar button: icon + "Synced" / "N pending" / "Offline" / "Sync error" / "N conflicts"."""

    settingsRequested = Signal()
    conflictsRequested = Signal()

    def __init__(self, controller: SyncController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setStyleSheet("QToolButton { border: none; padding: 1px 8px; background: transparent; }"
                           "QToolButton::menu-indicator { image: none; }")
        menu = QMenu(self)
        self.sync_now = menu.addAction(icon("retry"), "Sync now", controller.sync_now)
        menu.addAction(icon("conflict"), "Conflicts…", self.conflictsRequested)
        menu.addSeparator()
        menu.addAction(icon("settings"), "Sync settings…", self.settingsRequested)
        self.setMenu(menu)
        controller.statusChanged.connect(self.show_status)
        self.show_status(controller.status)

    def show_status(self, status: Any) -> None:
        if status is None and self.controller.unavailable:
            self.setIcon(icon("cloud-off"))
            self.setText("Sync unavailable")
            self.setToolTip(self.controller.unavailable)
            return
        name, text, colour = describe(status, self.controller.media_percent())
        if self.controller.manual_after is not None:
            text = "Syncing now…"
        self.setIcon(icon(name))
        self.setText(text)
        self.setStyleSheet(f"QToolButton {{ border: none; padding: 1px 8px; background: transparent;"
                           f" color: {colour}; }}"
                           "QToolButton::menu-indicator { image: none; }")
        tip = [getattr(status, "summary", lambda: text)()]
        advice = getattr(status, "advice", None)
        if advice:
            tip.append(advice)
        error = getattr(status, "last_error", None)
        if error:
            tip.append(f"Details: {error}")
        tip.extend(getattr(status, "held", ()))  # what waits and why (e.g. a device to update), with the fix
        last = getattr(status, "last_sync_at", None)
        if last is not None:
            tip.append("Last synced " + last.astimezone().strftime("%H:%M:%S"))
        if getattr(getattr(status, "state", None), "value", "disabled") == "disabled":
            tip.append("Set up an R2 bucket in Settings to mirror your edits to a second machine")
        self.setToolTip("\n".join(tip))
        self.sync_now.setEnabled(self.controller.thread is not None)


__all__ = ["SyncController", "SyncIndicator", "describe", "result_text"]
