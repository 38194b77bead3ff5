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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow

from desktop.ui import theme
from desktop.ui.keymap import BINDINGS, KeymapDialog, Mode
from desktop.ui.window_editor import EditorView
from desktop.ui.window_frame import LAYOUT_VERSION, SETTINGS_FILE, WindowFrame, ui_settings
from desktop.ui.window_imports import ImportActions
from desktop.ui.window_open import WindowOpening
from resources import icon

if TYPE_CHECKING:  # the library and the panels load after the first paint (see open_library)
    from core.gestures.model import Gesture
    from core.library import Library
    from core.media.cache import CacheEvent
    from core.media.importer import ImportResult
    from desktop.ui.rotation_control import StraightenOverlay
    from desktop.ui.workers import Task

log = logging.getLogger(__name__)


class MainWindow(WindowFrame, WindowOpening, EditorView, ImportActions, QMainWindow):
    """Built in two steps: the frame (toolbar, menus, docks, status line: no library needed) paints
    at once; ``attach`` fills it from an open library. ``MainWindow(library)`` does both at once;
    ``MainWindow(root=...)`` + ``open_library(opener)`` opens the library after the first paint."""

    modeChanged = Signal(str)
    importFinished = Signal(list)  # list[ImportResult]
    libraryReady = Signal()
    libraryFailed = Signal(str)  # the message the window shows
    _cache_event = Signal(object)
    _watch_result = Signal(object)
    _opened = Signal(object)  # a Library, or the failure text, from the opening thread
    library: Library
    straighten: StraightenOverlay | None

    def __init__(self, library: Library | None = None, *, services: bool = True, root: Path | None = None) -> None:
        super().__init__()
        if library is None and root is None:
            raise ValueError("MainWindow needs a library or the root of one")
        self.root: Path = library.root if library is not None else root  # type: ignore[assignment]  # one is set
        self.ready = False  # the library is open and the panels are built
        self.mode = Mode.LIBRARY
        self._services = services
        self._import_task: Task | None = None
        self._reports: list[QDialog] = []
        self._closing = False
        self._painted = None
        self._fill_steps = []
        self._build_frame()
        if library is not None:
            self.attach(library)

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
        from core.media.importer import ImportStatus

        if result.status is ImportStatus.IMPORTED:
            self.show_message(f"Imported {result.path.name} from the watch folder")
        elif result.status is ImportStatus.ERROR:
            self.show_message(f"Watch folder: {result.path.name}: {result.error}", error=True)

    def _on_cache_event(self, event: CacheEvent) -> None:
        from core.media.cache import CacheStage

        if event.stage is CacheStage.DONE and event.media == self.state.media_hash:
            self._load_timeline_media_cache()

    # -- modes -----------------------------------------------------------------------------------
    def set_mode(self, mode: Mode | str, *, force: bool = False) -> None:
        from desktop.ui.viewer import ViewerMode

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
            self.viewer.set_mode({Mode.ANNOTATE: ViewerMode.PLAIN, Mode.FRAME: ViewerMode.FRAME,
                                  Mode.SPOTLIGHT: ViewerMode.SPOTLIGHT}[mode])
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
        self._show_docks_for(mode)
        for b in BINDINGS:
            self.actions_by_name[b.name].setEnabled(mode in b.modes)
        self._refresh_editor()
        self.modeChanged.emit(mode.value)

    def _live_raw_clip(self, uid: str | None) -> dict[str, Any] | None:
        """One raw clip that is not deleted: read by its uid, not found among all (2,000 in a season)."""
        clip = self.library.raw_clip(uid) if uid else None
        return None if clip is None or clip["deleted"] else clip

    def _pick_some_media(self) -> None:
        clip = self._live_raw_clip(self.state.raw_clip_uid)
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
        clip = self._live_raw_clip(uid)
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
        from desktop.ui.new_reel import NewReelDialog, create_reel
        default = AspectRatio(self.library.get_setting("ui.default_aspect", AspectRatio.PORTRAIT.value))
        dialog = NewReelDialog(0, default, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.export_service.refresh_modal_status()  # a Modal token may have been added
            project = create_reel(self.state, dialog.name.text(), AspectRatio(dialog.aspect.currentData()), [])
            if project:
                self.open_project(project)

    # -- commands --------------------------------------------------------------------------------
    def _gesture_from_widget(self, gesture: Gesture) -> None:
        self.writer.apply(gesture)  # the timeline / viewer already shows where it was dropped

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
            if self.frame_panel.selected_keyframe() is None and (key := self.timeline.selected_keyframe()):
                self.frame_panel.select_keyframe(key)
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
        from desktop.ui.rotation_control import StraightenOverlay

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
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{action.text()}  ({keys})")

    def _show_conflicts(self) -> None:
        self.history_dock.show()
        self.history_dock.raise_()
        self.history_panel.show_conflicts()

    def show_keymap(self) -> None:
        KeymapDialog(self).exec()

    def open_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

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

    # -- misc ------------------------------------------------------------------------------------
    def show_message(self, text: str, error: bool = False, timeout: int | None = None) -> None:
        """A status line; ``timeout`` in ms (0: until the next one), by default longer for errors."""
        bar = self.statusBar()
        bar.setStyleSheet(f"QStatusBar {{ color: {(theme.ERROR if error else theme.TEXT_DIM).name()}; }}")
        bar.showMessage(text, (8000 if error else 4000) if timeout is None else timeout)
        (log.info if not error else log.warning)("status: %s", text)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.drop_overlay.isVisible():
            self.drop_overlay.setGeometry(self.rect())

    # -- session ---------------------------------------------------------------------------------
    def restore_session(self, mode: str | None = None, project: str | None = None) -> None:
        """The reel, clip, footage, playhead and mode of last time (the layout is restored by the frame)."""
        s = ui_settings(self.root)
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
        saved_time = s.value("session/time", 0.0)
        try:
            t = float(saved_time) if isinstance(saved_time, (str, int, float)) else 0.0
        except ValueError:
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
        s = ui_settings(self.root)
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(LAYOUT_VERSION))
        if not self.ready:  # closed while the library opened: keep the session of last time
            s.sync()
            return
        s.setValue("session/mode", self.mode.value)
        s.setValue("session/project", self.state.project_uid or "")
        s.setValue("session/clip", self.state.wc_uid or "")
        s.setValue("session/media", self.state.media_hash or "")
        s.setValue("session/time", float(self.state.media_time))
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.ready and not self.export_panel.confirm_close(self):  # exports running: keep / cancel / stay
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
        self._closing = True  # a library that opens after this is closed, not attached
        if self._painted is not None:  # closed before the first paint: the opening thread ends unopened
            self._painted.set()
        while self._fill_steps:  # closed while filling: finish, so that everything below exists to stop
            self._fill_steps.pop(0)()
        if not self.ready:
            return
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
        self.writer.shutdown()
        self.reads.shutdown()
        self.hub.shutdown()
        self.bridge.close()
        self.state.close()


__all__ = ["SETTINGS_FILE", "MainWindow", "ui_settings"]
