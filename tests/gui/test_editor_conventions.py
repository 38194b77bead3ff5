"""Editor conventions in the real main window: keys that step frames whatever has focus, K that
only stops, a keyframe key of its own, Alt+arrows for the crop, the transport of an empty Frame
mode, the timeline following the playhead, Edit menu texts that name the action.

Keys go through the real shortcut machinery (QTest key clicks on the focused widget).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.library import Library
from desktop.ui.keymap import BY_NAME, KeymapDialog
from desktop.ui.main_window import MainWindow
from tests.gui.test_main_window import framed_project, import_game, key, open_window, seek

FPS = Fraction(30)
ALT = Qt.KeyboardModifier.AltModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def framing(qtbot, library: Library, game_video: Path):
    media = import_game(library, game_video)
    project, wc = framed_project(library, media)
    window = open_window(qtbot, library)
    window.open_project(project)
    yield window, project, wc
    window.close()


def keyframes(library: Library, project: str) -> list[dict]:
    return library.show_project(project)["clips"][0]["edit"]["crop_keyframes"]


@pytest.mark.parametrize("focus", ["viewer", "timeline", "inspector"])
def test_arrows_step_frames_whatever_has_focus_in_frame_mode(qtbot, framing, library: Library, focus: str) -> None:
    window, project, _wc = framing
    seek(qtbot, window, 3.0)
    widget = {"viewer": window.viewer, "timeline": window.timeline, "inspector": window.frame_panel.keyframes}[focus]
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)
    key(qtbot, window, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.state.media_time == pytest.approx(3.0 + 1 / 30), timeout=2000)
    key(qtbot, window, Qt.Key.Key_Right, SHIFT)
    qtbot.waitUntil(lambda: window.state.media_time == pytest.approx(4.0 + 1 / 30), timeout=2000)
    key(qtbot, window, Qt.Key.Key_Left)
    qtbot.waitUntil(lambda: window.state.media_time == pytest.approx(4.0), timeout=2000)
    assert keyframes(library, project) == []  # nothing nudged, nothing keyed


def test_alt_arrows_nudge_the_crop_as_one_step_and_are_in_the_shortcut_map(qtbot, framing, library: Library) -> None:
    window, project, _wc = framing
    seek(qtbot, window, 3.0)
    window.timeline.setFocus()  # not the viewer: the nudge works whatever has focus
    before = window.viewer.crop_box()
    depth = window.state.undo.stack.count()
    for _ in range(3):
        key(qtbot, window, Qt.Key.Key_Right, ALT)
    key(qtbot, window, Qt.Key.Key_Up, ALT | SHIFT)
    # The nudge commits on the gesture writer's thread; its undo step is recorded back on the UI
    # thread when the write returns: wait for both, not only for the row.
    qtbot.waitUntil(lambda: window.writer.pending == 0 and len(keyframes(library, project)) == 1
                    and window.state.undo.stack.count() > depth, timeout=5000)
    (kf,) = keyframes(library, project)
    assert kf["x"] == pytest.approx(before.x + 3.0)
    assert kf["y"] == pytest.approx(max(0.0, before.y - 10.0))
    assert window.state.media_time == pytest.approx(3.0)  # the playhead stayed
    assert window.state.undo.stack.count() == depth + 1
    dialog = KeymapDialog(window)
    qtbot.addWidget(dialog)
    rows = [dialog.tree.topLevelItem(i) for i in range(dialog.tree.topLevelItemCount())]
    keys = " ".join(r.text(1) for r in rows)
    assert "Alt+Left" in keys and "Alt+Right" in keys and "Alt+Up" in keys and "Alt+Down" in keys


def test_k_only_stops_and_p_adds_the_keyframe(qtbot, framing, library: Library) -> None:
    window, project, _wc = framing
    seek(qtbot, window, 3.0)
    key(qtbot, window, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: window.playback.playing, timeout=2000)
    key(qtbot, window, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=2000)
    assert keyframes(library, project) == []
    assert "K" not in BY_NAME["add_keyframe"].keys
    key(qtbot, window, Qt.Key.Key_P)
    assert len(keyframes(library, project)) == 1
    shown = BY_NAME["add_keyframe"].keys[0]
    assert f"({shown})" in window.frame_panel.add_kf.toolTip()
    assert f"({shown})" in window.spotlight_panel.add_key.toolTip()
    assert "keyframe" not in BY_NAME["shuttle_stop"].label.lower()


def test_frame_mode_without_a_reel_clears_the_transport(qtbot, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    window = open_window(qtbot, library)
    try:
        window.open_media(media)
        seek(qtbot, window, 5.0)
        assert window.clip_label.text()
        window.set_mode("frame")  # no reel exists
        assert window.clip_label.text() == ""
        assert window.time_label.text() in ("", "--:--")
        for b in (window.play_b, window.step_fwd_b, window.step_back_b, window.go_start_b, window.go_end_b):
            assert not b.isEnabled()
        assert window.timeline.duration == 0.0
    finally:
        window.close()


def test_edit_menu_names_the_action_to_undo_and_redo(qtbot, framing, library: Library) -> None:
    window, _project, _wc = framing
    seek(qtbot, window, 3.0)
    key(qtbot, window, Qt.Key.Key_S)
    undo, redo = window.actions_by_name["undo"], window.actions_by_name["redo"]
    assert undo.text() == "Undo Split"
    assert "Undo Split" in undo.toolTip()
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert redo.text() == "Redo Split"
    assert undo.text() == "Undo"


def test_timeline_follows_the_playhead_when_zoomed(qtbot, framing) -> None:
    window: MainWindow = framing[0]
    seek(qtbot, window, 2.0)
    window.timeline.zoom_in(8.0)
    t0, t1 = window.timeline.visible_range()
    assert t1 - t0 < 3.0
    # a jump to a mark far outside the view brings it into view
    window.state.seek_clip(5.5)
    qtbot.waitUntil(lambda: window.timeline.playhead() == pytest.approx(5.5, abs=0.05), timeout=2000)
    t0, t1 = window.timeline.visible_range()
    assert t0 <= 5.5 <= t1
    # playing past the right edge pages the view along
    window.state.seek_clip(t1 - 0.2)
    qtbot.waitUntil(lambda: window.timeline.playhead() == pytest.approx(t1 - 0.2, abs=0.05), timeout=2000)
    window.playback.play()
    qtbot.waitUntil(lambda: window.timeline.playhead() > t1 + 0.1, timeout=10_000)
    window.playback.pause()
    a, b = window.timeline.visible_range()
    assert a <= window.timeline.playhead() <= b


def test_a_spotlight_outside_the_crop_is_warned_in_the_viewer_and_the_export_panel(qtbot, framing,
                                                                                    library: Library) -> None:
    from core.enums import GestureKind
    from core.gestures.model import Gesture

    window, _project, wc = framing
    window.set_mode("spotlight")
    assert not window.spot_warning.isVisible()
    window.state.apply(Gesture(GestureKind.ADD_REGION, wc, {"start": 1.0, "end": 3.0, "x": 40.0, "y": 180.0,
                                                            "rx": 20.0, "ry": 40.0}))
    qtbot.waitUntil(window.spot_warning.isVisible, timeout=3000)
    assert "00:01.00–00:03.00" in window.spot_warning.text()
    # under the picture, not over it
    assert window.spot_warning.mapTo(window, window.spot_warning.rect().topLeft()).y() >= \
        window.viewer.mapTo(window, window.viewer.rect().bottomLeft()).y()
    # trimmed-away time is not exported: not warned about
    window.state.apply(Gesture(GestureKind.SET_TRIM, wc, {"start": 0.0, "end": 2.5}))
    qtbot.waitUntil(lambda: "00:01.00–00:02.50" in window.spot_warning.text(), timeout=3000)
    window.state.apply(Gesture(GestureKind.CLEAR_TRIM, wc, {}))
    qtbot.waitUntil(lambda: "00:01.00–00:03.00" in window.spot_warning.text(), timeout=3000)
    window.set_mode("export")
    assert window.export_panel.spot_warning.isVisible()
    assert "clip 1 at 00:01.00–00:03.00" in window.export_panel.spot_warning.text()
    window.set_mode("frame")
    assert window.spot_warning.isVisible()
    window.set_mode("annotate")
    assert not window.spot_warning.isVisible()


def drop(window: MainWindow, paths: list[Path]) -> None:
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_a_dropped_full_match_becomes_a_game_with_an_undo(qtbot, library: Library, game_video: Path,
                                                          tmp_path: Path) -> None:
    from desktop.ui.import_games import GAME_MIN_SETTING
    from core.reads import read_games
    from tests.fixtures.media import make_video

    short = make_video(tmp_path / "corner kick.mp4", seconds=2.0)
    library.set_setting(GAME_MIN_SETTING, "10")  # the 12 s test "match" counts as long footage
    window = open_window(qtbot, library)
    try:
        with qtbot.waitSignal(window.importFinished, timeout=30_000):
            drop(window, [game_video, short])
        games = read_games(library)
        assert [g.name for g in games] == ["derby game"]
        assert len(games[0].media) == 1
        names = sorted(c["name"] for c in library.raw_clips())
        assert names == ["corner kick"]  # the short one stays a clip, the match is not one
        assert "game" in window.statusBar().currentMessage()
        assert window.state.media_hash == games[0].media[0]  # opened to be marked
        window.state.undo.undo()  # "no, it is a clip"
        assert read_games(library) == []
        assert sorted(c["name"] for c in library.raw_clips()) == ["corner kick", "derby game"]
        assert any("game" in a.text().lower() for a in window.menuBar().actions()[0].menu().actions())
    finally:
        window.close()
