"""The Program monitor in the main window: the Source | Program switch, keys driving the program,
edits refreshing it, and the timeline handing the transport back to the source."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.keymap import Mode
from tests.gui.test_main_window import framed_project, import_game, open_window
from tests.gui.test_playback import image_rgb
from tests.fixtures.media import make_video

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def game_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("program") / "game.mp4", width=640, height=360, fps=Fraction(30),
                      seconds=6.0, audio=False)


def test_program_switch_shows_the_output_and_keys_drive_it(qtbot, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media, start=1.0, end=4.0)
    window = open_window(qtbot, library)
    try:
        window.open_project(project)
        assert window.mode is Mode.FRAME and window.program.switch.isVisible()
        monitor = window.program
        with qtbot.waitSignal(window.playback.programFrameReady, timeout=WAIT_MS) as got:
            monitor.switch.program.click()
        assert window.playback.program_active and monitor.stack.currentWidget() is monitor.view
        first = got.args[0]
        # 9:16 output of a 16:9 source: a portrait picture, converted to the monitor's size.
        assert first.height() > first.width() and first.height() <= monitor.view.height() * 2
        assert "PROGRAM" in monitor.view.caption and window.time_label.text().endswith("00:03.00")

        with qtbot.waitSignal(window.playback.programFrameReady, timeout=WAIT_MS):
            qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Right)
        assert window.playback.program_position == pytest.approx(1 / 30)

        # An edit while the program shows rebuilds it: a rotation changes the picture.
        before = image_rgb(first)
        with qtbot.waitSignal(window.playback.programFrameReady, timeout=WAIT_MS) as got:
            window.state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 12.0}))
        assert window.playback.program_position == pytest.approx(1 / 30)
        # (The monitor may have resized meanwhile: a warning can appear under it; compare alike.)
        after = image_rgb(got.args[0].scaled(first.size()))
        assert abs(after.astype(int) - before.astype(int)).mean() > 5  # far above resampling noise

        # Scrubbing the (source) timeline gives the monitor back to the source.
        with qtbot.waitSignal(window.playback.programChanged, timeout=WAIT_MS, check_params_cb=lambda on: not on):
            window.timeline.playheadMoved.emit(0.5)
        assert monitor.stack.currentWidget() is window.viewer and not monitor.switch.program.isChecked()

        window.set_mode(Mode.ANNOTATE)
        assert not monitor.switch.isVisible()
    finally:
        window.close()
