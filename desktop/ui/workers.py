"""Background work for the UI: QRunnable tasks on a QThreadPool reporting through queued signals.

The UI thread only paints and dispatches (docs/ARCHITECTURE.md, "The desktop application"): imports,
thumbnails, renders and sync calls run here. A task function receives ``report(value)`` and
``cancelled()``; its return value, its progress reports and a human error message come back on the
UI thread as signals. No traceback ever reaches the user: the log file keeps it, the signal carries
one readable line.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Qt, Signal, Slot

from core.gestures.model import GestureError
from core.library import ChangeSet, Library
from core.media.errors import MediaError, OperationCancelled
from core.redact import redact

log = logging.getLogger(__name__)

TaskFn = Callable[[Callable[[Any], None], Callable[[], bool]], Any]


def user_message(exc: BaseException) -> str:
    """One human line for an exception; never a traceback, never a secret (redacted)."""
    return redact(_message(exc))


def _message(exc: BaseException) -> str:
    if isinstance(exc, MediaError):
        return exc.message
    if isinstance(exc, GestureError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or type(exc).__name__}{where}"
    if isinstance(exc, ValueError):
        return str(exc)
    from core.export.ai_local import FetchError  # light: no torch

    if isinstance(exc, FetchError):
        return str(exc)
    try:  # sync errors are sanitised (no secrets) and written for people
        from sync.credentials import CredentialsError
        from sync.store import StoreError
    except ImportError:
        pass
    else:
        if isinstance(exc, (StoreError, CredentialsError)):
            return str(exc)
    return f"unexpected error ({type(exc).__name__}); details are in reeldesk.log in the library folder"


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


class TaskSignals(QObject):
    progress = Signal(object)
    result = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()


class Task(QRunnable):
    """One function run on a pool thread; its signals object lives on the UI thread."""

    def __init__(self, fn: TaskFn, name: str = "task") -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.token = CancelToken()
        self.signals = TaskSignals()
        self.setAutoDelete(False)  # the hub keeps the Python object until `finished`

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> None:
        try:
            value = self.fn(self.signals.progress.emit, self.token)
        except OperationCancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # reported as one line; the log keeps the traceback
            if self.token():
                self.signals.cancelled.emit()
            else:
                log.error("%s failed", self.name, exc_info=True)
                self.signals.failed.emit(user_message(exc))
        else:
            if self.token():
                self.signals.cancelled.emit()
            else:
                self.signals.result.emit(value)
        finally:
            self.signals.finished.emit()


class TaskHub(QObject):
    """Starts tasks, keeps them alive until they finish, cancels and drains them on shutdown."""

    def __init__(self, parent: QObject | None = None, max_threads: int | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        if max_threads:
            self.pool.setMaxThreadCount(max_threads)
        self._running: set[Task] = set()
        self._closed = False

    def submit(self, fn: TaskFn, *, name: str = "task",
               on_result: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[Any], None] | None = None,
               on_cancelled: Callable[[], None] | None = None,
               on_finished: Callable[[], None] | None = None) -> Task:
        task = Task(fn, name)
        s = task.signals
        # Queued: callbacks always run on the UI thread, after the emitting call returned; after
        # shutdown() they are dropped (their widgets may be gone while results are still queued).
        for signal, callback in ((s.result, on_result), (s.failed, on_error), (s.progress, on_progress),
                                 (s.cancelled, on_cancelled), (s.finished, on_finished)):
            if callback is not None:
                signal.connect(self._guard(callback), Qt.ConnectionType.QueuedConnection)
        s.finished.connect(lambda t=task: self._running.discard(t), Qt.ConnectionType.QueuedConnection)
        self._running.add(task)
        self.pool.start(task)
        return task

    def _guard(self, callback: Callable[..., Any]) -> Callable[..., None]:
        def call(*args: Any) -> None:
            if not self._closed:
                callback(*args)
        return call

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self._closed = True
        for task in list(self._running):
            task.cancel()
        self.pool.clear()
        if not self.pool.waitForDone(timeout_ms):
            log.warning("background tasks still running after %d ms at shutdown", timeout_ms)


class LibraryBridge(QObject):
    """Library change notifications, coalesced and delivered on the UI thread.

    ``Library.apply`` notifies on the writer's thread (a worker, the sync thread); the UI must only
    touch widgets from its own thread, so events are queued and merged into one per event-loop turn.
    """

    changed = Signal(object)  # ChangeSet (the union of the turn's commits)
    _poke = Signal()

    def __init__(self, library: Library, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self._lock = threading.Lock()
        self._pending: list[ChangeSet] = []
        self._poke.connect(self._flush, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = library.subscribe(self._on_change)

    def _on_change(self, event: ChangeSet) -> None:  # any thread
        with self._lock:
            first = not self._pending
            self._pending.append(event)
        if first:
            self._poke.emit()

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        if not events:
            return
        self.changed.emit(ChangeSet.union(events))

    def close(self) -> None:
        if self._unsubscribe is not None:
            try:
                self._unsubscribe()
            except ValueError:  # already removed
                pass
            self._unsubscribe = None


__all__ = ["CancelToken", "LibraryBridge", "Task", "TaskHub", "TaskSignals", "user_message"]
