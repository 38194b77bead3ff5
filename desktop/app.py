"""Launching the ReelDesk window (``reeldesk gui``): application set-up, crash safety, screenshots.

``launch`` creates the QApplication (HiDPI pass-through scaling, the shared dark theme), shows the
frame of :class:`desktop.ui.main_window.MainWindow` at once and opens the library after its first
paint (the library, the panels and media code load off the UI thread meanwhile); with
``screenshot``/``quit_after`` it renders the filled window, saves a PNG and exits (CI and docs).
An exception escaping a Qt slot is logged with its traceback to ``reeldesk.log`` and shown as one
readable dialog line, never as a traceback.
"""
from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QLoggingCategory, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.ui import theme
from desktop.ui.heap import freeze_startup_heap

if TYPE_CHECKING:  # loaded after the window's first paint, on the thread that opens the library
    from core.library import Library

log = logging.getLogger(__name__)

DEFAULT_SCREENSHOT_DELAY_S = 1.0
MODES = ("library", "annotate", "frame", "spotlight", "export")


def _application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        # Fractional Windows scaling (125 %, 150 %) stays exact instead of rounding to 1× or 2×.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    app.setApplicationName("ReelDesk")
    app.setOrganizationName("ReelDesk")
    app.setApplicationDisplayName("ReelDesk")
    theme.apply_dark_theme(app)
    # The FFmpeg backend of QtMultimedia is chatty on stderr; the log file is where details go.
    QLoggingCategory.setFilterRules("qt.multimedia*=false\nqt.multimedia.ffmpeg*=false")
    return app


class _CrashGuard:
    """sys/threading excepthooks: log the traceback, tell the user one line, keep running."""

    def __init__(self, library_root: Path) -> None:
        self.log_file = library_root / "reeldesk.log"
        self._previous = sys.excepthook
        self._previous_thread = threading.excepthook
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        sys.excepthook = self._previous
        threading.excepthook = self._previous_thread

    def _hook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        log.error("unexpected error in the window", exc_info=(kind, exc, tb))
        if self._showing or QApplication.instance() is None:
            return
        self._showing = True
        try:
            QMessageBox.warning(None, "ReelDesk",
                                f"Something went wrong ({kind.__name__}). Your work is saved.\n\n"
                                f"Details are in {self.log_file}")
        finally:
            self._showing = False

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        log.error("unexpected error in thread %s", getattr(args.thread, "name", "?"),
                  exc_info=args.exc_value if args.exc_value is not None else True)


def open_library_at(root: Path) -> Library:
    """The library at ``root``, migrated (what the window opens after its first paint)."""
    from core.library import Library

    return Library.open(root)


def run_gui(library: Library, *, screenshot: Path | None = None, quit_after: float | None = None,
            mode: str | None = None, project: str | None = None) -> int:
    """``launch`` on a library the caller has opened (and closes): the self-test, scripts."""
    return launch(library.root, opener=lambda: library, owns_library=False, screenshot=screenshot,
                  quit_after=quit_after, mode=mode, project=project)


def launch(root: Path, *, opener: Callable[[], Library] | None = None, owns_library: bool = True,
           screenshot: Path | None = None, quit_after: float | None = None, mode: str | None = None,
           project: str | None = None, services: bool | None = None,
           on_window: Callable[[QWidget], None] | None = None) -> int:
    """Show the main window of the library at ``root`` and run until it closes; the exit code.

    The window's frame paints first; ``opener`` (default: open and migrate the library at ``root``)
    runs after that on a thread, and the window fills when it returns. ``mode`` opens that mode
    (library, annotate, frame, spotlight, export); ``project`` opens that reel (in Frame unless
    ``mode`` says otherwise); both default to what was open last time. With ``screenshot`` /
    ``quit_after`` the filled window is saved as a PNG / closed that long after the library opened
    (CI, docs). ``on_window`` sees the window before it is shown (the start-up benchmark).
    """
    app = _application()
    from desktop.ui.main_window import MainWindow  # after the QApplication: widgets need it

    guard = _CrashGuard(root)
    guard.install()
    status = {"code": 0}
    scripted = screenshot is not None or quit_after is not None
    window = MainWindow(root=root, services=not scripted if services is None else services)
    opened: list[Library] = []

    def ready() -> None:
        opened.append(window.library)
        chosen = project
        if chosen is not None and chosen not in {p["uid"] for p in window.library.projects()}:
            sys.stderr.write(f"reeldesk: warning: no project {chosen}; opening the last session\n")
            chosen = None
        if mode is not None or chosen is not None:
            window.restore_session(mode=mode, project=chosen)
        freeze_startup_heap()  # the filled window's heap: nothing of it becomes garbage while it runs
        if scripted:
            delay = DEFAULT_SCREENSHOT_DELAY_S if quit_after is None else quit_after
            QTimer.singleShot(int(max(0.0, delay) * 1000), finish)

    def failed(_text: str) -> None:
        status["code"] = 1
        if scripted:
            finish()

    def finish() -> None:
        if screenshot is not None and not status["code"]:
            if window.grab().save(str(screenshot), "PNG"):
                log.info("screenshot saved to %s", screenshot)
            else:
                sys.stderr.write(f"reeldesk: error: cannot write screenshot {screenshot}\n")
                status["code"] = 1
        window.close()
        app.quit()

    window.libraryReady.connect(ready)
    window.libraryFailed.connect(failed)
    try:
        if on_window is not None:
            on_window(window)
        window.show()
        window.open_library(opener or (lambda: open_library_at(root)))
        code = app.exec()
    finally:
        if window.isVisible():
            window.close()
        window.shutdown()
        guard.uninstall()
        window.deleteLater()
        if owns_library:
            for library in opened:
                library.close()
    return status["code"] or int(code)


__all__ = ["MODES", "launch", "open_library_at", "run_gui"]
