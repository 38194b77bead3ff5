"""Library work off the UI thread: gestures applied on one ordered write worker while the screen
already shows their result, and list reads whose newest request wins.

A gesture from the UI is shown at once (the dragged keyframe stays where it was dropped, or an
``optimistic`` callback draws it); the write worker applies it and the undo step is recorded when
the result comes back. If the library refuses it, every panel reloads what the library holds (the
change visibly goes back) and the status bar says why.
"""
from __future__ import annotations

import logging
from collections.abc import Hashable
from functools import partial
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from core.gestures.model import Gesture, GestureError
from core.library import ApplyResult
from desktop.ui.undo import EditorState, gesture_label
from desktop.ui.workers import Task, TaskHub

log = logging.getLogger(__name__)


class GestureWriter(QObject):
    """Applies UI gestures in the order given, one at a time, on a worker thread."""

    settled = Signal()  # nothing is pending any more

    def __init__(self, state: EditorState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.hub = TaskHub(self, max_threads=1)  # one thread: gestures commit in the order made
        self.pending = 0

    def apply(self, gesture: Gesture, *, optimistic: Callable[[], None] | None = None,
              merge_key: str | None = None, text: str | None = None,
              on_applied: Callable[[ApplyResult], None] | None = None) -> None:
        if optimistic is not None:
            optimistic()
        self.pending += 1
        library = self.state.library

        def work(_report: Callable[[Any], None], _cancelled: Callable[[], bool]) -> ApplyResult:
            return library.apply(gesture)

        def applied(result: ApplyResult) -> None:
            self.state.undo.record(gesture, result, merge_key=merge_key, text=text)
            if on_applied is not None:
                on_applied(result)

        def failed(reason: str) -> None:
            what = text or gesture_label(gesture.kind, gesture.payload)
            self.state.on_library_changed(None)  # every panel shows the library's state again
            self.state.message.emit(f"“{what}” was not saved and is undone on screen: {reason}", True)

        self.hub.submit(work, name=f"apply {gesture.kind.value}", on_result=applied, on_error=failed,
                        on_finished=self._finished)

    def apply_group(self, gestures: list[Gesture | Callable[[list[ApplyResult]], Gesture]], text: str, *,
                    optimistic: Callable[[], None] | None = None,
                    on_applied: Callable[[list[ApplyResult]], None] | None = None) -> None:
        """Several gestures as ONE undo step (rate or delete a selection, add clips to a reel),
        applied in order on the write worker; a callable builds its gesture from the earlier
        results. If one is refused, those before it stay applied and undoable, and the panels
        show the library's state again with the reason."""
        if optimistic is not None:
            optimistic()
        self.pending += 1
        library = self.state.library

        def work(_report: Callable[[Any], None], _cancelled: Callable[[], bool]) -> tuple[list[ApplyResult], str]:
            results: list[ApplyResult] = []
            try:
                for g in gestures:
                    results.append(library.apply(g(results) if callable(g) else g))
            except GestureError as exc:  # refused: the applied part is still recorded
                return results, str(exc)
            except Exception:
                log.exception("%s stopped after %d of %d gestures", text, len(results), len(gestures))
                return results, "details are in the log"
            return results, ""

        def applied(outcome: tuple[list[ApplyResult], str]) -> None:
            results, problem = outcome
            self.state.undo.record_group(results, text)
            if problem:
                self.state.on_library_changed(None)
                self.state.message.emit(f"“{text}” stopped: {problem}", True)
            elif on_applied is not None:
                on_applied(results)

        self.hub.submit(work, name=f"apply {text}", on_result=applied, on_finished=self._finished,
                        on_error=lambda reason: self.state.message.emit(f"“{text}” failed: {reason}", True))

    def _finished(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.settled.emit()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        """Let queued gestures commit (they are the user's edits), then stop."""
        if not self.hub.pool.waitForDone(timeout_ms):
            log.warning("gestures still being applied after %d ms at shutdown", timeout_ms)
        self.hub.shutdown(0)


class LatestRead(QObject):
    """Runs reads on a worker; for each ``key`` only the newest request's result is delivered (an
    older one still queued is skipped, one that finishes later is dropped), so a slow read never
    overwrites a newer list and a burst of changes costs one read, not one per change."""

    idle = Signal()  # no read is in flight any more (its result, if any, was delivered first)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.hub = TaskHub(self, max_threads=2)
        self._generation: dict[Hashable, int] = {}
        self._tasks: dict[Hashable, Task] = {}
        self.pending = 0

    def request(self, read: Callable[[], Any], on_result: Callable[[Any], None], *, key: Hashable = None) -> None:
        mine = self._generation.get(key, 0) + 1
        self._generation[key] = mine
        older = self._tasks.get(key)
        if older is not None:
            older.cancel()  # not started yet: it never reads; running: its result is not delivered

        def deliver(value: Any) -> None:
            if mine == self._generation.get(key):
                on_result(value)

        def work(_report: Callable[[Any], None], cancelled: Callable[[], bool]) -> Any:
            return None if cancelled() else read()

        self.pending += 1
        self._tasks[key] = self.hub.submit(
            work, name="list read", on_result=deliver, on_finished=partial(self._finished, key, mine),
            on_error=lambda reason: log.warning("list read failed: %s", reason))

    def _finished(self, key: Hashable, generation: int) -> None:
        if self._generation.get(key) == generation:
            self._tasks.pop(key, None)
        self.pending -= 1
        if self.pending == 0:
            self.idle.emit()

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self.hub.shutdown(timeout_ms)
