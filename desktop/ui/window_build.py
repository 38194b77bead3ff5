"""Filling the main window's frame once the library is open: pages, transport, dock contents, status
bar widgets, the actions' handlers and the connections. Imported on the opening thread: this is
where the panels (and through them the library, media and export code) are loaded."""
from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.export_panel import ExportPanel
from desktop.ui.frame_panel import FramePanel
from desktop.ui.history_panel import HistoryPanel
from desktop.ui.keymap import NUDGES, Mode
from desktop.ui.library_panel import LibraryPanel
from desktop.ui.program_view import ProgramMonitor
from desktop.ui.reel_list import ReelClipList
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

log = logging.getLogger(__name__)

_RATES = (0.25, 0.5, 1.0, 1.5, 2.0)


def _library_page(w: Any) -> None:
    w.library_panel = LibraryPanel(w.state, w.hub, w.thumbs, reads=w.reads)  # fills when its read returns
    w.pages.addWidget(w.library_panel)


def _editor_page(w: Any) -> None:
    editor = QWidget()
    el = QVBoxLayout(editor)
    el.setContentsMargins(0, 0, 0, 0)
    el.setSpacing(0)
    w.splitter = QSplitter(Qt.Orientation.Vertical)
    top = QWidget()
    tl = QVBoxLayout(top)
    tl.setContentsMargins(0, 0, 0, 0)
    tl.setSpacing(0)
    w.viewer = VideoViewer()
    w.program = ProgramMonitor(w)  # Source | Program monitor around the viewer
    # Nothing to show: an explanation with the way forward instead of an empty black frame.
    w.viewer_empty = QWidget()
    w.viewer_empty.setObjectName("ViewerEmpty")
    w.viewer_empty.setStyleSheet(f"#ViewerEmpty {{ background: {theme.BG.name()}; }}")
    ve = QVBoxLayout(w.viewer_empty)
    ve.addStretch(1)
    w.viewer_hint_icon = QLabel()
    w.viewer_hint_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
    w.viewer_hint = QLabel()
    w.viewer_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
    w.viewer_hint.setWordWrap(True)
    w.viewer_hint.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 14px;")
    w.viewer_hint_button = QPushButton(icon("library"), "Go to the Library")
    w.viewer_hint_button.clicked.connect(lambda: w.set_mode(Mode.LIBRARY))
    ve.addWidget(w.viewer_hint_icon)
    ve.addWidget(w.viewer_hint)
    ve.addWidget(w.viewer_hint_button, 0, Qt.AlignmentFlag.AlignHCenter)
    ve.addStretch(1)
    w.viewer_stack = QStackedWidget()
    w.viewer_stack.addWidget(w.program.stack)
    w.viewer_stack.addWidget(w.viewer_empty)
    tl.addWidget(w.viewer_stack, 1)
    w.spot_warning = SpotlightWarning()
    tl.addWidget(w.spot_warning)
    tl.addWidget(strip(_transport(w)))  # scrolls sideways on a narrow window
    w.splitter.addWidget(top)
    w.timeline = TimelineView()
    w.splitter.addWidget(w.timeline)
    w.splitter.setStretchFactor(0, 3)
    w.splitter.setStretchFactor(1, 1)
    w.splitter.setSizes([600, 230])
    el.addWidget(w.splitter)
    w.editor_page = editor
    w.pages.addWidget(editor)
    w.straighten = None


def _export_page(w: Any) -> None:
    w.export_panel = ExportPanel(w.state, w.export_service)
    w.export_page = scrolling(w.export_panel, horizontal=True)
    w.pages.addWidget(w.export_page)

def _transport(w: Any) -> QWidget:
    bar = QWidget()
    bar.setObjectName("Transport")
    bar.setStyleSheet(f"#Transport {{ background: {theme.PANEL.name()}; border-top: 1px solid "
                      f"{theme.BORDER.name()}; }}")
    lay = QHBoxLayout(bar)
    lay.setContentsMargins(10, 4, 10, 4)
    lay.setSpacing(4)
    # Three columns, the transport centred: time + what is open | buttons | zoom.
    left = QHBoxLayout()
    left.addWidget(w.program.switch)
    w.time_label = QLabel("00:00.00")
    w.time_label.setFont(theme.mono_font(10.5))
    w.clip_label = ElidedLabel()
    w.clip_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; padding-left: 10px;")
    left.addWidget(w.time_label)
    left.addWidget(w.clip_label, 1)
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
    w.go_start_b = tool("go-start", "Go to start (Home)", mid)
    w.step_back_b = tool("step-back", "One frame back (←)", mid)
    w.play_b = tool("play", "Play / pause (Space)", mid)
    w.play_b.setIconSize(QSize(22, 22))
    w.step_fwd_b = tool("step-forward", "One frame forward (→)", mid)
    w.go_end_b = tool("go-end", "Go to end (End)", mid)
    mid.addSpacing(10)
    w.loop_b = tool("loop", "Loop (Ctrl+L)", mid)
    w.loop_b.setCheckable(True)
    w.rate = QComboBox()
    for r in _RATES:
        w.rate.addItem(f"{r:g}×", r)
    w.rate.setCurrentIndex(_RATES.index(1.0))
    w.rate.setToolTip("Playback speed (J/K/L shuttle changes it too)")
    mid.addWidget(w.rate)
    lay.addLayout(mid)

    right = QHBoxLayout()
    right.addStretch(1)
    w.zoom_out_b = tool("zoom-out", "Zoom the timeline out (−)", right)
    w.zoom_fit_b = tool("zoom-fit", "Fit the timeline (Shift+Z)", right)
    w.zoom_in_b = tool("zoom-in", "Zoom the timeline in (+)", right)
    lay.addLayout(right, 1)
    return bar

