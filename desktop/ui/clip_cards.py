"""Raw clips as cards: the card painter, the model a drag carries uids out of, the filter,
and the reel tree clips are dropped on."""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (QAbstractListModel, QMimeData, QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect,
                            QRectF, QSize, QSortFilterProxyModel, Qt, Signal)
from PySide6.QtGui import (QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont, QFontMetrics, QPainter,
                           QPainterPath, QPen)
from PySide6.QtWidgets import QAbstractItemView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from desktop.ui import theme
from desktop.ui.empty_views import EmptyTree
from desktop.ui.library_listing import ClipRow, clip_title
from desktop.ui.thumbnail_cache import ThumbnailCache
from desktop.ui.undo import fmt_time
from resources import icon

CLIPS_MIME = "application/x-reeldesk-raw-clips"
CARD = QSize(196, 178)
SELECTED_OUTLINE_PX = 2.5
_THUMB = QSize(180, 101)

UID_ROLE = Qt.ItemDataRole.UserRole + 1
DATA_ROLE = Qt.ItemDataRole.UserRole + 2
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 3


class ClipCardDelegate(QStyledItemDelegate):
    """A clip card: thumbnail with duration badge, name, rating stars, tag chips."""

    def __init__(self, thumbs: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thumbs = thumbs

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return CARD

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        clip: dict[str, Any] = index.data(DATA_ROLE) or {}
        r = option.rect.adjusted(6, 6, -6, -6)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        bg = theme.PANEL_HI if hovered or selected else theme.PANEL_ALT
        path = QPainterPath()
        path.addRoundedRect(r, 6, 6)
        painter.fillPath(path, bg)
        if selected:  # a clear outline: several cards are picked for a reel at once
            painter.setPen(QPen(theme.ACCENT, SELECTED_OUTLINE_PX))
            painter.drawRoundedRect(QRectF(r).adjusted(1, 1, -1, -1), 6, 6)
        thumb_rect = QRect(r.x() + 8, r.y() + 8, r.width() - 16, _THUMB.height())
        pm = self.thumbs.pixmap(clip.get("media_hash", ""), float(clip.get("start", 0.0)) + 0.5)
        clip_path = QPainterPath()
        clip_path.addRoundedRect(thumb_rect, 4, 4)
        painter.save()
        painter.setClipPath(clip_path)
        painter.fillRect(thumb_rect, theme.BG)
        if pm is not None:
            scaled = pm.scaled(thumb_rect.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                               Qt.TransformationMode.SmoothTransformation)
            sx = (scaled.width() - thumb_rect.width()) // 2
            sy = (scaled.height() - thumb_rect.height()) // 2
            painter.drawPixmap(thumb_rect, scaled, QRect(sx, sy, thumb_rect.width(), thumb_rect.height()))
        else:
            icon("film").paint(painter, thumb_rect.adjusted(70, 30, -70, -30))
        painter.restore()
        # duration badge
        seconds = float(clip.get("end", 0)) - float(clip.get("start", 0))
        dur = f"{seconds:.1f} s" if seconds < 60 else fmt_time(seconds, precise=False)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.85))
        fm = QFontMetrics(small)
        badge = QRect(0, 0, fm.horizontalAdvance(dur) + 10, fm.height() + 2)
        badge.moveBottomRight(thumb_rect.bottomRight() - QPoint(4, 4))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 170))
        painter.drawRoundedRect(badge, 3, 3)
        painter.setFont(small)
        painter.setPen(theme.TEXT)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, dur)
        # name
        y = thumb_rect.bottom() + 6
        name_font = QFont(option.font)
        name_font.setBold(True)
        painter.setFont(name_font)
        nfm = QFontMetrics(name_font)
        name = clip_title(clip)
        painter.setPen(theme.TEXT)
        painter.drawText(QRect(r.x() + 8, y, r.width() - 16, nfm.height()),
                         Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextDontClip,
                         nfm.elidedText(name, Qt.TextElideMode.ElideRight, r.width() - 16))
        y += nfm.height() + 2
        # stars + source
        rating = int(clip.get("rating") or 0)
        painter.setFont(small)
        star_w = fm.horizontalAdvance("★")
        for i in range(5):
            painter.setPen(theme.rating_color(rating) if i < rating else theme.TEXT_DISABLED)
            painter.drawText(QPoint(r.x() + 8 + i * (star_w + 1), y + fm.ascent()), "★")
        painter.setPen(theme.TEXT_DIM)
        src = clip.get("media_name", "")
        sx = r.x() + 8 + 5 * (star_w + 1) + 8
        painter.drawText(QRect(sx, y, r.right() - 8 - sx, fm.height()),
                         Qt.AlignmentFlag.AlignRight | Qt.TextFlag.TextDontClip,
                         fm.elidedText(src, Qt.TextElideMode.ElideMiddle, r.right() - 8 - sx))
        y += fm.height() + 4
        # tag chips
        x = r.x() + 8
        for tag in clip.get("tags", []):
            w = fm.horizontalAdvance(tag) + 12
            if x + w > r.right() - 8:
                break
            chip = QRect(x, y, w, fm.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(theme.PANEL_HI)
            painter.drawRoundedRect(chip, 7, 7)
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, tag)
            x += w + 4
        painter.restore()


