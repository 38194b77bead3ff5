"""Refresh a panel from change sets: only when a change concerns what it shows, and only while it is
visible. A hidden panel marks itself dirty and refreshes when it is shown again, so an edit in the
Frame page does not rebuild the Library page's reel list behind it.
"""
from __future__ import annotations

from typing import Callable, Protocol

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from core.changes import ChangeSet, EntityKind
from core.enums import GestureKind

Wants = Callable[[ChangeSet], bool]

# Gestures that change a project's own row (its name, ratio, existence) rather than its clips; an
# undo (revert) may be one of them.
PROJECT_ROW_KINDS = frozenset({GestureKind.CREATE_PROJECT, GestureKind.RENAME_PROJECT, GestureKind.SET_ASPECT_RATIO,
                               GestureKind.DELETE_PROJECT, GestureKind.REVERT})


def anything(_changes: ChangeSet) -> bool:
    return True


def touching(*kinds: EntityKind) -> Wants:
    return lambda changes: changes.touches(*kinds)


def project_rows_changed(changes: ChangeSet) -> bool:
    """Projects were created, renamed, re-ratioed or deleted (here, by an undo, or on another device)."""
    return changes.touches(EntityKind.PROJECT) and (changes.remote or bool(changes.kinds & PROJECT_ROW_KINDS))


class OpenThings(Protocol):
    """What the editor has open (``EditorState``)."""

    project_uid: str | None
    wc_uid: str | None


def open_clip_changed(state: OpenThings) -> Wants:
    """The open working clip changed, or its reel changed without naming clips (a rename), or a raw
    clip or a conflict did (the clip's source range may have moved; its history lists conflicts)."""
    def wants(changes: ChangeSet) -> bool:
        wc, uid = state.wc_uid, state.project_uid
        if wc is not None and wc in changes.of(EntityKind.WORKING_CLIP):
            return True
        if uid is not None and uid in changes.of(EntityKind.PROJECT) and not changes.of(EntityKind.WORKING_CLIP):
            return True
        return changes.touches(EntityKind.RAW_CLIP, EntityKind.CONFLICT)
    return wants


def open_project_changed(state: OpenThings) -> Wants:
    return lambda changes: state.project_uid in changes.of(EntityKind.PROJECT)


class RefreshGate(QObject):
    """Calls ``refresh`` for the change sets ``wants`` accepts while ``widget`` is visible; otherwise
    remembers that it is stale and refreshes on the widget's next show.

    A widget whose window is not on screen (being built, or used on its own) refreshes at once as
    before: the gate saves work only for panels hidden inside a shown window.
    """

    def __init__(self, widget: QWidget, refresh: Callable[[], None], wants: Wants = anything) -> None:
        super().__init__(widget)
        self.widget = widget
        self._refresh = refresh
        self._wants = wants
        self.dirty = False
        self.refreshes = 0  # how often it refreshed (tests and benchmarks read it)
        widget.installEventFilter(self)

    def changed(self, changes: ChangeSet | None) -> None:
        """Slot for ``EditorState.libraryChanged`` (None: anything may have changed)."""
        if changes is None or self._wants(changes):
            self.request()

    def request(self) -> None:
        """Refresh now if shown, else when shown (for signals such as "another clip was opened")."""
        if self.widget.isVisible() or not self.widget.window().isVisible():
            self.dirty = False
            self.refreshes += 1
            self._refresh()
        else:
            self.dirty = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.widget and event.type() == QEvent.Type.Show and self.dirty:
            self.dirty = False
            self.refreshes += 1
            self._refresh()
        return False


def gate(widget: QWidget, changed: object, refresh: Callable[[], None], wants: Wants = anything) -> RefreshGate:
    """Connect ``changed`` (a ChangeSet signal) to a gate that refreshes ``widget``."""
    g = RefreshGate(widget, refresh, wants)
    changed.connect(g.changed)  # type: ignore[attr-defined]  # a Qt SignalInstance
    return g
