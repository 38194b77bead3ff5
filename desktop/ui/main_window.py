"""The ReelDesk main window: mode bar, central pages, dockable panels, status bar.

Library · Annotate · Frame · Spotlight · Export. The editor page (viewer + transport + timeline)
is shared by Annotate, Frame and Spotlight; each mode shows its inspector in the right dock. All
edits go through ``EditorState.apply`` (gestures, undoable); the window redraws from the library's
change notifications, delivered on the UI thread by ``LibraryBridge``. Long work (imports, cache,
sync, export) runs on workers. Window layout, mode, open reel/clip/footage and the playhead are
kept in ``ui.ini`` inside the library folder (QSettings in INI format, not the registry).
"""
from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (QAction, QActionGroup, QCloseEvent, QColor, QDesktopServices, QDragEnterEvent, QDragLeaveEvent,
                           QDragMoveEvent, QDropEvent, QKeySequence, QPainter, QPaintEvent)
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QDockWidget, QFileDialog,
                               QHBoxLayout, QHeaderView, QLabel, QMainWindow, QProgressBar, QPushButton, QSizePolicy,
                               QSplitter, QStackedWidget, QToolBar, QToolButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from core.gestures.model import Gesture
from core.library import Library
from core.media.cache import PEAKS_PER_SECOND, THUMB_EVERY_S, CacheEvent, CacheStage, CacheWorker
from core.media.importer import ImportProgress, ImportResult, ImportService, ImportStatus
from core.media.waveform import load_peaks, peaks_path
from desktop.ui import theme
from desktop.ui.annotate_panel import AnnotatePanel, create_reel
from desktop.ui.export_panel import ExportPanel, ExportService
from desktop.ui.frame_panel import FramePanel
from desktop.ui.history_panel import HistoryPanel
from desktop.ui.import_games import VIDEO_FILTER, ask_game_import, game_name_for, long_footage, make_game
from desktop.ui.keymap import BINDINGS, EDIT_MODES, NUDGES, KeymapDialog, Mode, native_text
from desktop.ui.library_panel import LibraryPanel, ThumbnailCache
from desktop.ui.playback import Playback
from desktop.ui.program_view import ProgramMonitor
from desktop.ui.reel_list import ReelClipList
from desktop.ui.rotation_control import StraightenOverlay
from desktop.ui.settings_dialog import SettingsDialog
from desktop.ui.spotlight_panel import SpotlightPanel
from desktop.ui.spotlight_warning import SpotlightWarning
from desktop.ui.track_panel import TrackControls, TrackController
from desktop.ui.text_panel import TextPanel
from desktop.ui.sync_indicator import SyncController, SyncIndicator
from desktop.ui.timecode import FRAMES_SETTING
from desktop.ui.timeline import TimelineView
from desktop.ui.undo import EditorState, fmt_time
from desktop.ui.viewer import VideoViewer, ViewerMode
from desktop.ui.window_fit import CurrentPageStack, fit_window, scrolling, strip
from desktop.ui.workers import LibraryBridge, Task, TaskHub
from resources import icon, style_sheet

log = logging.getLogger(__name__)

SETTINGS_FILE = "ui.ini"
_LAYOUT_VERSION = 1
_VIEWER_MODES = {Mode.ANNOTATE: ViewerMode.PLAIN, Mode.FRAME: ViewerMode.FRAME, Mode.SPOTLIGHT: ViewerMode.SPOTLIGHT}
_RATES = (0.25, 0.5, 1.0, 1.5, 2.0)


def ui_settings(library: Library) -> QSettings:
    """Window state lives next to the library (tests stay isolated; nothing in the registry)."""
    return QSettings(str(library.root / SETTINGS_FILE), QSettings.Format.IniFormat)


def _local_files(urls: list[QUrl]) -> list[Path]:
    return [Path(u.toLocalFile()) for u in urls if u.isLocalFile() and u.toLocalFile()]


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with … instead of being cut off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        rect = self.contentsRect().adjusted(10, 0, 0, 0)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        p.setPen(theme.TEXT_DIM)
        p.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        p.end()


