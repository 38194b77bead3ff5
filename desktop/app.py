"""Launching the ReelDesk window (``reeldesk gui``): application set-up, crash safety, screenshots.

``run_gui`` creates the QApplication (HiDPI pass-through scaling, the shared dark theme), shows
:class:`desktop.ui.main_window.MainWindow`, and with ``screenshot``/``quit_after`` renders the
window, saves a PNG and exits (CI and docs). An exception escaping a Qt slot is logged with its
traceback to ``reeldesk.log`` and shown as one readable dialog line, never as a traceback.
"""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QLoggingCategory, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from core.library import Library
from desktop.ui import theme
from desktop.ui.heap import freeze_startup_heap

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


def run_gui(library: Library, *, screenshot: Path | None = None, quit_after: float | None = None,
            mode: str | None = None, project: str | None = None) -> int:
    """Show the main window; with ``screenshot``/``quit_after`` render, save a PNG and exit (CI, docs).

    ``mode`` opens that mode (library, annotate, frame, spotlight, export); ``project`` opens that
    reel (in Frame unless ``mode`` says otherwise). Both default to what was open last time.
    """
    app = _application()
    from desktop.ui.main_window import MainWindow  # after the QApplication: widgets need it

    guard = _CrashGuard(library.root)
    guard.install()
    status = {"code": 0}
    window = MainWindow(library, services=screenshot is None and quit_after is None)
    try:
        if mode is not None or project is not None:
            if project is not None and project not in {p["uid"] for p in library.projects()}:
                sys.stderr.write(f"reeldesk: warning: no project {project}; opening the last session\n")
                project = None
            window.restore_session(mode=mode, project=project)
        window.show()
        freeze_startup_heap()

        def finish() -> None:
            if screenshot is not None:
                if window.grab().save(str(screenshot), "PNG"):
                    log.info("screenshot saved to %s", screenshot)
                else:
                    sys.stderr.write(f"reeldesk: error: cannot write screenshot {screenshot}\n")
                    status["code"] = 1
            window.close()
            app.quit()

        if screenshot is not None or quit_after is not None:
            delay = DEFAULT_SCREENSHOT_DELAY_S if quit_after is None else quit_after
            QTimer.singleShot(int(max(0.0, delay) * 1000), finish)
        code = app.exec()
    finally:
        if window.isVisible():
            window.close()
        guard.uninstall()
        window.deleteLater()
    return status["code"] or int(code)


__all__ = ["MODES", "run_gui"]