class ClipModel(QAbstractListModel):
    """Raw clips as read on a worker (``ClipRow``); dragging them carries their uids (drop onto a
    project to add them). Showing a new read is one model reset, not an item per clip built on the
    UI thread (2,000 items took ~70 ms)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[ClipRow] = []

    def set_rows(self, rows: list[ClipRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return clip_title(row.data)
        if role == UID_ROLE:
            return row.data["uid"]
        if role == DATA_ROLE:
            return row.data
        if role == SEARCH_ROLE:
            return row.search
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [CLIPS_MIME]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:  # noqa: N802
        uids = []
        for index in indexes:
            uid = index.data(UID_ROLE)
            if uid and uid not in uids:
                uids.append(uid)
        data = QMimeData()
        data.setData(CLIPS_MIME, json.dumps(uids).encode("utf-8"))
        data.setText("\n".join(uids))
        return data


class ClipFilter(QSortFilterProxyModel):
    """Search text (name, tags, notes, source), minimum rating, one tag."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.min_rating = 0
        self.tag = ""

    def set_filter(self, text: str, min_rating: int, tag: str) -> None:
        begin = getattr(self, "beginFilterChange", None)
        if begin is not None:  # Qt ≥ 6.10: invalidateFilter() is deprecated
            begin()
        self.text, self.min_rating, self.tag = text.casefold().strip(), min_rating, tag
        if begin is not None:
            self.endFilterChange()
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if not (self.text or self.min_rating or self.tag):
            return True  # called for every clip on each new read: the common case answers at once
        source = self.sourceModel()
        if isinstance(source, ClipModel):  # the rows themselves, not a data() call per role
            clip, search = source.rows[row].data, source.rows[row].search
        else:
            index = source.index(row, 0, parent)
            clip, search = index.data(DATA_ROLE) or {}, index.data(SEARCH_ROLE) or ""
        if int(clip.get("rating") or 0) < self.min_rating:
            return False
        if self.tag and self.tag not in clip.get("tags", []):
            return False
        return not self.text or all(word in search for word in self.text.split())


class ProjectTree(EmptyTree):
    """Projects; dropping clips (from the clip grid or Annotate's list) adds them to the project."""

    clipsDropped = Signal(str, list)  # project uid, raw clip uids

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("No reels yet.\nSelect clips and choose “Create reel”, or press New reel.", parent)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasFormat(CLIPS_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        item = self.itemAt(event.position().toPoint())
        if event.mimeData().hasFormat(CLIPS_MIME) and item is not None:
            self.setCurrentItem(item)
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        item = self.itemAt(event.position().toPoint())
        if item is None or not event.mimeData().hasFormat(CLIPS_MIME):
            event.ignore()
            return
        uids = clip_uids_from_mime(event.mimeData())
        event.acceptProposedAction()
        if uids:
            self.clipsDropped.emit(item.data(0, UID_ROLE), uids)


def clip_uids_from_mime(data: QMimeData) -> list[str]:
    try:
        uids = json.loads(bytes(data.data(CLIPS_MIME).data()).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return []
    return [u for u in uids if isinstance(u, str)] if isinstance(uids, list) else []
