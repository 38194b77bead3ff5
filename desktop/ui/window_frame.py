"""The main window's frame: docks, actions, mode bar, menus and status line, built before the library
is open so that the window paints at once (a mixin of ``MainWindow``). Nothing here imports the
library, the panels or media code: ``window_build`` fills the frame once the library is open, and
until then every action that needs it is disabled and the pages say what is loading."""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QSize, Qt, QUrl
from PySide6.QtGui import QAction, QActionGroup, QColor, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QSizePolicy, QToolBar, QToolButton, QWidget

from desktop.ui import theme
from desktop.ui.keymap import BINDINGS, EDIT_MODES, Mode, native_text
from desktop.ui.window_fit import CurrentPageStack, fit_window
from desktop.ui.window_widgets import DropOverlay
from resources import icon, style_sheet

# A mixin of MainWindow: the attributes it uses are the window's, typed there (mypy sees Any here).
_Window: Any = object

log = logging.getLogger(__name__)

SETTINGS_FILE = "ui.ini"
LAYOUT_VERSION = 1

_ICONS = {"undo": "undo", "redo": "redo", "import": "import", "settings": "settings", "help_keys": "help",
          "split": "split", "add_keyframe": "keyframe", "mark_in": "mark-in", "mark_out": "mark-out",
          "quick_mark": "quick-mark", "copy_crop": "copy", "paste_crop": "paste", "delete": "trash",
          "zoom_in": "zoom-in", "zoom_out": "zoom-out", "zoom_fit": "zoom-fit", "loop": "loop", "add_region": "ellipse"}


def ui_settings(root: Path) -> QSettings:
    """Window state lives next to the library (tests stay isolated; nothing in the registry)."""
    return QSettings(str(root / SETTINGS_FILE), QSettings.Format.IniFormat)


def waiting_label(text: str) -> QLabel:
    """What a page or dock shows while the library opens (and, on the central page, why it failed)."""
    label = QLabel(text)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; font-size: 14px; padding: 24px;")
    return label


class WindowFrame(_Window):
    def _build_frame(self) -> None:
        self.setWindowTitle("ReelDesk")
        self.setWindowIcon(icon("spotlight"))
        self.setAcceptDrops(True)
        self.setDockOptions(self.DockOption.AnimatedDocks | self.DockOption.AllowTabbedDocks)
        self.pages = CurrentPageStack()
        self.opening_page = waiting_label(f"Opening the library in {self.root}…")
        self.pages.addWidget(self.opening_page)
        self.setCentralWidget(self.pages)
        self.reel_dock = self._dock("Reel", "ReelDock", Qt.DockWidgetArea.LeftDockWidgetArea)
        self.reel_dock.setMinimumWidth(200)
        self.inspector_dock = self._dock("Inspector", "InspectorDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock = self._dock("History", "HistoryDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.history_dock)
        self.text_dock = self._dock("Text", "TextDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.text_dock)
        self.inspector_dock.raise_()
        self.statusBar().setSizeGripEnabled(True)
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self.setStyleSheet(style_sheet({name: value.name() for name, value in vars(theme).items()
                                        if isinstance(value, QColor)}))
        self.drop_overlay = DropOverlay(self)
        self._restore_layout()
        self.show_message(f"Opening the library in {self.root}…", timeout=0)

    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(waiting_label("Opening the library…"))
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _show_docks_for(self, mode: Mode) -> None:
        self.reel_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))
        self.inspector_dock.setVisible(mode in EDIT_MODES)
        self.history_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))
        self.text_dock.setVisible(mode in (Mode.FRAME, Mode.SPOTLIGHT))  # overlays of the open clip
        if mode in EDIT_MODES:
            self.inspector_dock.raise_()

    def _restore_layout(self) -> None:
        """Geometry, dock layout and mode of last time, so that the frame already looks like the window."""
        s = ui_settings(self.root)
        geometry = s.value("window/geometry")
        restored = isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)
        fit_window(self, first_launch=not restored)  # a smaller screen than last time, or none saved
        state = s.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)
        try:
            mode = Mode(s.value("session/mode", Mode.LIBRARY.value))
        except ValueError:
            mode = Mode.LIBRARY
        self.mode_actions[mode].setChecked(True)
        self._show_docks_for(mode)

    def _build_actions(self) -> None:
        """Every binding's action, disabled until the library is open (``set_mode`` enables them);
        each one looks its handler up when triggered, so they exist before the panels do."""
        self.actions_by_name: dict[str, QAction] = {}
        self.handlers: dict[str, Callable[[], None]] = {}  # filled by window_build once the panels exist
        for b in BINDINGS:
            action = QAction(b.label, self)
            action.setShortcuts(b.sequences())
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{b.label}  ({native_text(b)})")
            if b.name in _ICONS:
                action.setIcon(icon(_ICONS[b.name]))
            action.setEnabled(False)
            action.triggered.connect(lambda _c=False, name=b.name: self._run(self.handlers[name]))
            self.addAction(action)
            self.actions_by_name[b.name] = action

    def _run(self, fn: Callable[[], None]) -> None:
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
        # Menu commands that are not bindings but need the library: enabled with the bindings.
        self.library_actions = [
            file.addAction(icon("folder"), "Import folder…", lambda: self.import_folder_dialog()),
            file.addAction(icon("library"), "Import game…", lambda: self.import_game_dialog()),
            file.addAction(icon("project"), "New reel…", lambda: self.new_reel([]))]
        self.library_actions[1].setToolTip("Import a match (its halves in order) as one game to mark clips in")
        file.addSeparator()
        file.addAction(a["settings"])
        file.addAction(icon("folder"), "Open library folder", lambda: _open_folder(self.root))
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
        self.library_actions.append(self.frames_action)
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
        help_menu.addAction("Open the log file", lambda: _open_folder(self.root / "reeldesk.log"))
        for action in self.library_actions:
            action.setEnabled(False)


def _open_folder(path: Path) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))


__all__ = ["LAYOUT_VERSION", "SETTINGS_FILE", "WindowFrame", "ui_settings", "waiting_label"]
