"""Building the main window: pages, transport, docks, status bar, actions, toolbar, menus and their
connections (a mixin of ``MainWindow``)."""
from __future__ import annotations

from typing import Any

import logging

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.export_panel import ExportPanel
from desktop.ui.frame_panel import FramePanel
from desktop.ui.history_panel import HistoryPanel
from desktop.ui.keymap import BINDINGS, NUDGES, Mode, native_text
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.program_view import ProgramMonitor
from desktop.ui.reel_list import ReelClipList
from desktop.ui.rotation_control import StraightenOverlay
from desktop.ui.spotlight_panel import SpotlightPanel
from desktop.ui.spotlight_warning import SpotlightWarning
from desktop.ui.sync_indicator import SyncIndicator
from desktop.ui.text_panel import TextPanel
from desktop.ui.timecode import FRAMES_SETTING
from desktop.ui.timeline import TimelineView
from desktop.ui.track_panel import TrackController, TrackControls
from desktop.ui.viewer import VideoViewer
from desktop.ui.window_fit import CurrentPageStack, scrolling, strip
from desktop.ui.window_widgets import ElidedLabel
from resources import icon

# A mixin of MainWindow: the attributes it uses are the window's, typed there (mypy sees Any here).
_Window: Any = object

log = logging.getLogger(__name__)

_RATES = (0.25, 0.5, 1.0, 1.5, 2.0)


class WindowBuilder(_Window):
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
            root = panel.layout()
            assert isinstance(root, QVBoxLayout)  # both panels are built on one
            root.insertWidget(root.count() - 1, TrackControls(self.tracking))
        self.inspector = CurrentPageStack()
        for page in (self.annotate_panel, self.frame_panel, self.spotlight_panel):
            self.inspector.addWidget(scrolling(page, horizontal=True))
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
        for entry in ("play_pause", "shuttle_back", "shuttle_stop", "shuttle_fwd", None, "frame_back", "frame_fwd",
                      "second_back", "second_fwd", "go_start", "go_end", None, "loop"):
            play.addSeparator() if entry is None else play.addAction(a[entry])
        mark = menu.addMenu("&Mark")
        for entry in ("mark_in", "mark_out", "quick_mark", "set_clip_in", "set_clip_out", None, "rate_1", "rate_2",
                      "rate_3", "rate_4", "rate_5", "rate_0", None, "add_keyframe", "split", "add_region"):
            mark.addSeparator() if entry is None else mark.addAction(a[entry])
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
