"""Track player in a real viewer: draw a box (or click a detected player), the worker tracks,
the result lands as one undo step; detection boxes are drawn from the cache."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.editmath import Box
from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from core.media.importer import ImportService
from desktop.ui.track_panel import TrackControls, TrackController
from desktop.ui.undo import EditorState
from desktop.ui.viewer import VideoViewer, ViewerMode
from desktop.ui.workers import LibraryBridge, TaskHub
from tests.fixtures.pitch import PitchScene


@pytest.fixture(scope="module")
def pitch(tmp_path_factory) -> tuple[PitchScene, Path]:
    scene = PitchScene(width=480, height=270, player_h=22.0, seconds=1.5, pan_px_s=12.0)
    return scene, scene.write(tmp_path_factory.mktemp("gui-pitch") / "pitch.mp4")


@pytest.fixture
def editor(qtbot, library: Library, pitch) -> Iterator[tuple[EditorState, TrackController, TrackControls, VideoViewer]]:
    _scene, path = pitch
    (res,) = ImportService(library).import_paths([path])
    raw = library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": res.media, "start": 0.0, "end": 1.5})).entity
    project = library.apply(Gesture(GestureKind.CREATE_PROJECT, None, {"name": "Reel"})).entity
    library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw}))
    state = EditorState(library)
    bridge = LibraryBridge(library, state)
    bridge.changed.connect(state.on_library_changed)
    hub = TaskHub()
    state.set_project(project)
    state.set_media_time(0.0)
    viewer = VideoViewer()
    qtbot.addWidget(viewer)
    viewer.resize(960, 540)
    viewer.set_source_size(480, 270)
    viewer.set_clip(state.clip_doc(), state.aspect())
    viewer.set_mode(ViewerMode.SPOTLIGHT)
    controller = TrackController(state, hub, viewer)
    controls = TrackControls(controller)
    qtbot.addWidget(controls)
    viewer.show()
    yield state, controller, controls, viewer
    hub.shutdown()
    bridge.close()
    state.close()


def _regions(state: EditorState) -> list[dict]:
    state._drop_cache(None)
    return state.clip_doc()["edit"]["regions"]


def _drag(qtbot, widget, box_rect) -> None:
    a, b = box_rect.topLeft().toPoint(), box_rect.bottomRight().toPoint()
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(widget, pos=(a + b) / 2)
    qtbot.mouseMove(widget, pos=b)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=b)


def test_draw_a_box_tracks_and_undo_removes_the_whole_run(qtbot, editor, pitch):
    scene, _path = pitch
    state, controller, controls, viewer = editor
    controls.reframe.setChecked(True)
    assert controller.reframe
    controls.track.click()
    assert controller.overlay.armed
    rect = viewer.box_to_widget(Box(*scene.start_box(0)))
    with qtbot.waitSignal(controller.busyChanged, timeout=60_000, check_params_cb=lambda busy: not busy):
        _drag(qtbot, controller.overlay, rect)
    qtbot.waitUntil(lambda: len(_regions(state)) == 1, timeout=5_000)
    (region,) = _regions(state)
    assert len(region["keyframes"]) >= 2 and region["start"] == 0.0
    assert state.clip_doc()["edit"]["crop_keyframes"]  # auto-reframe placed crop keyframes
    # The ellipse starts on the player the box was drawn around.
    first = region["keyframes"][0]
    assert abs(first["x"] - scene.truth[0][0]) < 3 and abs(first["y"] - scene.truth[0][1]) < 3
    assert "Followed the player" in controls.status.text()
    assert state.undo.stack.count() == 1  # one undo step
    state.undo.undo()
    assert _regions(state) == [] and state.clip_doc()["edit"]["crop_keyframes"] == []
    state.undo.redo()
    assert len(_regions(state)) == 1


def test_detected_players_are_drawn_and_a_click_tracks_one(qtbot, editor, pitch):
    scene, _path = pitch
    state, controller, _controls, viewer = editor
    media = state.clip_doc()["source"]["media"]
    x, y, w, h = scene.start_box(0)
    controller.cache.put(media, {0: [(x, y, w, h, 0.93), (10.0, 10.0, 12.0, 24.0, 0.55)]})
    controller._time_changed(0.0)
    assert len(controller.overlay.detections) == 2
    controller.arm()
    centre = viewer.box_to_widget(Box(x, y, w, h)).center().toPoint()
    with qtbot.waitSignal(controller.busyChanged, timeout=60_000, check_params_cb=lambda busy: not busy):
        qtbot.mouseClick(controller.overlay, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: len(_regions(state)) == 1, timeout=5_000)
    assert abs(_regions(state)[0]["keyframes"][0]["x"] - (x + w / 2)) < 1e-3


def test_escape_disarms_without_tracking(qtbot, editor):
    state, controller, _controls, _viewer = editor
    controller.arm()
    qtbot.keyClick(controller.overlay, Qt.Key.Key_Escape)
    assert not controller.overlay.armed and not controller.busy and _regions(state) == []