class DropOverlay(QWidget):
    """Shown over the window while files are dragged in: says what a drop will do."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = "Drop to import"
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.BG.red(), theme.BG.green(), theme.BG.blue(), 200))
        r = self.rect().adjusted(40, 40, -40, -40)
        pen = p.pen()
        pen.setColor(theme.ACCENT)
        pen.setWidth(3)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRoundedRect(r, 18, 18)
        icon("drop").paint(p, r.center().x() - 32, r.center().y() - 80, 64, 64)
        font = p.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        p.setFont(font)
        p.setPen(theme.TEXT)
        p.drawText(r.adjusted(0, 20, 0, 0), Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


class ImportReportDialog(QDialog):
    """Per-file results of an import, errors first; non-modal so editing can go on."""

    def __init__(self, results: list[ImportResult], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import")
        self.resize(680, 360)
        layout = QVBoxLayout(self)
        failed = [r for r in results if r.status in (ImportStatus.ERROR, ImportStatus.CANCELLED)]
        ok = [r for r in results if r.ok]
        skipped = [r for r in results if r.status is ImportStatus.SKIPPED]
        head = QLabel(f"{len(ok)} imported · {len(failed)} failed · {len(skipped)} skipped")
        head.setStyleSheet("font-weight: 600;")
        layout.addWidget(head)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Result"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        order = {ImportStatus.ERROR: 0, ImportStatus.CANCELLED: 1, ImportStatus.SKIPPED: 2,
                 ImportStatus.IMPORTED: 3, ImportStatus.DUPLICATE: 4}
        for r in sorted(results, key=lambda r: order[r.status]):
            text = {ImportStatus.IMPORTED: "imported", ImportStatus.DUPLICATE: "already in the library"}.get(
                r.status, r.error or r.status.value)
            item = QTreeWidgetItem([r.path.name, text])
            item.setToolTip(0, str(r.path))
            item.setIcon(0, icon("alert" if r.status is ImportStatus.ERROR else
                                 "check" if r.ok else "cancel"))
            if r.status is ImportStatus.ERROR:
                item.setForeground(1, theme.ERROR)
            self.tree.addTopLevelItem(item)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class MainWindow(QMainWindow):
    modeChanged = Signal(str)
    importFinished = Signal(list)  # list[ImportResult]
    _cache_event = Signal(object)
    _watch_result = Signal(object)

    def __init__(self, library: Library, *, services: bool = True) -> None:
        super().__init__()
        self.library = library
        self.setWindowTitle("ReelDesk")
        self.setWindowIcon(icon("spotlight"))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.mode = Mode.LIBRARY
        self._import_task: Task | None = None
        self._reports: list[QDialog] = []
        self._closing = False

        self.hub = TaskHub(self)
        self.state = EditorState(library, self)
        self.bridge = LibraryBridge(library, self)
        self.bridge.changed.connect(self.state.on_library_changed)
        self.cache = CacheWorker.for_library(library)
        self._cache_unsubscribe = self.cache.subscribe(self._cache_event.emit)
        self._cache_event.connect(self._on_cache_event, Qt.ConnectionType.QueuedConnection)
        self.importer = ImportService(library, cache=self.cache)
        self.thumbs = ThumbnailCache(self.state, self.hub, self.cache, self)
        self.playback = Playback(self)
        self.sync = SyncController(library, self.hub, self)
        self.export_service = ExportService(library, self.hub, self)
        self.watch: Any = None
        self._watch_result.connect(self._on_watch_result, Qt.ConnectionType.QueuedConnection)

        self._build_pages()
        self._build_docks()
        self._build_status_bar()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self._connect()
        self.setStyleSheet(style_sheet({name: value.name() for name, value in vars(theme).items()
                                        if isinstance(value, QColor)}))
        self.drop_overlay = DropOverlay(self)
        self.set_mode(Mode.LIBRARY, force=True)
        self.restore_session()
        if services:
            QTimer.singleShot(0, self.start_services)

    # -- construction ----------------------------------------------------------------------------
    def _build_pages(self) -> None:
        self.pages = CurrentPageStack()
        self.library_panel = LibraryPanel(self.state, self.hub, self.thumbs)
        self.pages.addWidget(self.library_panel)

        editor = QWidget()
        el = QVBoxLayout(editor)
        el.setContentsMargins(0, 0, 0, 0)
        el.setSpacing(0)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.setSpacing(0)
        self.viewer = VideoViewer()
        self.program = ProgramMonitor(self)  # Source | Program monitor around the viewer
        # Nothing to show: an explanation with the way forward instead of an empty black frame.
        self.viewer_empty = QWidget()
        self.viewer_empty.setObjectName("ViewerEmpty")
        self.viewer_empty.setStyleSheet(f"#ViewerEmpty {{ background: {theme.BG.name()}; }}")
        ve = QVBoxLayout(self.viewer_empty)
        ve.addStretch(1)
        self.viewer_hint_icon = QLabel()
        self.viewer_hint_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.viewer_hint = QLabel()
        self.viewer_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.viewer_hint.setWordWrap(True)
        self.viewer_hint.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 14px;")
        self.viewer_hint_button = QPushButton(icon("library"), "Go to the Library")
        self.viewer_hint_button.clicked.connect(lambda: self.set_mode(Mode.LIBRARY))
        ve.addWidget(self.viewer_hint_icon)
        ve.addWidget(self.viewer_hint)
        ve.addWidget(self.viewer_hint_button, 0, Qt.AlignmentFlag.AlignHCenter)
        ve.addStretch(1)
        self.viewer_stack = QStackedWidget()
        self.viewer_stack.addWidget(self.program.stack)
        self.viewer_stack.addWidget(self.viewer_empty)
        tl.addWidget(self.viewer_stack, 1)
        self.spot_warning = SpotlightWarning()
        tl.addWidget(self.spot_warning)
        tl.addWidget(strip(self._build_transport()))  # scrolls sideways on a narrow window
        self.splitter.addWidget(top)
        self.timeline = TimelineView()
        self.splitter.addWidget(self.timeline)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 230])
        el.addWidget(self.splitter)
        self.editor_page = editor
        self.pages.addWidget(editor)

        self.export_panel = ExportPanel(self.state, self.export_service)
        self.export_page = scrolling(self.export_panel, horizontal=True)
        self.pages.addWidget(self.export_page)
        self.setCentralWidget(self.pages)
        self.straighten: StraightenOverlay | None = None

    def _build_transport(self) -> QWidget:
        bar = QWidget()
        bar.setObjectName("Transport")
        bar.setStyleSheet(f"#Transport {{ background: {theme.PANEL.name()}; border-top: 1px solid "
                          f"{theme.BORDER.name()}; }}")
        lay = QHBoxLayout(bar)
        lay.setContentsMargins(10, 4, 10, 4)
        lay.setSpacing(4)
        # Three columns, the transport centred: time + what is open | buttons | zoom.
        left = QHBoxLayout()
        left.addWidget(self.program.switch)
        self.time_label = QLabel("00:00.00")
        self.time_label.setFont(theme.mono_font(10.5))
        self.clip_label = ElidedLabel()
        self.clip_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; padding-left: 10px;")
        left.addWidget(self.time_label)
        left.addWidget(self.clip_label, 1)
        lay.addLayout(left, 1)

        def tool(name: str, tip: str, into: QHBoxLayout) -> QToolButton:
            b = QToolButton()
            b.setIcon(icon(name))
            b.setIconSize(QSize(18, 18))
            b.setToolTip(tip)
            b.setAutoRaise(True)
            into.addWidget(b)
            return b

        mid = QHBoxLayout()
        mid.setSpacing(4)
        self.go_start_b = tool("go-start", "Go to start (Home)", mid)
        self.step_back_b = tool("step-back", "One frame back (←)", mid)
        self.play_b = tool("play", "Play / pause (Space)", mid)
        self.play_b.setIconSize(QSize(22, 22))
        self.step_fwd_b = tool("step-forward", "One frame forward (→)", mid)
        self.go_end_b = tool("go-end", "Go to end (End)", mid)
        mid.addSpacing(10)
        self.loop_b = tool("loop", "Loop (Ctrl+L)", mid)
        self.loop_b.setCheckable(True)
        self.rate = QComboBox()
        for r in _RATES:
            self.rate.addItem(f"{r:g}×", r)
        self.rate.setCurrentIndex(_RATES.index(1.0))
        self.rate.setToolTip("Playback speed (J/K/L shuttle changes it too)")
        mid.addWidget(self.rate)
        lay.addLayout(mid)

        right = QHBoxLayout()
        right.addStretch(1)
        self.zoom_out_b = tool("zoom-out", "Zoom the timeline out (−)", right)
        self.zoom_fit_b = tool("zoom-fit", "Fit the timeline (Shift+Z)", right)
        self.zoom_in_b = tool("zoom-in", "Zoom the timeline in (+)", right)
        lay.addLayout(right, 1)
        return bar

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        reel = QWidget()
        rl = QVBoxLayout(reel)
        rl.setContentsMargins(6, 6, 6, 6)
        self.reel_combo = QComboBox()
        self.reel_combo.setToolTip("The reel being framed")
        self.reel_combo.setPlaceholderText("No reels yet")
        self.reel_list = ReelClipList(self.state, self.thumbs)
        rl.addWidget(self.reel_combo)
        rl.addWidget(self.reel_list, 1)
        self.reel_dock = self._dock("Reel", "ReelDock", reel, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.reel_dock.setMinimumWidth(200)

        self.annotate_panel = AnnotatePanel(self.state)
        self.frame_panel = FramePanel(self.state)
        self.spotlight_panel = SpotlightPanel(self.state)
        self.tracking = TrackController(self.state, self.hub, self.viewer, self)
        self.tracking.lostChanged.connect(lambda t: self.timeline.set_lost_marker(self.tracking.lost_clip, t))
        for panel in (self.frame_panel, self.spotlight_panel):  # above each panel's closing stretch
            panel.layout().insertWidget(panel.layout().count() - 1, TrackControls(self.tracking))
        self.inspector = CurrentPageStack()
        for panel in (self.annotate_panel, self.frame_panel, self.spotlight_panel):
            self.inspector.addWidget(scrolling(panel, horizontal=True))
        self.inspector_dock = self._dock("Inspector", "InspectorDock", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_panel = HistoryPanel(self.state)
        self.history_dock = self._dock("History", "HistoryDock", self.history_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.text_panel = TextPanel(self.state)  # text overlays of the open clip
        self.text_dock = self._dock("Text", "TextDock", scrolling(self.text_panel, horizontal=True),
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.text_dock)
        self.inspector_dock.raise_()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.import_box = QWidget()
        il = QHBoxLayout(self.import_box)
        il.setContentsMargins(0, 0, 0, 0)
        self.import_label = QLabel()
        self.import_bar = QProgressBar()
        self.import_bar.setRange(0, 1000)
        self.import_bar.setFixedWidth(180)
        self.import_bar.setFixedHeight(14)
        self.import_cancel = QToolButton()
        self.import_cancel.setIcon(icon("cancel"))
        self.import_cancel.setToolTip("Cancel the import")
        self.import_cancel.setAutoRaise(True)
        il.addWidget(self.import_label)
        il.addWidget(self.import_bar)
        il.addWidget(self.import_cancel)
        self.import_box.hide()
        bar.addPermanentWidget(self.import_box)
        self.sync_indicator = SyncIndicator(self.sync)
        bar.addPermanentWidget(self.sync_indicator)

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        handlers = {
            "play_pause": self.playback.toggle, "shuttle_back": self.playback.shuttle_backward,
            "shuttle_stop": self.playback.shuttle_stop, "shuttle_fwd": self.playback.shuttle_forward,
            "frame_back": lambda: self.playback.step(-1), "frame_fwd": lambda: self.playback.step(1),
            "second_back": lambda: self.playback.step_seconds(-1.0),
            "second_fwd": lambda: self.playback.step_seconds(1.0),
            "go_start": self.playback.go_start, "go_end": self.playback.go_end,
            "loop": self._toggle_loop,
            "mark_in": self.annotate_panel.mark_in, "mark_out": self.annotate_panel.mark_out,
            "set_clip_in": lambda: self.annotate_panel.set_clip_edge("start"),
            "set_clip_out": lambda: self.annotate_panel.set_clip_edge("end"),
            "quick_mark": self.annotate_panel.quick_mark,
            "add_keyframe": self._add_keyframe, "split": self.frame_panel.split,
            "copy_crop": self.frame_panel.copy, "paste_crop": self.frame_panel.paste,
            "delete": self._delete, "add_region": self.spotlight_panel.add_region_at_playhead,
            "undo": self.state.undo.undo, "redo": self.state.undo.redo,
            "zoom_in": self.timeline.zoom_in, "zoom_out": self.timeline.zoom_out,
            "zoom_fit": self.timeline.zoom_to_fit,
            "find": self._find, "import": self.import_dialog, "settings": self.open_settings,
            "help_keys": self.show_keymap,
        }
        for n in range(6):
            handlers[f"rate_{n}"] = lambda n=n: self._rate(n)
        for name, (dx, dy) in NUDGES.items():
            handlers[name] = lambda dx=dx, dy=dy: self.viewer.nudge(dx, dy)
        for mode in Mode:
            handlers[f"mode_{mode.value}"] = lambda m=mode: self.set_mode(m)
        icons = {"undo": "undo", "redo": "redo", "import": "import", "settings": "settings", "help_keys": "help",
                 "split": "split", "add_keyframe": "keyframe", "mark_in": "mark-in", "mark_out": "mark-out",
                 "quick_mark": "quick-mark", "copy_crop": "copy", "paste_crop": "paste", "delete": "trash",
                 "zoom_in": "zoom-in", "zoom_out": "zoom-out", "zoom_fit": "zoom-fit", "loop": "loop",
                 "add_region": "ellipse"}
        for b in BINDINGS:
            action = QAction(b.label, self)
            action.setShortcuts(b.sequences())
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{b.label}  ({native_text(b)})")
            if b.name in icons:
                action.setIcon(icon(icons[b.name]))
            action.triggered.connect(lambda _c=False, fn=handlers[b.name]: self._run(fn))
            self.addAction(action)
            self.actions_by_name[b.name] = action

    def _run(self, fn) -> None:
        """Every shortcut and menu command: errors become a status line, never a traceback."""
        try:
            fn()
        except Exception:
            log.exception("command failed")
            self.show_message("That did not work; details are in reeldesk.log", error=True)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Modes")
        bar.setObjectName("ModeBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.setStyleSheet(f"QToolBar {{ background: {theme.PANEL_ALT.name()}; border-bottom: 1px solid "
                          f"{theme.BORDER.name()}; spacing: 4px; padding: 4px 8px; }}"
                          "QToolBar QToolButton { padding: 5px 12px; border: 1px solid transparent; }"
                          f"QToolBar QToolButton:hover {{ background: {theme.PANEL_HI.name()}; }}"
                          f"QToolBar QToolButton:checked {{ background: {theme.ACCENT.name()}; "
                          f"color: {theme.ACCENT_TEXT.name()}; }}")
        brand = QLabel("  ReelDesk  ")
        brand.setStyleSheet(f"color: {theme.ACCENT.name()}; font-weight: 700; font-size: 15px; padding-right: 10px;")
        bar.addWidget(brand)
        self.mode_group = QActionGroup(self)
        self.mode_group.setExclusive(True)
        self.mode_actions: dict[Mode, QAction] = {}
        for mode in Mode:
            action = self.actions_by_name[f"mode_{mode.value}"]
            action.setText(mode.title)
            action.setIcon(icon(mode.value))
            action.setCheckable(True)
            self.mode_group.addAction(action)
            bar.addAction(action)
            self.mode_actions[mode] = action
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        for name in ("undo", "redo"):
            bar.addAction(self.actions_by_name[name])
        bar.addSeparator()
        for name in ("import", "settings", "help_keys"):
            bar.addAction(self.actions_by_name[name])
        for name in ("undo", "redo", "import", "settings", "help_keys"):
            button = bar.widgetForAction(self.actions_by_name[name])
            if isinstance(button, QToolButton):
                button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.mode_bar = bar

    def _build_menus(self) -> None:
        a = self.actions_by_name
        menu = self.menuBar()
        file = menu.addMenu("&File")
        file.addAction(a["import"])
        file.addAction(icon("folder"), "Import folder…", self.import_folder_dialog)
        file.addAction(icon("library"), "Import game…", self.import_game_dialog).setToolTip(
            "Import a match (its halves in order) as one game to mark clips in")
        file.addAction(icon("project"), "New reel…", lambda: self.new_reel([]))
        file.addSeparator()
        file.addAction(a["settings"])
        file.addAction(icon("folder"), "Open library folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.library.root))))
        file.addSeparator()
        quit_action = file.addAction("Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        edit = menu.addMenu("&Edit")
        edit.addAction(a["undo"])
        edit.addAction(a["redo"])
        edit.addSeparator()
        for name in ("copy_crop", "paste_crop", "delete"):
            edit.addAction(a[name])
        edit.addSeparator()
        edit.addAction(a["find"])
        view = menu.addMenu("&View")
        for mode in Mode:
            view.addAction(self.mode_actions[mode])
        view.addSeparator()
        for dock in (self.reel_dock, self.inspector_dock, self.history_dock):
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        for name in ("zoom_in", "zoom_out", "zoom_fit"):
            view.addAction(a[name])
        self.frames_action = view.addAction("Time codes in frames (HH:MM:SS:FF)")
        self.frames_action.setCheckable(True)
        self.frames_action.setChecked(self.library.get_setting(FRAMES_SETTING, "0") == "1")
        self.frames_action.toggled.connect(self._set_frames_timecode)
        self.timeline.set_frames_timecode(self.frames_action.isChecked())
        play = menu.addMenu("&Playback")
        for name in ("play_pause", "shuttle_back", "shuttle_stop", "shuttle_fwd", None, "frame_back", "frame_fwd",
                     "second_back", "second_fwd", "go_start", "go_end", None, "loop"):
            play.addSeparator() if name is None else play.addAction(a[name])
        mark = menu.addMenu("&Mark")
        for name in ("mark_in", "mark_out", "quick_mark", "set_clip_in", "set_clip_out", None, "rate_1", "rate_2",
                     "rate_3", "rate_4", "rate_5", "rate_0", None, "add_keyframe", "split", "add_region"):
            mark.addSeparator() if name is None else mark.addAction(a[name])
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(a["help_keys"])
        help_menu.addAction("Open the log file", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(self.library.root / "reeldesk.log"))))

    def _connect(self) -> None:
        s = self.state
        s.message.connect(self.show_message)
        s.seekRequested.connect(self.playback.seek)
        s.mediaChanged.connect(self._load_media)
        s.clipChanged.connect(lambda _wc: self._clip_changed())
        s.projectChanged.connect(lambda _p: self._project_changed())
        s.libraryChanged.connect(self._library_changed)
        s.rawClipChanged.connect(lambda uid: self.timeline.set_selected_clip(uid) if self.mode is Mode.ANNOTATE
                                 else None)
        self.playback.frameReady.connect(self.viewer.set_frame)
        self.playback.positionChanged.connect(self._position)
        self.playback.playingChanged.connect(lambda playing: self.play_b.setIcon(icon("pause" if playing else "play")))
        self.playback.rateChanged.connect(self._rate_changed)
        self.playback.message.connect(lambda text: self.show_message(text, error=True))
        self.viewer.gestureRequested.connect(self._gesture_from_widget)
        self.viewer.regionSelected.connect(self.spotlight_panel.select_region)
        self.timeline.playheadMoved.connect(self._timeline_scrubbed)
        self.timeline.gestureRequested.connect(self._gesture_from_widget)
        self.timeline.keyframeSelected.connect(self.frame_panel.select_keyframe)
        self.timeline.clipSelected.connect(self._timeline_clip_selected)
        self.timeline.regionSelected.connect(self.spotlight_panel.select_region)
        self.frame_panel.keyframeSelected.connect(self.timeline.set_selected_keyframe)
        self.frame_panel.straightenToggled.connect(self._straighten)
        self.frame_panel.rotationPreviewed.connect(self._preview_rotation)
        self.spotlight_panel.regionSelected.connect(self.viewer.set_selected_region)
        self.spotlight_panel.regionSelected.connect(self.timeline.set_selected_region)
        self.go_start_b.clicked.connect(self.playback.go_start)
        self.go_end_b.clicked.connect(self.playback.go_end)
        self.step_back_b.clicked.connect(lambda: self.playback.step(-1))
        self.step_fwd_b.clicked.connect(lambda: self.playback.step(1))
        self.play_b.clicked.connect(self.playback.toggle)
        self.loop_b.toggled.connect(self.playback.set_loop)
        self.rate.activated.connect(lambda _i: self.playback.set_playback_rate(self.rate.currentData()))
        self.zoom_in_b.clicked.connect(self.timeline.zoom_in)
        self.zoom_out_b.clicked.connect(self.timeline.zoom_out)
        self.zoom_fit_b.clicked.connect(self.timeline.zoom_to_fit)
        self.reel_combo.activated.connect(lambda _i: self.state.set_project(self.reel_combo.currentData()))
        self.library_panel.openMedia.connect(self.open_media)
        self.library_panel.openRawClip.connect(self.open_raw_clip)
        self.library_panel.openProject.connect(self.open_project)
        self.library_panel.importRequested.connect(self.import_dialog)
        self.library_panel.newProjectRequested.connect(self.new_reel)
        self.annotate_panel.reelCreated.connect(self.open_project)
        self.export_panel.jobFinished.connect(self._export_finished)
        self.import_cancel.clicked.connect(self.cancel_import)
        self.sync_indicator.settingsRequested.connect(self.open_settings)
        self.sync.syncNowFinished.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.sync_indicator.conflictsRequested.connect(self._show_conflicts)
        self.history_panel.conflictsChanged.connect(lambda _n: None)
        for sig in (self.state.undo.stack.indexChanged, self.state.undo.stack.undoTextChanged,
                    self.state.undo.stack.redoTextChanged):
            sig.connect(self._undo_text)
        self.thumbs.ready.connect(lambda h: self._load_timeline_media_cache() if h == self.state.media_hash else None)

    # -- services --------------------------------------------------------------------------------
    def start_services(self) -> None:
        if self._closing:
            return
        self.sync.start()
        self._start_watch()

    def _start_watch(self) -> None:
        from core.media.watch_service import WatchService, watch_folder

        if self.watch is not None:
            self.watch.stop(2.0)
            self.watch = None
        folder = watch_folder(self.library)
        if folder is None:
            return
        if not folder.is_dir():
            self.show_message(f"The watch folder {folder} is not available", error=True)
            return
        try:
            self.watch = WatchService(self.library, folder, importer=self.importer, on_result=self._watch_result.emit)
            self.watch.start()
        except Exception:
            log.exception("cannot watch %s", folder)
            self.show_message("Watching the folder failed; details are in the log", error=True)

    def _on_watch_result(self, result: ImportResult) -> None:
        if result.status is ImportStatus.IMPORTED:
            self.show_message(f"Imported {result.path.name} from the watch folder")
        elif result.status is ImportStatus.ERROR:
            self.show_message(f"Watch folder: {result.path.name}: {result.error}", error=True)

    def _on_cache_event(self, event: CacheEvent) -> None:
        if event.stage is CacheStage.DONE and event.media == self.state.media_hash:
            self._load_timeline_media_cache()

    # -- modes -----------------------------------------------------------------------------------
    def set_mode(self, mode: Mode | str, *, force: bool = False) -> None:
        mode = Mode(mode)
        if mode is self.mode and not force:
            return
        if self.playback.playing:
            self.playback.pause()
        self.mode = mode
        self.mode_actions[mode].setChecked(True)
        if mode is Mode.LIBRARY:
            self.pages.setCurrentWidget(self.library_panel)
            self.library_panel.refresh_gallery()
        elif mode is Mode.EXPORT:
            self.pages.setCurrentWidget(self.export_page)
            self.export_panel.refresh()
        else:
            self.pages.setCurrentWidget(self.editor_page)
            self.inspector.setCurrentIndex([Mode.ANNOTATE, Mode.FRAME, Mode.SPOTLIGHT].index(mode))
            self.viewer.set_mode(_VIEWER_MODES[mode])
            self.inspector_dock.setWindowTitle({Mode.ANNOTATE: "Annotate", Mode.FRAME: "Frame",
                                                Mode.SPOTLIGHT: "Spotlight"}[mode])
            if mode is Mode.ANNOTATE and self.state.media_hash is None:
                self._pick_some_media()
            if mode in (Mode.FRAME, Mode.SPOTLIGHT) and self.state.project_uid is None:
                projects = self.library.projects()
                if projects:
                    self.state.set_project(projects[-1]["uid"])
            if mode in (Mode.FRAME, Mode.SPOTLIGHT) and self.state.wc_uid is not None:
                clip = self.state.clip_doc()
                if clip is not None and clip["media"] != self.state.media_hash:
                    self.state.set_media(clip["media"])
        self.reel_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))
        self.inspector_dock.setVisible(mode in EDIT_MODES)
        self.history_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))
        self.text_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))  # overlays of the open clip
        if mode in EDIT_MODES:
            self.inspector_dock.raise_()
        for b in BINDINGS:
            self.actions_by_name[b.name].setEnabled(mode in b.modes)
        self._refresh_editor()
        self.modeChanged.emit(mode.value)

    def _pick_some_media(self) -> None:
        clip = next((c for c in self.library.raw_clips() if c["uid"] == self.state.raw_clip_uid), None)
        if clip is not None:
            self.state.set_media(clip["media_hash"])
            return
        media = self.library.media_list()
        if media:
            self.state.set_media(media[-1]["hash"])

    # -- opening things --------------------------------------------------------------------------
    def open_media(self, media_hash: str, at: float | None = None) -> None:
        self.state.set_media(media_hash)
        self.set_mode(Mode.ANNOTATE)
        if at is not None:
            self.playback.seek(at)

    def open_raw_clip(self, uid: str) -> None:
        clip = next((c for c in self.library.raw_clips() if c["uid"] == uid), None)
        if clip is None:
            return
        self.state.set_media(clip["media_hash"])
        self.set_mode(Mode.ANNOTATE)
        self.state.set_raw_clip(uid)
        self.playback.seek(clip["start"])

    def open_project(self, uid: str) -> None:
        self.state.set_project(uid)
        self.set_mode(Mode.FRAME)

    def new_reel(self, raw_uids: list[str]) -> None:
        self.annotate_panel.create_reel_from_selection(raw_uids or None) if raw_uids else \
            self._new_empty_reel()

    def _new_empty_reel(self) -> None:
        from core.enums import AspectRatio
        from desktop.ui.annotate_panel import NewReelDialog
        default = AspectRatio(self.library.get_setting("ui.default_aspect", AspectRatio.PORTRAIT.value))
        dialog = NewReelDialog(0, default, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.export_service.refresh_modal_status()  # a Modal token may have been added
            project = create_reel(self.state, dialog.name.text(), AspectRatio(dialog.aspect.currentData()), [])
            if project:
                self.open_project(project)

    # -- media, clip and playhead ----------------------------------------------------------------
    def _load_media(self, media_hash: str | None) -> None:
        info = self.library.media(media_hash) if media_hash else None
        if info is None:
            self.playback.set_media(None, Fraction(30), 0.0)
            self.viewer.set_frame(None)
            self._refresh_editor()
            return
        fps = Fraction(int(info["fps_num"]), int(info["fps_den"]))
        w, h = (info["height"], info["width"]) if info["rotation"] in (90, 270) else (info["width"], info["height"])
        self.viewer.set_source_size(w, h)
        self.viewer.set_frame(None)
        self.playback.set_media(self.library.media_path(media_hash), fps, float(info["duration"]))
        self._refresh_editor()
        self.playback.seek(self.state.media_time if self.state.media_time <= info["duration"] else 0.0)
        self._load_timeline_media_cache()

    def _load_timeline_media_cache(self) -> None:
        """Thumbnails and waveform of the open media for the timeline (cache thread makes missing ones)."""
        h = self.state.media_hash
        if h is None:
            return
        strip = self.thumbs.strip(h)
        start = self._timeline_origin()
        if strip:
            self.timeline.set_thumbnails([(i * THUMB_EVERY_S, p) for i, p in enumerate(strip)], media_start=start)
        path = peaks_path(self.library.cache_dir, h, PEAKS_PER_SECOND)

        def load(report, cancelled):
            return load_peaks(path)

        def done(peaks) -> None:
            if self.state.media_hash == h and peaks is not None:
                self.timeline.set_peaks(peaks, PEAKS_PER_SECOND, media_start=self._timeline_origin())

        self.hub.submit(load, name="waveform", on_result=done)

    def _timeline_origin(self) -> float:
        """Media time of timeline time 0: the clip start when framing, 0 for game footage."""
        if self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            clip = self.state.clip_doc()
            if clip is not None:
                return float(clip["source"]["start"])
        return 0.0

    def _clip_changed(self) -> None:
        clip = self.state.clip_doc()
        if clip is not None and self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            if clip["media"] != self.state.media_hash:
                self.state.set_media(clip["media"])
            src = clip["source"]
            if not src["start"] <= self.state.media_time <= src["end"]:
                self.playback.seek(src["start"])
        self.reel_list.refresh()
        self._refresh_editor()
        self._load_timeline_media_cache()

    def _project_changed(self) -> None:
        self._fill_reel_combo()
        self.reel_list.refresh()
        doc = self.state.project_doc()
        self.setWindowTitle(f"ReelDesk — {doc['project']['name']}" if doc else "ReelDesk")
        self._refresh_editor()

    def _fill_reel_combo(self) -> None:
        self.reel_combo.blockSignals(True)
        self.reel_combo.clear()
        for p in self.library.projects():
            self.reel_combo.addItem(icon("project"), f"{p['name']}  ({p['aspect']})", p["uid"])
        self.reel_combo.setCurrentIndex(max(0, self.reel_combo.findData(self.state.project_uid)))
        self.reel_combo.blockSignals(False)

    def _library_changed(self, _event: Any) -> None:
        if self.state.project_uid is not None and self.state.project_doc() is None:
            self.state.set_project(None)  # deleted here or on another device
        doc = self.state.project_doc()
        if doc is not None and self.state.wc_uid not in {c["uid"] for c in doc["clips"]}:
            self.state.set_clip(doc["clips"][0]["uid"] if doc["clips"] else None)
        self.thumbs.forget_failures()
        self._fill_reel_combo()
        self.reel_list.refresh()
        self._refresh_editor()

    def _refresh_editor(self) -> None:
        """Push the open clip / footage into the viewer, timeline and transport."""
        mode = self.mode
        hint = ""
        framing = mode in (Mode.FRAME, Mode.SPOTLIGHT)
        self.spot_warning.show_for(self.state.clip_doc() if framing else None, self.state.aspect())
        if framing:
            clip = self.state.clip_doc()
            doc = self.state.project_doc()
            if clip is None:
                self.viewer.set_clip(None)
                self.timeline.clear()
                self.playback.set_range(None)
                self.clip_label.setText("")
                hint = ("No reel open.\nSelect clips in the Library or Annotate and choose “Create reel”."
                        if doc is None else "This reel has no clips yet.\nDrag clips from the Library onto it.")
            else:
                self.viewer.set_clip(clip, self.state.aspect())
                self.timeline.set_clip(clip)
                src = clip["source"]
                self.playback.set_range((src["start"], src["end"]))
                names = {c["uid"]: c["name"] for c in self.library.raw_clips(clip["media"])}
                self.clip_label.setText(f"{names.get(clip['raw_clip']) or 'Clip'} · {fmt_time(src['duration'])}"
                                        f" → {fmt_time(clip['output_duration'])}")
        elif mode is Mode.ANNOTATE:
            self.viewer.set_clip(None)
            self.playback.set_range(None)
            info = self.state.media_info()
            if info is None:
                self.timeline.clear()
                hint = "No footage open.\nDrop a game video anywhere on this window to import it."
                self.clip_label.setText("")
            else:
                clips = self.library.raw_clips(self.state.media_hash)
                self.timeline.set_media(float(info["duration"]), Fraction(int(info["fps_num"]), int(info["fps_den"])),
                                        clips)
                self.timeline.set_selected_clip(self.state.raw_clip_uid)
                self.clip_label.setText(f"{info['name']} · {len(clips)} clip{'s' if len(clips) != 1 else ''}")
                if not self.library.media_path(self.state.media_hash).is_file():
                    hint = ("Waiting for media: downloading this footage from the sync bucket…"
                            if self.sync.fetch_media(self.state.media_hash)
                            else "This footage is not on this machine.\nTurn on sync in Settings to fetch it.")
        self.viewer_hint.setText(hint)
        self.viewer_hint_icon.setPixmap(icon("project" if mode in (Mode.FRAME, Mode.SPOTLIGHT) else "drop")
                                        .pixmap(QSize(48, 48)))
        self.viewer_stack.setCurrentWidget(self.viewer_empty if hint else self.program.stack)
        # Nothing open here: no transport of footage that is not shown.
        for b in (self.go_start_b, self.step_back_b, self.play_b, self.step_fwd_b, self.go_end_b, self.loop_b,
                  self.rate):
            b.setEnabled(not hint)
        self._position(self.state.media_time)

    def _position(self, t: float) -> None:
        """Playback moved (or a refresh): update every playhead display."""
        self.state.set_media_time(t)
        origin = self._timeline_origin()
        local = t - origin
        self.timeline.set_playhead(local, follow=True)
        if self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            self.viewer.set_time(local)
        total = self.playback.duration
        clip = self.state.clip_doc() if self.mode in (Mode.FRAME, Mode.SPOTLIGHT) else None
        if clip is not None:
            total = clip["source"]["duration"]
        if not self.play_b.isEnabled():
            self.time_label.setText("--:--")
            return
        self.time_label.setText(f"{self.timeline.time_text(max(0.0, local))}  /  {self.timeline.time_text(total)}")

    def _timeline_scrubbed(self, t: float) -> None:
        self.playback.seek(t + self._timeline_origin())

    def _timeline_clip_selected(self, uid: str) -> None:
        self.state.set_raw_clip(uid or None)

    def _rate_changed(self, rate: float) -> None:
        i = self.rate.findData(rate)
        if i >= 0:
            self.rate.setCurrentIndex(i)
        self.show_message(f"Speed {rate:g}×")

    def _set_frames_timecode(self, on: bool) -> None:
        self.library.set_setting(FRAMES_SETTING, "1" if on else "0")
        self.timeline.set_frames_timecode(on)
        self._position(self.state.media_time)

    def _toggle_loop(self) -> None:
        self.loop_b.setChecked(not self.loop_b.isChecked())

    # -- commands --------------------------------------------------------------------------------
    def _gesture_from_widget(self, gesture: Gesture) -> None:
        self.state.apply(gesture)

    def _add_keyframe(self) -> None:
        if self.playback.playing:
            self.playback.pause()
        if self.mode is Mode.SPOTLIGHT:
            self.spotlight_panel.add_keyframe()
        else:
            self.frame_panel.add_keyframe()

    def _delete(self) -> None:
        if self.mode is Mode.LIBRARY:
            uids = self.library_panel.selected_clip_uids()
            if uids:
                self.library_panel.delete_clips(uids)
                self.show_message(f"Deleted {len(uids)} clip(s) — Ctrl+Z brings them back")
        elif self.mode is Mode.ANNOTATE:
            self.annotate_panel.delete_selected()
        elif self.mode is Mode.FRAME:
            if self.frame_panel.selected_keyframe() is None and self.timeline.selected_keyframe():
                self.frame_panel.select_keyframe(self.timeline.selected_keyframe())
            self.frame_panel.delete_selected()
        elif self.mode is Mode.SPOTLIGHT:
            self.spotlight_panel.delete_selected()

    def _rate(self, n: int) -> None:
        if self.mode is Mode.LIBRARY:
            uids = self.library_panel.selected_clip_uids()
            if uids:
                self.annotate_panel.rate(n, uids)
        else:
            self.annotate_panel.rate(n)

    def _find(self) -> None:
        self.set_mode(Mode.LIBRARY)
        self.library_panel.focus_search()

    def _preview_rotation(self, degrees: float) -> None:
        """The viewer shows the picture turned and the crop it leaves while the slider is dragged."""
        clip = self.state.clip_doc()
        if clip is not None:
            self.viewer.set_clip({**clip, "edit": {**clip["edit"], "rotation": degrees}}, self.state.aspect())

    def _straighten(self, on: bool) -> None:
        if on and self.straighten is None and self.mode is Mode.FRAME:
            self.straighten = StraightenOverlay(self.viewer)
            self.straighten.measured.connect(self.frame_panel.apply_straighten)
            self.straighten.cancelled.connect(lambda: self.frame_panel.straighten.setChecked(False))
            self.straighten.show()
            self.straighten.setFocus()
        elif not on and self.straighten is not None:
            self.straighten.deleteLater()
            self.straighten = None

    def _undo_text(self) -> None:
        stack = self.state.undo.stack
        undo, redo = self.actions_by_name["undo"], self.actions_by_name["redo"]
        for action, can, text, name in ((undo, stack.canUndo(), stack.undoText(), "Undo"),
                                        (redo, stack.canRedo(), stack.redoText(), "Redo")):
            action.setText(f"{name} {text}" if can and text else name)
            action.setToolTip(f"{action.text()}  ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")

    def _show_conflicts(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()
        self.history_panel.show_conflicts()

    def show_keymap(self) -> None:
        KeymapDialog(self).exec()

    def open_settings(self) -> None:
        try:
            dialog = SettingsDialog(self.library, self.hub, self)
        except Exception:
            log.exception("cannot open the settings")
            self.show_message("The settings cannot be opened; details are in the log", error=True)
            return
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.annotate_panel.before.setValue(float(self.library.get_setting("ui.quick_mark_before", "9")))
            self.annotate_panel.after.setValue(float(self.library.get_setting("ui.quick_mark_after", "3")))
            if dialog.remote_saved:
                self.sync.restart()
            self._start_watch()
            self.export_panel.refresh()
            self.show_message("Settings saved")

    def _export_finished(self, text: str, ok: bool) -> None:
        self.show_message(text, error=not ok)
        self.library_panel.refresh_gallery()  # final videos are bookkeeping rows: no change event
        QApplication.alert(self, 0)
        from PySide6.QtWidgets import QSystemTrayIcon
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            tray = getattr(self, "_tray", None)
            if tray is None:
                tray = self._tray = QSystemTrayIcon(icon("spotlight"), self)
                tray.show()
            tray.showMessage("ReelDesk", text)

    # -- import ----------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        files, _f = QFileDialog.getOpenFileNames(self, "Import videos", str(Path.home()), VIDEO_FILTER)
        if files:
            self.start_import([Path(f) for f in files])

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of videos", str(Path.home()))
        if folder:
            self.start_import([Path(folder)])

    def import_game_dialog(self) -> None:
        chosen = ask_game_import(self)
        if chosen is not None:
            self.start_import(chosen[0], game_name=chosen[1])

    def start_import(self, paths: list[Path], *, game_name: str | None = None) -> None:
        if self._import_task is not None:
            self.show_message("An import is running; drop again when it is done", error=True)
            return
        importer = self.importer

        def work(report, cancelled):
            return importer.import_paths(paths, game_name=game_name, progress=report, cancelled=cancelled)

        self.import_label.setText("Importing…")
        self.import_bar.setValue(0)
        self.import_box.show()
        self._import_task = self.hub.submit(work, name="import", on_result=self._import_done,
                                            on_error=self._import_failed, on_progress=self._import_progress,
                                            on_cancelled=lambda: self.show_message("Import cancelled"),
                                            on_finished=self._import_finished)

    def cancel_import(self) -> None:
        if self._import_task is not None:
            self._import_task.cancel()
            self.import_label.setText("Cancelling…")

    def _import_progress(self, p: ImportProgress) -> None:
        self.import_bar.setValue(int(1000 * p.fraction))
        self.import_label.setText(f"Importing {p.file_index + 1} of {p.file_count}: {p.path.name}")

    def _import_failed(self, text: str) -> None:
        self.show_message(f"Import failed: {text}", error=True)

    def _import_finished(self) -> None:
        self._import_task = None
        self.import_box.hide()

    def _import_done(self, results: list[ImportResult]) -> None:
        ok = [r for r in results if r.ok]
        bad = [r for r in results if r.status is ImportStatus.ERROR]
        new_media = [r.media for r in ok if r.media]
        if bad:
            self.show_message(f"Imported {len(ok)} file(s); {len(bad)} could not be imported", error=True)
            dialog = ImportReportDialog(results, self)
            dialog.setModal(False)
            dialog.show()
            self._reports.append(dialog)
        elif ok:
            self.show_message(f"Imported {len(ok)} file(s)")
        else:
            self.show_message("No videos found to import", error=True)
        matches = long_footage(self.state, results)
        if matches:
            name = game_name_for(matches)
            if make_game(self.state, matches, name):
                self.show_message(f"“{name}” is long footage: imported as a game to mark clips in "
                                  f"(Ctrl+Z makes it {'clips' if len(matches) > 1 else 'a clip'})")
                new_media = [r.media for r in matches] + new_media
        if new_media and (self.state.media_hash is None or matches):
            self.state.set_media(new_media[0])
        self.importFinished.emit(results)

    # -- drag and drop from Explorer -------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and _local_files(event.mimeData().urls()):
            n = len(_local_files(event.mimeData().urls()))
            self.drop_overlay.text = f"Drop to import {n} item{'s' if n != 1 else ''}"
            self.drop_overlay.setGeometry(self.rect())
            self.drop_overlay.raise_()
            self.drop_overlay.show()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.drop_overlay.hide()
        paths = _local_files(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.start_import(paths)

    # -- misc ------------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False) -> None:
        bar = self.statusBar()
        bar.setStyleSheet(f"QStatusBar {{ color: {(theme.ERROR if error else theme.TEXT_DIM).name()}; }}")
        bar.showMessage(text, 8000 if error else 4000)
        (log.info if not error else log.warning)("status: %s", text)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self.drop_overlay.setGeometry(self.rect())

    # -- session ---------------------------------------------------------------------------------
    def restore_session(self, mode: str | None = None, project: str | None = None) -> None:
        s = ui_settings(self.library)
        geometry = s.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        fit_window(self, first_launch=not restored)  # a smaller screen than last time, or none saved
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, _LAYOUT_VERSION)
        known_projects = {p["uid"] for p in self.library.projects()}
        saved_project = project or s.value("session/project")
        if saved_project in known_projects:
            self.state.set_project(saved_project)
            wc = s.value("session/clip")
            doc = self.state.project_doc()
            if wc and doc and wc in {c["uid"] for c in doc["clips"]}:
                self.state.set_clip(wc)
        media = s.value("session/media")
        if self.state.wc_uid is None and media and self.library.media(media) is not None:
            self.state.set_media(media)
        try:
            t = float(s.value("session/time", 0.0))
        except (TypeError, ValueError):
            t = 0.0
        self.state.media_time = t
        try:
            target = Mode(mode or s.value("session/mode", Mode.LIBRARY.value))
        except ValueError:
            target = Mode.LIBRARY
        if project and not mode:
            target = Mode.FRAME
        self.set_mode(target, force=True)
        if self.state.media_hash is not None:
            self.playback.seek(t)
        self._fill_reel_combo()

    def save_session(self) -> None:
        s = ui_settings(self.library)
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(_LAYOUT_VERSION))
        s.setValue("session/mode", self.mode.value)
        s.setValue("session/project", self.state.project_uid or "")
        s.setValue("session/clip", self.state.wc_uid or "")
        s.setValue("session/media", self.state.media_hash or "")
        s.setValue("session/time", float(self.state.media_time))
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.export_panel.confirm_close(self):  # exports running: keep / cancel / stay
            event.ignore()
            return
        self._closing = True
        try:
            self.save_session()
        except Exception:
            log.exception("saving the window layout failed")
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop everything running in the background (bounded waits); safe to call twice."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        self.playback.close()
        if self._import_task is not None:
            self._import_task.cancel()
        if self.watch is not None:
            self.watch.stop(2.0)
            self.watch = None
        self.sync.stop()
        self.export_panel.close_poster()
        self.export_service.close()
        self._cache_unsubscribe()
        self.thumbs.close()
        self.cache.stop(2.0)
        self.hub.shutdown()
        self.bridge.close()
        self.state.close()


__all__ = ["MainWindow", "ui_settings"]
