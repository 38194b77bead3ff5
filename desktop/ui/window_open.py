"""Opening the library after the main window's first paint, and filling the frame from it in steps
(a mixin of ``MainWindow``). The opener and the imports of the panels run on a thread; building
the widgets runs on the UI thread, one step per event-loop turn, so the window keeps painting."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, Qt, QTimer

from desktop.ui import theme
from desktop.ui.keymap import Mode

if TYPE_CHECKING:
    from core.library import Library

# A mixin of MainWindow: the attributes it uses are the window's, typed there (mypy sees Any here).
_Window: Any = object

log = logging.getLogger(__name__)

# What filling the window imports (panels, library, media): loaded on the opening thread, off the UI thread.
_FILL_MODULES = ("desktop.ui.window_build", "desktop.ui.background", "desktop.ui.playback", "sync.runtime",
                 "core.export.encoders", "desktop.ui.settings_dialog", "core.media.watch_service")


class WindowOpening(_Window):
    _painted: threading.Event | None  # set after the first paint: the opening thread then opens the library
    _fill_steps: list[Callable[[], None]]  # what is left to build; shutdown() finishes it first

    def open_library(self, opener: Callable[[], Library]) -> None:
        """Import the panels on a thread now, run ``opener`` there once the frame has painted, then
        fill the window on the UI thread; a failure is shown in the window and changes nothing."""
        self._opened.connect(self._library_opened, Qt.ConnectionType.QueuedConnection)
        self._painted = painted = threading.Event()
        threading.Thread(target=self._open, args=(opener, painted), name="open-library", daemon=True).start()
        if self.isVisible() and not self.isMinimized():
            self.update()  # the next paint lets it open the library

    def _open(self, opener: Callable[[], Library], painted: threading.Event) -> None:
        import importlib

        result: object
        try:
            for name in _FILL_MODULES:  # while the frame paints: most of the start is these imports
                importlib.import_module(name)
            painted.wait()  # the library opens after the first paint, whatever the imports took
            if self._closing:  # closed before it ever painted
                return
            result = opener()
        except Exception as exc:
            log.exception("cannot open the library in %s", self.root)
            from core.redact import error_text

            result = (f"ReelDesk cannot open the library in {self.root}: {error_text(exc)}. Nothing was changed; "
                      f"details are in {self.root / 'reeldesk.log'}")
        try:
            self._opened.emit(result)
        except RuntimeError:  # the window was deleted while the library opened
            if not isinstance(result, str):
                result.close()  # type: ignore[attr-defined]  # a Library

    def _library_opened(self, result: object) -> None:
        if isinstance(result, str):
            self.opening_page.setText(result)
            self.opening_page.setStyleSheet(f"color: {theme.ERROR.name()}; font-size: 14px; padding: 24px;")
            self.show_message(result, error=True, timeout=0)
            self.libraryFailed.emit(result)
            return
        if self._closing:
            result.close()  # type: ignore[attr-defined]  # closed while opening: nothing uses it
            return
        self.attach(result, stepped=True)  # type: ignore[arg-type]  # a Library

    def event(self, event: QEvent) -> bool:
        if self._painted is not None and event.type() == QEvent.Type.Paint:
            painted, self._painted = self._painted, None
            QTimer.singleShot(0, painted.set)  # after this paint has reached the screen
        return super().event(event)

    def attach(self, library: Library, *, stepped: bool = False) -> None:
        """Fill the frame: services, pages, dock contents, the last session; then enable the actions.
        ``stepped``: each step in its own turn of the event loop, so that the window keeps painting
        while it fills (start-up); ``libraryReady`` says when it is done."""
        from desktop.ui import window_build

        self._fill_steps = [partial(self._start_services_of, library), *window_build.fill_steps(self),
                            self._filled]
        if stepped:
            self._next_fill_step()
            return
        while self._fill_steps:
            self._fill_steps.pop(0)()

    def _next_fill_step(self) -> None:
        if self._fill_steps:
            self._fill_steps.pop(0)()
        if self._fill_steps:
            QTimer.singleShot(0, self._next_fill_step)

    def _start_services_of(self, library: Library) -> None:
        from core.media.cache import CacheWorker
        from core.media.importer import ImportService
        from desktop.ui.background import LatestRead
        from desktop.ui.export_service import ExportService
        from desktop.ui.library_panel import ThumbnailCache
        from desktop.ui.playback import Playback
        from desktop.ui.sync_indicator import SyncController
        from desktop.ui.undo import EditorState
        from desktop.ui.workers import LibraryBridge, TaskHub

        self.library = library
        self.hub = TaskHub(self)
        self.state = EditorState(library, self)
        self.bridge = LibraryBridge(library, self)
        self.writer = self.state.writer  # widget gestures commit off the UI thread
        self.reads = LatestRead(self)
        self.bridge.changed.connect(self.state.on_library_changed)
        self.cache = CacheWorker.for_library(library)
        self._cache_unsubscribe = self.cache.subscribe(self._cache_event.emit)
        self.importer = ImportService(library, cache=self.cache)
        self.thumbs = ThumbnailCache(self.state, self.hub, self.cache, self)
        self.playback = Playback(self)
        self.sync = SyncController(library, self.hub, self)
        self.export_service = ExportService(library, self.hub, self)
        self.watch: Any = None

    def _filled(self) -> None:
        self._cache_event.connect(self._on_cache_event, Qt.ConnectionType.QueuedConnection)
        self._watch_result.connect(self._on_watch_result, Qt.ConnectionType.QueuedConnection)
        self.ready = True
        self.statusBar().clearMessage()
        self.pages.removeWidget(self.opening_page)
        self.opening_page.deleteLater()
        for action in self.library_actions:
            action.setEnabled(True)
        self.set_mode(Mode.LIBRARY, force=True)
        self.restore_session()
        if self._services:
            QTimer.singleShot(0, self.start_services)
        self.libraryReady.emit()


__all__ = ["WindowOpening"]
