"""The Reel dock's list: the open reel's clips in order, to pick one to frame, drag to reorder,
and drop Library clips onto to add them."""
from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

from PySide6.QtCore import QMimeData, QPoint, QSize, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QMenu, QWidget

from core.enums import GestureKind
from core.gestures.model import Gesture
from desktop.ui.library_panel import CLIPS_MIME, ThumbnailCache, clip_uids_from_mime, paint_empty_state
from desktop.ui.refresh import RefreshGate
from desktop.ui.undo import EditorState, fmt_time
from resources import icon

WORKING_CLIP_MIME = "application/x-reeldesk-working-clip"
_LINES_ROLE = Qt.ItemDataRole.UserRole + 1  # (numbered name, output duration) before eliding


class ReelClipList(QListWidget):
    """The open reel's clips in order: pick one to frame, drag to reorder, drop clips to add."""

    def __init__(self, state: EditorState, thumbs: ThumbnailCache, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor_state = state
        self.thumbs = thumbs
        self.setIconSize(QSize(64, 36))
        self.setSpacing(2)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.currentItemChanged.connect(self._picked)
        self._filling = False
        self._shown: tuple[Any, ...] | None = None  # what the list shows now (see _fill)
        self.refresh_gate = RefreshGate(self, self.refresh)  # the Reel dock is hidden outside Frame/Spotlight
        thumbs.ready.connect(lambda _h: self.names_changed())

    def refresh(self) -> None:
        if self._filling:  # clearing hides the scroll bar, which resizes the viewport: no re-entry
            return
        self._filling = True
        try:
            self._fill()
        finally:
            self._filling = False

    def names_changed(self) -> None:
        """A clip name or thumbnail may differ now: the next refresh rebuilds the list."""
        self._shown = None
        self.refresh_gate.request()

    def _fill(self) -> None:
        doc = self.editor_state.project_doc()
        # Most reel changes (a crop keyframe, a rotation) change nothing this list shows: keep it.
        shown = (doc["project"]["uid"] if doc else None, self.editor_state.wc_uid,
                 tuple((c["uid"], c["raw_clip"], c["media"], c["source"]["start"], c["output_duration"])
                       for c in (doc["clips"] if doc else [])))
        if shown == self._shown:
            return
        self._shown = shown
        self.blockSignals(True)
        self.clear()
        # Only this reel's clips: a season library holds thousands.
        names = self.editor_state.library.raw_clip_names([c["raw_clip"] for c in doc["clips"]]) if doc else {}
        for i, c in enumerate(doc["clips"] if doc else [], 1):
            name = names.get(c["raw_clip"]) or "Clip"
            item = QListWidgetItem()
            item.setToolTip(name)
            item.setData(Qt.ItemDataRole.UserRole, c["uid"])
            item.setData(_LINES_ROLE, (f"{i}. {name}", fmt_time(c["output_duration"])))
            pm = self.thumbs.pixmap(c["media"], c["source"]["start"] + 0.5)
            item.setIcon(icon("film") if pm is None else _icon_from(pm))
            self.addItem(item)
            if c["uid"] == self.editor_state.wc_uid:
                self.setCurrentItem(item)
        self._elide()
        self.blockSignals(False)

    def _elide(self) -> None:
        """Names end in "…" at the list's width: a wider item would scroll sideways instead."""
        metrics = self.fontMetrics()
        room = max(40, self.viewport().width() - self.iconSize().width() - 28)
        for row in range(self.count()):
            item = self.item(row)
            name, duration = item.data(_LINES_ROLE)
            item.setText(f"{metrics.elidedText(name, Qt.TextElideMode.ElideRight, room)}\n{duration}")

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()  # not a refill: clearing would toggle the scroll bar and resize again

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.count() == 0:
            paint_empty_state(self, "No clips in this reel.\nDrag clips here from the Library.")

    def _picked(self, item: QListWidgetItem | None, _prev: QListWidgetItem | None) -> None:
        if item is not None:
            self.editor_state.set_clip(item.data(Qt.ItemDataRole.UserRole))

    def mimeTypes(self) -> list[str]:
        return [CLIPS_MIME, WORKING_CLIP_MIME]

    def mimeData(self, items: Sequence[QListWidgetItem]) -> QMimeData:
        data = QMimeData()
        data.setData(WORKING_CLIP_MIME,
                     json.dumps([i.data(Qt.ItemDataRole.UserRole) for i in items]).encode("utf-8"))
        return data

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.editor_state.project_uid and (event.mimeData().hasFormat(CLIPS_MIME)
                                       or event.mimeData().hasFormat(WORKING_CLIP_MIME)):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.editor_state.project_uid and (event.mimeData().hasFormat(CLIPS_MIME)
                                       or event.mimeData().hasFormat(WORKING_CLIP_MIME)):
            super().dragMoveEvent(event)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        project = self.editor_state.project_uid
        if project is None:
            event.ignore()
            return
        row = self._drop_row(event.position().toPoint())
        data = event.mimeData()
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()  # the list is redrawn from the library, Qt must not move items itself
        if data.hasFormat(WORKING_CLIP_MIME):
            wcs = json.loads(bytes(data.data(WORKING_CLIP_MIME).data()).decode("utf-8"))
            current = [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]
            for wc in wcs:
                old = current.index(wc) if wc in current else None
                target = row - 1 if old is not None and old < row else row
                if old is not None and target != old:
                    self.editor_state.submit(Gesture(GestureKind.MOVE_CLIP, project,
                                                     {"working_clip": wc, "position": max(0, target)}),
                                             optimistic=partial(self._move_row, old, max(0, target)))
            return
        uids = clip_uids_from_mime(data)
        gestures = [Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": uid, "position": row + i})
                    for i, uid in enumerate(uids)]
        if gestures:
            self.editor_state.submit_many(gestures, f"Add {len(gestures)} clip(s) to reel")

    def _drop_row(self, pos: QPoint) -> int:
        item = self.itemAt(pos)
        if item is None:
            return self.count()
        row = self.row(item)
        rect = self.visualItemRect(item)
        return row + 1 if pos.y() > rect.center().y() else row

    def _menu(self, pos: QPoint) -> None:
        item = self.itemAt(pos)
        if item is None or self.editor_state.project_uid is None:
            return
        wc = item.data(Qt.ItemDataRole.UserRole)
        menu = QMenu(self)
        menu.addAction(icon("trash"), "Remove from reel", lambda: self.remove(wc))
        menu.exec(self.viewport().mapToGlobal(pos))

    def remove(self, wc: str) -> None:
        project = self.editor_state.project_uid
        if project is not None:
            self.editor_state.submit(Gesture(GestureKind.REMOVE_CLIP, project, {"working_clip": wc}),
                                     optimistic=partial(self._take, wc))

    # The list shows a move or a removal at once; the library's refresh after the write renumbers it
    # (or puts the row back if the write is refused): it no longer shows what _shown says.
    def _move_row(self, old: int, new: int) -> None:
        self._shown = None
        self.blockSignals(True)
        item = self.takeItem(old)
        self.insertItem(min(new, self.count()), item)
        self.blockSignals(False)

    def _take(self, wc: str) -> None:
        self._shown = None
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == wc:
                self.blockSignals(True)
                self.takeItem(row)
                self.blockSignals(False)
                return


def _icon_from(pm) -> QIcon:
    return QIcon(pm.scaled(QSize(64, 36), Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                           Qt.TransformationMode.SmoothTransformation).copy(0, 0, 64, 36))


__all__ = ["ReelClipList"]
