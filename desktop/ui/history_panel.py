"""History dock: the open working clip's versions (restore one) and the conflict list ("restore mine").

Restoring a version is a ``restore_version`` gesture (so it syncs and can itself be undone).
"Restore mine" re-applies this device's losing gesture as a new gesture: it sorts after the
winner, so it wins now, and the conflict row is marked resolved (local bookkeeping; a re-fold
keeps resolved flags).
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTabWidget,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.changes import ChangeSet, EntityKind
from core.enums import GestureKind
from core.gestures.model import Gesture, GestureError
from desktop.ui import theme
from desktop.ui.library_panel import paint_empty_state
from desktop.ui.refresh import gate, open_clip_changed
from desktop.ui.undo import EditorState, history_label
from resources import icon

log = logging.getLogger(__name__)


_PATH_WORDS = {"kf": "crop keyframe", "rkf": "spotlight keyframe", "region": "spotlight", "split": "split",
               "speed": "speed", "trim": "trim", "rot": "rotation", "style": "spotlight style", "clip": "clip",
               "order": "clip order", "trans": "transition", "name": "name", "aspect": "aspect ratio",
               "text": "text", "tel": "text element", "title": "title card"}


def _local_time(iso: str | None) -> str:
    if not iso:
        return ""
    try:
        when = datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return iso
    return when.strftime("%H:%M:%S" if when.date() == datetime.now().astimezone().date() else "%d %b %H:%M")


def restore_mine(state: EditorState, conflict: dict[str, Any]) -> bool:
    """Re-apply the losing gesture of ``conflict`` as a new local gesture; mark the conflict resolved."""
    lost = state.library.gesture(conflict["loser_op_id"])
    if lost is None:
        state.message.emit("The lost change is no longer in the log", True)
        return False
    # A new local gesture with the same payload sorts after the winner, so it wins now; with the
    # conflict marked dealt with, one undo step.
    try:
        dismiss = state.library.conflict_gesture(conflict["loser_op_id"], conflict["winner_op_id"], conflict["path"])
    except GestureError as exc:
        state.message.emit(str(exc), True)
        return False
    done = state.apply_many([Gesture(lost.kind, lost.entity_uid, dict(lost.payload)), dismiss], "Restore my change")
    state.libraryChanged.emit(None)
    return len(done) == 2


def dismiss_conflict(state: EditorState, conflict: dict[str, Any]) -> None:
    try:
        dismiss = state.library.conflict_gesture(conflict["loser_op_id"], conflict["winner_op_id"], conflict["path"])
    except GestureError as exc:
        state.message.emit(str(exc), True)
        return
    state.apply(dismiss)
    state.libraryChanged.emit(None)


class _List(QTreeWidget):
    def __init__(self, empty: str) -> None:
        super().__init__()
        self.empty = empty

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            paint_empty_state(self, self.empty)


class HistoryPanel(QWidget):
    conflictsChanged = Signal(int)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._conflicts: list[dict[str, Any]] = []
        self._listed: tuple[str, int, date] | None = None  # (clip, newest version listed, the day listed)
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        root.addWidget(self.tabs)

        page = QWidget()
        pl = QVBoxLayout(page)
        pl.setContentsMargins(0, 6, 0, 0)
        self.title = QLabel()
        self.title.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.versions = _List("Open a clip of a reel to see its versions.")
        self.versions.setHeaderLabels(["Version", "Change", "When"])
        self.versions.setRootIsDecorated(False)
        self.versions.setUniformRowHeights(True)
        self.versions.setAlternatingRowColors(True)
        self.versions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.versions.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.restore = QPushButton(icon("retry"), "Restore this version")
        self.restore.setEnabled(False)
        pl.addWidget(self.title)
        pl.addWidget(self.versions, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.restore)
        pl.addLayout(row)
        self.tabs.addTab(page, icon("retry", checked_dark=False), "Versions")

        cpage = QWidget()
        cl = QVBoxLayout(cpage)
        cl.setContentsMargins(0, 6, 0, 0)
        self.conflicts = _List("No conflicts.\nEdits made on two machines at once show up here.")
        self.conflicts.setHeaderLabels(["What", "Lost change"])
        self.conflicts.setRootIsDecorated(False)
        self.conflicts.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.restore_mine = QPushButton(icon("retry"), "Restore mine")
        self.restore_mine.setToolTip("Apply my lost change again, so it wins")
        self.keep_theirs = QPushButton("Keep theirs")
        for b in (self.restore_mine, self.keep_theirs):
            b.setEnabled(False)
        cl.addWidget(self.conflicts, 1)
        crow = QHBoxLayout()
        crow.addStretch(1)
        crow.addWidget(self.keep_theirs)
        crow.addWidget(self.restore_mine)
        cl.addLayout(crow)
        self.tabs.addTab(cpage, icon("conflict", checked_dark=False), "Conflicts")

        self.versions.itemSelectionChanged.connect(self._version_selected)
        self.restore.clicked.connect(self.restore_selected)
        self.conflicts.itemSelectionChanged.connect(self._conflict_selected)
        self.restore_mine.clicked.connect(self._restore_mine)
        self.keep_theirs.clicked.connect(self._keep_theirs)
        self._conflicts_stale = True  # read the conflict list again on the next refresh
        state.libraryChanged.connect(self._mark_conflicts)  # before the gate: it may refresh at once
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, open_clip_changed(state))
        state.clipChanged.connect(lambda _wc: self.refresh_gate.request())
        self.refresh()

    def refresh(self) -> None:
        self._refresh_versions()
        self._refresh_conflicts()

    def _refresh_versions(self) -> None:
        """Add the open clip's versions newer than the listed ones on top (versions are immutable,
        so an edit adds one and changes none); another clip, or a new day (the times read "HH:MM:SS"
        only for today), lists them all again."""
        wc = self.state.wc_uid
        today = date.today()
        listed = self._listed
        after = listed[1] if listed is not None and listed[0] == wc and listed[2] == today else 0
        if not after:
            self.versions.clear()
        history: list[dict[str, Any]] = []
        if wc is not None:
            try:
                history = self.state.library.history(wc, after)
            except GestureError:
                history = []
        if history:
            previous = self.versions.topLevelItem(0)
            if previous is not None:  # no longer the current version
                previous.setText(0, f"v{after}")
                previous.setToolTip(0, "")
            mine = self.state.library.device_id
            for v in history:  # oldest first, each on top of the one before
                g = v["gesture"]
                label = history_label(self.state.library, g.get("kind"), g.get("payload"), g.get("undoes"))
                if g.get("device_id") and g["device_id"] != mine:
                    label += "  (other device)"
                item = QTreeWidgetItem([f"v{v['version']}", label, _local_time(v["created_at"])])
                item.setData(0, Qt.ItemDataRole.UserRole, v["version"])
                self.versions.insertTopLevelItem(0, item)
            after = history[-1]["version"]
            item.setText(0, f"v{after}  •")  # the newest, now on top
            item.setToolTip(0, "The current version")
        self._listed = (wc, after, today) if wc is not None else None
        count = self.versions.topLevelItemCount()
        self.title.setText(f"{count} version(s) of the open clip" if count and self.state.clip_doc() else "")
        self._version_selected()

    def _mark_conflicts(self, changes: ChangeSet | None) -> None:
        if changes is None or changes.touches(EntityKind.CONFLICT):
            self._conflicts_stale = True

    def _refresh_conflicts(self) -> None:
        if not self._conflicts_stale:
            return
        self._conflicts_stale = False
        self._conflicts = self.state.library.conflicts()
        self.conflicts.clear()
        for c in self._conflicts:
            head = c["path"].split("/")[0]
            what = _PATH_WORDS.get(head, head)
            item = QTreeWidgetItem([f"{what} of {c['entity_uid'][:8]}", c["loser_op_id"][:8]])
            item.setToolTip(0, c["path"])
            self.conflicts.addTopLevelItem(item)
        n = len(self._conflicts)
        self.tabs.setTabText(1, f"Conflicts ({n})" if n else "Conflicts")
        self._conflict_selected()
        self.conflictsChanged.emit(n)

    def _version_selected(self) -> None:
        items = self.versions.selectedItems()
        latest = self.versions.topLevelItem(0)
        self.restore.setEnabled(bool(items) and items[0] is not latest)

    def restore_selected(self) -> None:
        items = self.versions.selectedItems()
        if not items or self.state.wc_uid is None:
            return
        version = int(items[0].data(0, Qt.ItemDataRole.UserRole))
        # Applied here, not on the write worker: the message says whether the restore took.
        if self.state.apply(Gesture(GestureKind.RESTORE_VERSION, self.state.wc_uid, {"version": version}),
                            text=f"Restore version {version}") is not None:
            self.state.message.emit(f"Restored version {version} (as a new version; undo brings the last one back)",
                                    False)

    def _selected_conflict(self) -> dict[str, Any] | None:
        items = self.conflicts.selectedItems()
        if not items:
            return None
        i = self.conflicts.indexOfTopLevelItem(items[0])
        return self._conflicts[i] if 0 <= i < len(self._conflicts) else None

    def _conflict_selected(self) -> None:
        c = self._selected_conflict()
        self.restore_mine.setEnabled(c is not None)
        self.keep_theirs.setEnabled(c is not None)

    def _restore_mine(self) -> None:
        c = self._selected_conflict()
        if c is not None and restore_mine(self.state, c):
            self.state.message.emit("Your change is back", False)

    def _keep_theirs(self) -> None:
        c = self._selected_conflict()
        if c is not None:
            dismiss_conflict(self.state, c)

    def show_conflicts(self) -> None:
        self.tabs.setCurrentIndex(1)


__all__ = ["HistoryPanel", "dismiss_conflict", "restore_mine"]
