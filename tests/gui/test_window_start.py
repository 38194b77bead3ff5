"""Start-up: the main window's frame paints before the library is open, and fills when it is.

The library open is held by construction (an Event the test controls), so "the window painted
before the library opened" is a fact of the order of events, not a race against the clock."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from desktop.app import open_library_at
from desktop.ui.keymap import Mode
from desktop.ui.main_window import MainWindow

REPO = Path(__file__).resolve().parents[2]
HOLD_S = 60  # bound on every wait; the test releases the library long before


class PaintLog(QObject):
    """Whether the library open had started when the window painted, for each paint."""

    def __init__(self, opening: threading.Event) -> None:
        super().__init__()
        self.opening = opening
        self.paints: list[bool] = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802  # Qt's name
        if event.type() == QEvent.Type.Paint:
            self.paints.append(self.opening.is_set())
        return False


def held_window(qtbot, root: Path, result: Library | None) -> tuple[MainWindow, threading.Event, threading.Event,
                                                                    PaintLog]:
    """A window whose library opener waits for ``release`` (then returns ``result`` or opens ``root``)."""
    opening, release = threading.Event(), threading.Event()

    def opener() -> Library:
        opening.set()
        assert release.wait(HOLD_S)
        return result if result is not None else open_library_at(root)

    window = MainWindow(root=root, services=False)
    qtbot.addWidget(window)
    log = PaintLog(opening)
    window.installEventFilter(log)
    window.resize(1280, 800)
    window.show()
    window.open_library(opener)
    return window, opening, release, log


def files(path: Path) -> QMimeData:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    return data


def test_the_frame_paints_before_the_library_opens_then_fills(qtbot, library: Library, tmp_path: Path) -> None:
    clip = library.apply(Gesture(K.IMPORT_MEDIA, "ab" * 32, {"info": {
        "duration": 60.0, "fps_num": 30, "fps_den": 1, "width": 640, "height": 360, "rotation": 0,
        "has_audio": False, "vfr": False}}))
    assert clip.entity
    library.apply(Gesture(K.MARK_CLIP, None, {"media": "ab" * 32, "start": 1.0, "end": 4.0, "name": "Goal"}))
    window, opening, release, log = held_window(qtbot, library.root, library)
    try:
        qtbot.waitUntil(opening.is_set, timeout=HOLD_S * 1000)
        assert log.paints and log.paints[0] is False  # the first paint came before the open started
        assert window.isVisible() and not window.ready
        assert "Opening the library" in window.opening_page.text()
        assert "Opening the library" in window.statusBar().currentMessage()
        assert window.pages.currentWidget() is window.opening_page
        # Keys and menus that need the library are off until it is open; Quit is not.
        assert not any(a.isEnabled() for a in window.actions_by_name.values())
        assert not any(a.isEnabled() for a in window.library_actions)
        window.actions_by_name["mode_frame"].trigger()
        assert window.mode is Mode.LIBRARY
        # A drop before then is refused with a message, not swallowed.
        data = files(tmp_path / "game.mp4")  # outlives the events that point at it
        enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        window.dragEnterEvent(enter)
        assert not enter.isAccepted()
        assert "still opening" in window.statusBar().currentMessage()
        drop = QDropEvent(QPoint(10, 10).toPointF(), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                          Qt.KeyboardModifier.NoModifier)
        drop.setAccepted(False)
        window.dropEvent(drop)
        assert not drop.isAccepted()

        with qtbot.waitSignal(window.libraryReady, timeout=HOLD_S * 1000):
            release.set()
        assert window.ready and window.library is library
        assert window.pages.currentWidget() is window.library_panel
        qtbot.waitUntil(lambda: window.library_panel.clip_model.rowCount() == 1, timeout=HOLD_S * 1000)
        assert window.actions_by_name["mode_frame"].isEnabled() and window.actions_by_name["import"].isEnabled()
        assert all(a.isEnabled() for a in window.library_actions)
        assert window.reel_dock.widget().isAncestorOf(window.reel_list)  # the dock holds its panel now
        window.actions_by_name["mode_frame"].trigger()
        assert window.mode is Mode.FRAME
    finally:
        release.set()
        window.close()


def test_a_library_that_cannot_be_opened_is_explained_in_the_window(qtbot, tmp_path: Path) -> None:
    root = tmp_path / "library"
    root.mkdir()
    broken = b"this is not an SQLite database, but it is the user's file " * 50
    (root / "library.sqlite").write_bytes(broken)
    window, _opening, release, _log = held_window(qtbot, root, None)
    try:
        with qtbot.waitSignal(window.libraryFailed, timeout=HOLD_S * 1000) as failed:
            release.set()
        text = failed.args[0]
        assert str(root) in text and "cannot open the library" in text and "reeldesk.log" in text
        assert window.opening_page.text() == text  # said in the window, where the panels would be
        assert window.statusBar().currentMessage() == text
        assert not window.ready and not any(a.isEnabled() for a in window.actions_by_name.values())
        assert (root / "library.sqlite").read_bytes() == broken  # nothing lost
    finally:
        window.close()


def test_a_window_closed_while_the_library_opens_closes_it(qtbot, library: Library) -> None:
    window, opening, release, _log = held_window(qtbot, library.root, library)
    qtbot.waitUntil(opening.is_set, timeout=HOLD_S * 1000)
    window.close()
    closed = threading.Event()
    real_close = library.close

    def close() -> None:
        real_close()
        closed.set()

    library.close = close  # type: ignore[method-assign]  # observe the window closing it
    release.set()
    qtbot.waitUntil(closed.is_set, timeout=HOLD_S * 1000)
    assert not window.ready


def test_a_window_closed_before_it_painted_never_opens_the_library(qtbot, tmp_path: Path) -> None:
    opened: list[bool] = []

    def opener() -> Library:
        opened.append(True)
        return open_library_at(tmp_path / "library")

    window = MainWindow(root=tmp_path / "library", services=False)  # never shown: never painted
    qtbot.addWidget(window)
    window.open_library(opener)
    (thread,) = [t for t in threading.enumerate() if t.name == "open-library"]
    window.close()
    thread.join(HOLD_S)
    assert not thread.is_alive() and opened == []
    assert not (tmp_path / "library" / "library.sqlite").exists()


def test_a_window_closed_while_it_fills_stops_what_it_started(qtbot, library: Library) -> None:
    window = MainWindow(root=library.root, services=False)
    qtbot.addWidget(window)
    window.show()
    window.attach(library, stepped=True)  # the first step (services) runs now, the panels in later turns
    assert not window.ready and not hasattr(window, "library_panel")
    window.close()  # the fill completes, then everything it started is stopped (no AttributeError)
    assert window.ready and window.library_panel is not None
    assert window.hub.pool.activeThreadCount() == 0


def test_the_window_frame_loads_no_library_media_or_cloud_code() -> None:
    """What paints first (``reeldesk`` parsing its arguments, Qt, the frame) loads no library, media
    or cloud code: that loads on the opening thread."""
    probe = ("import sys\nimport desktop.app, desktop.cli, desktop.ui.main_window\n"
             "args = desktop.cli.parse_args(['--library', 'x', 'gui', '--mode', 'frame'])\n"
             "assert args.command == 'gui' and args.mode == 'frame', args\n"
             "heavy = ('sqlalchemy', 'alembic', 'av', 'numpy', 'cv2', 'modal', 'boto3', 'core.library', 'core.db')\n"
             "print(sorted(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
