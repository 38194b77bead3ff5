"""Library mode: clips (thumbnail, name, stars, tags, duration), footage/games, projects, gallery.

Everything here reads the library (on a worker, ``library_listing``) and redraws on change
notifications; the only writes are gestures through :class:`EditorState` (ratings, adding clips to a
project by drag and drop).
Thumbnails come from the media cache, generated on a worker the first time a media is shown.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QIcon, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListView,
                               QMenu, QPushButton, QTabWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.changes import EntityKind
from core.enums import GestureKind
from core.gestures.model import Gesture
from core.media.thumbnails import generate_thumbnails, thumbnail_name
from core.reads import GalleryVideo, ReelSummary, read_reels
from desktop.ui import theme
from desktop.ui.background import LatestRead
from desktop.ui.clip_cards import (CARD, CLIPS_MIME, DATA_ROLE, UID_ROLE, ClipCardDelegate, ClipFilter,
                                   ClipModel, ProjectTree, clip_uids_from_mime)
from desktop.ui.empty_views import EmptyList, EmptyTree, paint_empty_state
from desktop.ui.library_listing import (ClipListing, Footage, ListRead, read_clip_listing, read_footage,
                                        read_gallery_listing)
from desktop.ui.thumbnail_cache import ThumbnailCache
from desktop.ui.refresh import gate, touching
from desktop.ui.undo import EditorState, fmt_time
from desktop.ui.workers import TaskHub
from resources import icon


class LibraryPanel(QWidget):
    """The Library mode page."""

    openMedia = Signal(str)  # media hash → Annotate
    openRawClip = Signal(str)  # raw clip uid → Annotate
    openProject = Signal(str)  # project uid → Frame
    importRequested = Signal()
    newProjectRequested = Signal(list)  # raw clip uids (may be empty)
    clipsShown = Signal()  # the clip grid shows the newest read of the library
    tabFilled = Signal(object)  # the Footage, Reels or Gallery page shows the newest read of its list

    def __init__(self, state: EditorState, hub: TaskHub, thumbs: ThumbnailCache,
                 parent: QWidget | None = None, *, reads: LatestRead | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.hub = hub
        self.thumbs = thumbs
        self.reads = reads if reads is not None else LatestRead(self)  # list reads run off the UI thread
        self._media: dict[str, dict[str, Any]] = {}

        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 8)
        outer.setSpacing(8)

        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search clips, tags, notes…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(160)
        self.rating_filter = QComboBox()
        self.rating_filter.addItem("Any rating", 0)
        for n in range(1, 6):
            self.rating_filter.addItem("★" * n + ("  or more" if n < 5 else ""), n)
        self.tag_filter = QComboBox()
        self.tag_filter.addItem("All tags", "")
        self.tag_filter.setMinimumWidth(130)
        self.count_label = QLabel()
        self.count_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.new_reel = QPushButton(icon("project"), "Create reel")
        self.new_reel.setToolTip("Create a reel from the selected clips")
        self.import_button = QPushButton(icon("import"), "Import…")
        self.import_button.setToolTip("Import video files (or drop files and folders anywhere on the window)")
        bar.addWidget(self.search, 2)
        bar.addWidget(self.rating_filter)
        bar.addWidget(self.tag_filter)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.new_reel)
        bar.addWidget(self.import_button)
        outer.addLayout(bar)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setChangeCurrentOnDrag(True)  # drag clips over "Reels" to drop them on one
        self.tabs.tabBar().setAcceptDrops(True)
        outer.addWidget(self.tabs, 1)

        # clips grid
        self.clip_model = ClipModel(self)
        self.clip_proxy = ClipFilter(self)
        self.clip_proxy.setSourceModel(self.clip_model)
        self.clip_view = EmptyList("No clips yet.\nDrop game footage or clips anywhere on this window to import them.")
        self.clip_view.setModel(self.clip_proxy)
        self.clip_view.setViewMode(QListView.ViewMode.IconMode)
        self.clip_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.clip_view.setMovement(QListView.Movement.Static)
        self.clip_view.setUniformItemSizes(True)
        self.clip_view.setGridSize(CARD)
        self.clip_view.setSpacing(0)
        self.clip_view.setMouseTracking(True)
        self.clip_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.clip_view.setDragEnabled(True)
        self.clip_view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.clip_view.setItemDelegate(ClipCardDelegate(thumbs, self.clip_view))
        self.clip_view.doubleClicked.connect(self._clip_activated)
        self.clip_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.clip_view.customContextMenuRequested.connect(self._clip_menu)
        self.tabs.addTab(self.clip_view, icon("film", checked_dark=False), "Clips")

        # footage: games and media
        self.footage = EmptyTree("No footage yet.\nDrop video files or whole folders here to import them.")
        self.footage.setHeaderLabels(["Name", "Duration", "Size", "Frame rate", "Clips"])
        self.footage.setAlternatingRowColors(True)
        self.footage.setUniformRowHeights(True)
        self.footage.itemDoubleClicked.connect(self._footage_activated)
        self.footage.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.footage.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tabs.addTab(self.footage, icon("library", checked_dark=False), "Footage")

        # projects
        self.projects = ProjectTree()
        self.projects.setHeaderLabels(["Reel", "Aspect", "Clips", "Length"])
        self.projects.setRootIsDecorated(False)
        self.projects.setAlternatingRowColors(True)
        self.projects.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.projects.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.projects.itemDoubleClicked.connect(lambda item, _c: self.openProject.emit(item.data(0, UID_ROLE)))
        self.projects.clipsDropped.connect(self.add_clips_to_project)
        self.tabs.addTab(self.projects, icon("project", checked_dark=False), "Reels")

        # gallery
        self.gallery = EmptyTree("No finished videos yet.\nExport a reel and every version lands here.")
        self.gallery.setHeaderLabels(["Video", "Reel", "Length", "Size", "Exported"])
        self.gallery.setRootIsDecorated(False)
        self.gallery.setAlternatingRowColors(True)
        self.gallery.setIconSize(QSize(48, 48))
        self._posters: dict[str, QPixmap] = {}
        self.gallery.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.gallery.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.gallery.itemDoubleClicked.connect(self._open_video)
        self.gallery.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery.customContextMenuRequested.connect(self._gallery_menu)
        self.tabs.addTab(self.gallery, icon("export", checked_dark=False), "Gallery")
        # Footage, Reels and Gallery fill when opened: summarising a season's reels takes half a
        # second, which the window's start and every library change would otherwise pay.
        self._listing = ClipListing({}, [], [])
        self._gallery: list[tuple[GalleryVideo, bool]] = []
        self._stale_tabs: set[QWidget] = set()
        self.tabs.currentChanged.connect(lambda _i: self._fill_open_tab())

        self.search.textChanged.connect(self._apply_filter)
        self.rating_filter.currentIndexChanged.connect(self._apply_filter)
        self.tag_filter.currentIndexChanged.connect(self._apply_filter)
        self.import_button.clicked.connect(self.importRequested)
        self.new_reel.clicked.connect(lambda: self.newProjectRequested.emit(self.selected_clip_uids()))
        thumbs.ready.connect(lambda _h: self.clip_view.viewport().update())
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh,
                                 touching(EntityKind.MEDIA, EntityKind.RAW_CLIP, EntityKind.GAME, EntityKind.PROJECT))
        self.refresh()

    # -- data ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the clips and media on a worker; the newest read is shown when it returns
        (``clipsShown``), with the selection and the filters kept."""
        self.reads.request(partial(read_clip_listing, self.state.library), self._show_clips, key=ListRead.CLIPS)

    def _show_clips(self, listing: ClipListing) -> None:
        selected = set(self.selected_clip_uids())
        self._media = listing.media
        self.clip_model.set_rows(listing.clips)
        self._restore_selection(selected)
        current_tag = self.tag_filter.currentData()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("All tags", "")
        for t in listing.tags:
            self.tag_filter.addItem(f"#{t}", t)
        i = self.tag_filter.findData(current_tag)
        self.tag_filter.setCurrentIndex(max(0, i))
        self.tag_filter.blockSignals(False)
        self._listing = listing
        self._stale_tabs = {self.footage, self.projects, self.gallery}
        self._fill_open_tab()
        self._apply_filter()
        self.clipsShown.emit()

    def _fill_open_tab(self) -> None:
        """Read the open tab's list on a worker if it is stale; ``tabFilled`` when it is shown."""
        page = self.tabs.currentWidget()
        if page not in self._stale_tabs:
            return
        self._stale_tabs.discard(page)
        lib = self.state.library
        if page is self.footage:
            self.reads.request(partial(read_footage, lib, self._listing), self._fill_footage, key=ListRead.FOOTAGE)
        elif page is self.projects:
            self.reads.request(lambda: read_reels(lib), self._fill_projects, key=ListRead.REELS)
        elif page is self.gallery:
            self.reads.request(partial(read_gallery_listing, lib), self._fill_gallery, key=ListRead.GALLERY)

    def _restore_selection(self, uids: set[str]) -> None:
        if not uids:
            return
        sel = self.clip_view.selectionModel()
        for row in range(self.clip_proxy.rowCount()):
            index = self.clip_proxy.index(row, 0)
            if index.data(UID_ROLE) in uids:
                sel.select(index, sel.SelectionFlag.Select)

    def _fill_footage(self, footage: Footage) -> None:
        counts = footage.clip_counts
        self.footage.clear()
        in_game: set[str] = set()

        def media_item(h: str) -> QTreeWidgetItem:
            mm = self._media.get(h)
            if mm is None:
                item = QTreeWidgetItem(["(waiting for media)", "", "", "", ""])
            else:
                fps = mm["fps_num"] / mm["fps_den"] if mm["fps_den"] else 0
                item = QTreeWidgetItem([mm["name"] or h[:12], fmt_time(mm["duration"], precise=False),
                                        f"{mm['width']}×{mm['height']}", f"{fps:.3g} fps", str(counts.get(h, 0))])
                if h not in footage.on_machine:
                    item.setText(0, f"{item.text(0)}  (not on this machine yet)")
            item.setIcon(0, icon("film"))
            item.setData(0, UID_ROLE, h)
            return item

        for g in footage.games:
            head = QTreeWidgetItem([g.name, "", "", "", ""])
            head.setIcon(0, icon("library"))
            total = sum(float(self._media.get(h, {}).get("duration", 0)) for h in g.media)
            head.setText(1, fmt_time(total, precise=False))
            head.setText(4, str(sum(counts.get(h, 0) for h in g.media)))
            for h in g.media:
                head.addChild(media_item(h))
                in_game.add(h)
            self.footage.addTopLevelItem(head)
            head.setExpanded(True)
        for h in self._media:
            if h not in in_game:
                self.footage.addTopLevelItem(media_item(h))
        self.tabFilled.emit(self.footage)

    def _fill_projects(self, reels: list[ReelSummary]) -> None:
        selected = self.projects.currentItem()
        current = selected.data(0, UID_ROLE) if selected is not None else None
        self.projects.clear()
        for reel in reels:
            item = QTreeWidgetItem([reel.name, reel.aspect.value, str(reel.clip_count),
                                    fmt_time(reel.output_duration)])
            item.setIcon(0, icon("project"))
            item.setData(0, UID_ROLE, reel.uid)
            if reel.uid == self.state.project_uid:
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
            self.projects.addTopLevelItem(item)
            if reel.uid == current:
                self.projects.setCurrentItem(item)
        self.tabFilled.emit(self.projects)

    def refresh_gallery(self) -> None:
        self._stale_tabs.add(self.gallery)
        self._fill_open_tab()

    def _fill_gallery(self, videos: list[tuple[GalleryVideo, bool]]) -> None:
        self._gallery = videos
        self.gallery.clear()
        for entry, here in videos:
            v, created = entry.video, entry.created_at
            path = Path(v.path)
            item = QTreeWidgetItem([path.name, f"{entry.project_name or '?'}  v{v.version}",
                                    fmt_time(v.duration), f"{v.width}×{v.height}",
                                    created.astimezone().strftime("%Y-%m-%d %H:%M") if created else ""])
            poster = self._posters.get(v.uid)
            item.setIcon(0, icon("film") if poster is None or poster.isNull() else QIcon(poster))
            item.setData(0, UID_ROLE, str(path))
            if poster is None and here:
                self._make_poster(v.uid, path)
            if not here:
                item.setToolTip(0, "The file is not on this machine")
                item.setForeground(0, theme.TEXT_DISABLED)
            self.gallery.addTopLevelItem(item)
        self.tabFilled.emit(self.gallery)

    def _make_poster(self, uid: str, path: Path) -> None:
        """First frame of a final video as its gallery icon (made once, on a worker, cached)."""
        if uid in self._posters:
            return
        self._posters[uid] = QPixmap()  # requested: not again while it is being made
        folder = self.state.library.cache_dir / "gallery" / uid

        def work(report, cancelled) -> Path:
            cached = folder / thumbnail_name(0)
            if not cached.is_file():
                generate_thumbnails(path, folder, every_s=1e6, height=96, cancelled=cancelled)
            return cached

        def done(file: Path) -> None:
            pm = QPixmap(str(file))
            if not pm.isNull():
                self._posters[uid] = pm
                self._fill_gallery(self._gallery)  # the list as last read, now with this poster

        self.hub.submit(work, name="gallery poster", on_result=done)

    # -- filter / selection -----------------------------------------------------------------------
    def _apply_filter(self) -> None:
        self.clip_proxy.set_filter(self.search.text(), int(self.rating_filter.currentData() or 0),
                                   self.tag_filter.currentData() or "")
        shown, total = self.clip_proxy.rowCount(), self.clip_model.rowCount()
        noun = "clip" if total == 1 else "clips"
        self.count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")

    def selected_clip_uids(self) -> list[str]:
        sel = self.clip_view.selectionModel()
        if sel is None:
            return []
        rows = sorted(sel.selectedIndexes(), key=lambda i: i.row())
        return [i.data(UID_ROLE) for i in rows if i.data(UID_ROLE)]

    def focus_search(self) -> None:
        self.tabs.setCurrentWidget(self.clip_view)
        self.search.setFocus()
        self.search.selectAll()

    # -- actions ---------------------------------------------------------------------------------
    def add_clips_to_project(self, project_uid: str, raw_uids: list[str]) -> None:
        gestures = [Gesture(GestureKind.ADD_CLIP, project_uid, {"raw_clip": uid}) for uid in raw_uids]
        self.state.submit_many(gestures, f"Add {len(gestures)} clip(s) to reel", on_applied=lambda _results:
                               self.state.message.emit(f"Added {len(gestures)} clip(s) to the reel", False))

    def _clip_activated(self, index: QModelIndex) -> None:
        uid = index.data(UID_ROLE)
        if uid:
            self.openRawClip.emit(uid)

    def _footage_activated(self, item: QTreeWidgetItem, _col: int) -> None:
        h = item.data(0, UID_ROLE)
        if h:
            self.openMedia.emit(h)

    def _clip_menu(self, pos: QPoint) -> None:
        uids = self.selected_clip_uids()
        if not uids:
            return
        menu = QMenu(self)
        menu.addAction(icon("annotate"), "Open in Annotate", lambda: self.openRawClip.emit(uids[0]))
        menu.addAction(icon("project"), "Create reel from selection…", lambda: self.newProjectRequested.emit(uids))
        add_to = menu.addMenu(icon("plus"), "Add to reel")
        for p in self.state.library.projects():
            add_to.addAction(p["name"], partial(self.add_clips_to_project, p["uid"], uids))
        add_to.setEnabled(not add_to.isEmpty())
        menu.addSeparator()
        menu.addAction(icon("trash"), "Delete clip(s)", lambda: self.delete_clips(uids))
        menu.exec(self.clip_view.viewport().mapToGlobal(pos))

    def delete_clips(self, uids: list[str]) -> None:
        gestures = [Gesture(GestureKind.DELETE_CLIP, uid, {}) for uid in uids]
        self.state.submit_many(gestures, f"Delete {len(uids)} clip(s)")

    def _open_video(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        path = Path(item.data(0, UID_ROLE))
        if path.is_file():
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        else:
            self.state.message.emit("That video is not on this machine", True)

    def _gallery_menu(self, pos: QPoint) -> None:
        item = self.gallery.itemAt(pos)
        if item is None:
            return
        path = Path(item.data(0, UID_ROLE))
        menu = QMenu(self)
        menu.addAction(icon("play"), "Play", lambda: self._open_video(item))
        menu.addAction(icon("folder"), "Show in folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent))))
        menu.exec(self.gallery.viewport().mapToGlobal(pos))


# The card, list and thumbnail names keep their old import path: many panels and tests use it.
__all__ = ["CARD", "CLIPS_MIME", "DATA_ROLE", "UID_ROLE", "ClipCardDelegate", "LibraryPanel", "ThumbnailCache",
           "clip_uids_from_mime", "paint_empty_state"]