def _docks(w: Any) -> None:
    reel = QWidget()
    rl = QVBoxLayout(reel)
    rl.setContentsMargins(6, 6, 6, 6)
    w.reel_combo = QComboBox()
    w.reel_combo.setToolTip("The reel being framed")
    w.reel_combo.setPlaceholderText("No reels yet")
    w.reel_list = ReelClipList(w.state, w.thumbs)
    rl.addWidget(w.reel_combo)
    rl.addWidget(w.reel_list, 1)
    _fill_dock(w.reel_dock, reel)

    w.annotate_panel = AnnotatePanel(w.state, reads=w.reads)
    w.frame_panel = FramePanel(w.state)
    w.spotlight_panel = SpotlightPanel(w.state)
    w.tracking = TrackController(w.state, w.hub, w.viewer, w)
    w.tracking.lostChanged.connect(lambda t: w.timeline.set_lost_marker(w.tracking.lost_clip, t))
    for panel in (w.frame_panel, w.spotlight_panel):  # above each panel's closing stretch
        root = panel.layout()
        assert isinstance(root, QVBoxLayout)  # both panels are built on one
        root.insertWidget(root.count() - 1, TrackControls(w.tracking))
    w.inspector = CurrentPageStack()
    for page in (w.annotate_panel, w.frame_panel, w.spotlight_panel):
        w.inspector.addWidget(scrolling(page, horizontal=True))
    _fill_dock(w.inspector_dock, w.inspector)
    w.history_panel = HistoryPanel(w.state)
    _fill_dock(w.history_dock, w.history_panel)
    w.text_panel = TextPanel(w.state)  # text overlays of the open clip
    _fill_dock(w.text_dock, scrolling(w.text_panel, horizontal=True))


def _fill_dock(dock: QDockWidget, widget: QWidget) -> None:
    waiting = dock.widget()
    dock.setWidget(widget)
    if waiting is not None:
        waiting.deleteLater()

def _status_bar(w: Any) -> None:
    bar = w.statusBar()
    w.import_box = QWidget()
    il = QHBoxLayout(w.import_box)
    il.setContentsMargins(0, 0, 0, 0)
    w.import_label = QLabel()
    w.import_bar = QProgressBar()
    w.import_bar.setRange(0, 1000)
    w.import_bar.setFixedWidth(180)
    w.import_bar.setFixedHeight(14)
    w.import_cancel = QToolButton()
    w.import_cancel.setIcon(icon("cancel"))
    w.import_cancel.setToolTip("Cancel the import")
    w.import_cancel.setAutoRaise(True)
    il.addWidget(w.import_label)
    il.addWidget(w.import_bar)
    il.addWidget(w.import_cancel)
    w.import_box.hide()
    bar.addPermanentWidget(w.import_box)
    w.sync_indicator = SyncIndicator(w.sync)
    bar.addPermanentWidget(w.sync_indicator)

def _bind_actions(w: Any) -> None:
    """What each action of the frame does, now that the panels exist."""
    handlers = {
        "play_pause": w.playback.toggle, "shuttle_back": w.playback.shuttle_backward,
        "shuttle_stop": w.playback.shuttle_stop, "shuttle_fwd": w.playback.shuttle_forward,
        "frame_back": lambda: w.playback.step(-1), "frame_fwd": lambda: w.playback.step(1),
        "second_back": lambda: w.playback.step_seconds(-1.0),
        "second_fwd": lambda: w.playback.step_seconds(1.0),
        "go_start": w.playback.go_start, "go_end": w.playback.go_end,
        "loop": w._toggle_loop,
        "mark_in": w.annotate_panel.mark_in, "mark_out": w.annotate_panel.mark_out,
        "set_clip_in": lambda: w.annotate_panel.set_clip_edge("start"),
        "set_clip_out": lambda: w.annotate_panel.set_clip_edge("end"),
        "quick_mark": w.annotate_panel.quick_mark,
        "add_keyframe": w._add_keyframe, "split": w.frame_panel.split,
        "copy_crop": w.frame_panel.copy, "paste_crop": w.frame_panel.paste,
        "delete": w._delete, "add_region": w.spotlight_panel.add_region_at_playhead,
        "undo": w.state.undo.undo, "redo": w.state.undo.redo,
        "zoom_in": w.timeline.zoom_in, "zoom_out": w.timeline.zoom_out,
        "zoom_fit": w.timeline.zoom_to_fit,
        "find": w._find, "import": w.import_dialog, "settings": w.open_settings,
        "help_keys": w.show_keymap,
    }
    for n in range(6):
        handlers[f"rate_{n}"] = lambda n=n: w._rate(n)
    for name, (dx, dy) in NUDGES.items():
        handlers[name] = lambda dx=dx, dy=dy: w.viewer.nudge(dx, dy)
    for mode in Mode:
        handlers[f"mode_{mode.value}"] = lambda m=mode: w.set_mode(m)
    w.handlers.update(handlers)
    w.frames_action.setChecked(w.library.get_setting(FRAMES_SETTING, "0") == "1")
    w.frames_action.toggled.connect(w._set_frames_timecode)
    w.timeline.set_frames_timecode(w.frames_action.isChecked())


