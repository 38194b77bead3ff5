"""Panels refresh from change sets only for what they show, and a hidden panel only once shown again
(a real main window, offscreen, with a generated game)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtWidgets import QTreeWidget

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.keymap import Mode
from desktop.ui.main_window import MainWindow
from tests.fixtures.media import make_video
from tests.gui.test_main_window import framed_project, import_game, open_window


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("game") / "game.mp4", width=320, height=180, fps=Fraction(30),
                      seconds=4.0)


def reel_names(tree: QTreeWidget) -> list[str]:
    return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())]


def apply_and_deliver(qtbot, window: MainWindow, gesture: Gesture) -> None:
    with qtbot.waitSignal(window.state.libraryChanged, timeout=10_000):
        assert window.state.apply(gesture) is not None


def test_a_hidden_panel_refreshes_only_when_shown(qtbot, library: Library, game: Path) -> None:
    media = import_game(library, game)
    project, wc = framed_project(library, media, 0.5, 3.0)
    window = open_window(qtbot, library)
    window.library_panel.tabs.setCurrentWidget(window.library_panel.projects)
    window.open_project(project)
    assert window.mode is Mode.FRAME and window.state.wc_uid == wc
    lib_gate, frame_gate = window.library_panel.refresh_gate, window.frame_panel.refresh_gate
    assert not window.library_panel.isVisible() and window.frame_panel.isVisible()
    lib_before, frame_before = lib_gate.refreshes, frame_gate.refreshes

    apply_and_deliver(qtbot, window, Gesture(GestureKind.RENAME_PROJECT, project, {"name": "Derby"}))
    apply_and_deliver(qtbot, window, Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 3.0}))
    # The Library page behind the Frame page is stale, not rebuilt; the Frame inspector follows.
    assert lib_gate.refreshes == lib_before and lib_gate.dirty
    assert reel_names(window.library_panel.projects) == ["Reel"]
    assert frame_gate.refreshes == frame_before + 2
    assert window.frame_panel.rotation_spin.value() == pytest.approx(3.0)

    with qtbot.waitSignal(window.library_panel.tabFilled, timeout=10_000):  # its read runs on a worker
        window.set_mode(Mode.LIBRARY)
    assert lib_gate.refreshes == lib_before + 1 and not lib_gate.dirty
    assert reel_names(window.library_panel.projects) == ["Derby"]
    window.close()


def test_a_change_elsewhere_leaves_the_open_clip_panels_alone(qtbot, library: Library, game: Path) -> None:
    media = import_game(library, game)
    project, wc = framed_project(library, media, 0.5, 3.0)
    _other_project, other_wc = framed_project(library, media, 1.0, 2.0)
    window = open_window(qtbot, library)
    window.open_project(project)
    gates = [window.frame_panel.refresh_gate, window.history_panel.refresh_gate, window.text_panel.refresh_gate]
    before = [g.refreshes for g in gates]
    apply_and_deliver(qtbot, window, Gesture(GestureKind.SET_ROTATION, other_wc, {"degrees": 2.0}))
    assert [g.refreshes for g in gates] == before
    apply_and_deliver(qtbot, window, Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 1.0}))
    assert [g.refreshes for g in gates] == [n + 1 for n in before]
    window.close()


def test_a_widget_gesture_is_applied_off_the_ui_thread(qtbot, library: Library, game: Path) -> None:
    media = import_game(library, game)
    project, wc = framed_project(library, media, 0.5, 3.0)
    window = open_window(qtbot, library)
    window.open_project(project)
    steps = window.state.undo.stack.count()
    with library._lock:  # the library is busy (a merge chunk): the write worker has to wait
        window.timeline.gestureRequested.emit(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 2.0}))
        assert window.writer.pending == 1  # the UI thread went on without waiting for the write
        assert library.working_clip(wc)["edit"]["rotation"] == 0.0
    qtbot.waitUntil(lambda: window.writer.pending == 0, timeout=10_000)
    assert library.working_clip(wc)["edit"]["rotation"] == 2.0
    assert window.state.undo.stack.count() == steps + 1  # recorded for Ctrl+Z on the UI thread
    qtbot.waitUntil(lambda: window.frame_panel.rotation_spin.value() == pytest.approx(2.0), timeout=10_000)
    window.close()


def test_a_refused_gesture_is_shown_at_once_then_rolled_back_with_a_message(qtbot, library: Library,
                                                                            game: Path) -> None:
    media = import_game(library, game)
    project, wc = framed_project(library, media, 0.5, 3.0)
    window = open_window(qtbot, library)
    window.open_project(project)
    spin = window.frame_panel.rotation_spin

    def optimistic() -> None:
        spin.blockSignals(True)
        spin.setValue(15.0)
        spin.blockSignals(False)

    steps = window.state.undo.stack.count()
    with qtbot.waitSignal(window.state.message, timeout=10_000) as said:
        # 99 degrees is past the ±20 the library allows: refused on the write worker.
        window.writer.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 99.0}), optimistic=optimistic)
        assert spin.value() == pytest.approx(15.0)  # shown at once, before the worker answers
    text, error = said.args
    assert error and "not saved" in text and "undone on screen" in text
    assert spin.value() == pytest.approx(0.0)  # back to what the library holds
    assert window.state.undo.stack.count() == steps and library.working_clip(wc)["edit"]["rotation"] == 0.0
    window.close()
