"""A minimal ReelDesk main window: the library's projects and clips in a dark theme.

Placeholder for the full editor UI (a later issue replaces it). It only reads the library.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (QApplication, QLabel, QListWidget, QListWidgetItem, QMainWindow, QSplitter,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.library import Library

log = logging.getLogger(__name__)

DEFAULT_SCREENSHOT_DELAY_S = 0.5


def dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor(30, 31, 34), QColor(43, 45, 48), QColor(223, 225, 229)
    accent, disabled = QColor(255, 212, 0), QColor(120, 122, 128)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, window)
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, window)
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 80, 80))
    p.setColor(QPalette.ColorRole.Link, accent)
    p.setColor(QPalette.ColorRole.Highlight, accent)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(0, 0, 0))
    p.setColor(QPalette.ColorRole.PlaceholderText, disabled)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def _fmt_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60.0)
    return f"{int(m)}:{s:05.2f}"


class MainWindow(QMainWindow):
    def __init__(self, library: Library) -> None:
        super().__init__()
        self.library = library
        self.setWindowTitle("ReelDesk")
        self.resize(1100, 680)

        self.projects = QListWidget()
        self.clips = QTreeWidget()
        self.clips.setHeaderLabels(["Clip", "Range", "Rating", "Tags"])
        self.clips.setRootIsDecorated(False)
        self.clips.setAlternatingRowColors(True)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._titled("Projects", self.projects))
        splitter.addWidget(self._titled("Clips", self.clips))
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        self.setCentralWidget(splitter)
        self.refresh()

    @staticmethod
    def _titled(title: str, body: QWidget) -> QWidget:
        box = QWidget()
        layout = QVBoxLayout(box)
        label = QLabel(title)
        label.setStyleSheet("font-weight: 600; font-size: 14px; padding: 4px 2px;")
        layout.addWidget(label)
        layout.addWidget(body)
        return box

    def refresh(self) -> None:
        projects = self.library.projects()
        clips = self.library.raw_clips()
        self.projects.clear()
        for p in projects:
            item = QListWidgetItem(f"{p['name']}    {p['aspect']}")
            item.setData(Qt.ItemDataRole.UserRole, p["uid"])
            self.projects.addItem(item)
        if not projects:
            self._placeholder(self.projects, "No projects yet — reeldesk project create NAME")
        self.clips.clear()
        for c in clips:
            row = QTreeWidgetItem([c["name"] or c["uid"][:8], f"{_fmt_time(c['start'])} – {_fmt_time(c['end'])}",
                                   "★" * int(c["rating"] or 0), ", ".join(c["tags"])])
            row.setData(0, Qt.ItemDataRole.UserRole, c["uid"])
            self.clips.addTopLevelItem(row)
        for col in range(self.clips.columnCount()):
            self.clips.resizeColumnToContents(col)
        self.statusBar().showMessage(f"{self.library.root}    {len(projects)} projects · {len(clips)} clips")

    @staticmethod
    def _placeholder(widget: QListWidget, text: str) -> None:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        widget.addItem(item)


def _application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("ReelDesk")
    app.setOrganizationName("ReelDesk")
    app.setStyle("Fusion")  # the native Windows style ignores most palette colours
    app.setPalette(dark_palette())
    return app


def run_gui(library: Library, *, screenshot: Path | None = None, quit_after: float | None = None) -> int:
    """Show the main window; with ``screenshot``/``quit_after`` render, save a PNG and exit (CI, docs)."""
    app = _application()
    window = MainWindow(library)
    window.show()
    status = {"code": 0}

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
    window.deleteLater()
    return status["code"] or int(code)


__all__ = ["MainWindow", "dark_palette", "run_gui"]