def _connect(w: Any) -> None:
    s = w.state
    s.message.connect(w.show_message)
    s.seekRequested.connect(w.playback.seek)
    s.mediaChanged.connect(w._load_media)
    s.clipChanged.connect(lambda _wc: w._clip_changed())
    s.projectChanged.connect(lambda _p: w._project_changed())
    s.libraryChanged.connect(w._library_changed)
    s.rawClipChanged.connect(lambda uid: w.timeline.set_selected_clip(uid) if w.mode is Mode.ANNOTATE
                             else None)
    w.playback.frameReady.connect(w.viewer.set_frame)
    w.playback.positionChanged.connect(w._position)
    w.playback.playingChanged.connect(lambda playing: w.play_b.setIcon(icon("pause" if playing else "play")))
    w.playback.rateChanged.connect(w._rate_changed)
    w.playback.message.connect(lambda text: w.show_message(text, error=True))
    w.viewer.gestureRequested.connect(w._gesture_from_widget)
    w.viewer.regionSelected.connect(w.spotlight_panel.select_region)
    w.timeline.playheadMoved.connect(w._timeline_scrubbed)
    w.timeline.gestureRequested.connect(w._gesture_from_widget)
    w.timeline.keyframeSelected.connect(w.frame_panel.select_keyframe)
    w.timeline.clipSelected.connect(w._timeline_clip_selected)
    w.timeline.regionSelected.connect(w.spotlight_panel.select_region)
    w.frame_panel.keyframeSelected.connect(w.timeline.set_selected_keyframe)
    w.frame_panel.straightenToggled.connect(w._straighten)
    w.frame_panel.rotationPreviewed.connect(w._preview_rotation)
    w.spotlight_panel.regionSelected.connect(w.viewer.set_selected_region)
    w.spotlight_panel.regionSelected.connect(w.timeline.set_selected_region)
    w.go_start_b.clicked.connect(w.playback.go_start)
    w.go_end_b.clicked.connect(w.playback.go_end)
    w.step_back_b.clicked.connect(lambda: w.playback.step(-1))
    w.step_fwd_b.clicked.connect(lambda: w.playback.step(1))
    w.play_b.clicked.connect(w.playback.toggle)
    w.loop_b.toggled.connect(w.playback.set_loop)
    w.rate.activated.connect(lambda _i: w.playback.set_playback_rate(w.rate.currentData()))
    w.zoom_in_b.clicked.connect(w.timeline.zoom_in)
    w.zoom_out_b.clicked.connect(w.timeline.zoom_out)
    w.zoom_fit_b.clicked.connect(w.timeline.zoom_to_fit)
    w.reel_combo.activated.connect(lambda _i: w.state.set_project(w.reel_combo.currentData()))
    w.library_panel.openMedia.connect(w.open_media)
    w.library_panel.openRawClip.connect(w.open_raw_clip)
    w.library_panel.openProject.connect(w.open_project)
    w.library_panel.importRequested.connect(w.import_dialog)
    w.library_panel.newProjectRequested.connect(w.new_reel)
    w.annotate_panel.reelCreated.connect(w.open_project)
    w.export_panel.jobFinished.connect(w._export_finished)
    w.import_cancel.clicked.connect(w.cancel_import)
    w.sync_indicator.settingsRequested.connect(w.open_settings)
    w.sync.syncNowFinished.connect(lambda text: w.statusBar().showMessage(text, 8000))
    w.sync_indicator.conflictsRequested.connect(w._show_conflicts)
    w.history_panel.conflictsChanged.connect(lambda _n: None)
    for sig in (w.state.undo.stack.indexChanged, w.state.undo.stack.undoTextChanged,
                w.state.undo.stack.redoTextChanged):
        sig.connect(w._undo_text)
    w.thumbs.ready.connect(lambda h: w._load_timeline_media_cache() if h == w.state.media_hash else None)


def _wire(w: Any) -> None:
    _status_bar(w)
    _bind_actions(w)
    _connect(w)


def fill_steps(w: Any) -> list[Callable[[], None]]:
    """Building what the frame of ``w`` shows once its library and services are set, in steps of
    about a tenth of a second each (on the UI thread; the window may paint between them)."""
    return [partial(step, w) for step in (_library_page, _editor_page, _export_page, _docks, _wire)]


__all__ = ["fill_steps"]
