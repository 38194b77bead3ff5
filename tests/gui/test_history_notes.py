"""History labels that name what happened, and notes/tags that keep what the user typed."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.history_panel import HistoryPanel
from desktop.ui.undo import EditorState
from tests.gui.test_main_window import framed_project, import_game
from tests.gui.test_panels import written

BOX = {"x": 100.0, "y": 0.0, "width": 202.5, "height": 360.0}


@pytest.fixture
def state(qtbot, library: Library) -> EditorState:
    s = EditorState(library)
    yield s
    s.close()


def labels(panel: HistoryPanel) -> list[str]:
    return [panel.versions.topLevelItem(i).text(1) for i in range(panel.versions.topLevelItemCount())]


def test_crop_drag_onto_a_keyframe_reads_move_and_redo_reads_redo(qtbot, state: EditorState, library: Library,
                                                                   game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media)
    state.set_project(project)
    state.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 1.0, **BOX}))
    # A drag 3 frames later: the viewer sends an add, the library snaps it onto the keyframe.
    state.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 1.1, **{**BOX, "x": 140.0}}))
    assert len(library.show_project(project)["clips"][0]["edit"]["crop_keyframes"]) == 1
    assert state.undo.stack.undoText() == "Move crop keyframe"
    panel = HistoryPanel(state)
    qtbot.addWidget(panel)
    assert labels(panel)[:2] == ["Move crop keyframe", "Add crop keyframe"]
    state.undo.undo()
    state.on_library_changed(None)
    assert labels(panel)[0] == "Undo Move crop keyframe"
    state.undo.redo()
    state.on_library_changed(None)
    assert labels(panel)[0] == "Redo Move crop keyframe"
    assert "Undo" not in labels(panel)


def test_notes_save_as_you_type_in_one_undo_step(qtbot, state: EditorState, library: Library,
                                                 game_video: Path) -> None:
    media = import_game(library, game_video)
    clip = library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": media, "start": 1.0, "end": 3.0})).entity
    state.set_media(media)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    panel.show()
    state.set_raw_clip(clip)
    depth = state.undo.stack.count()
    panel.notes_edit.setFocus()
    qtbot.keyClicks(panel.notes_edit, "great pass")
    # saved without leaving the field
    qtbot.waitUntil(lambda: library.raw_clip(clip)["notes"] == "great pass", timeout=5000)
    qtbot.keyClicks(panel.notes_edit, " by #9")
    qtbot.waitUntil(lambda: library.raw_clip(clip)["notes"] == "great pass by #9", timeout=5000)
    written(qtbot, state)  # the undo step is recorded when the write worker's result is back
    assert state.undo.stack.count() == depth + 1  # one burst of typing, one undo step
    state.undo.undo()
    assert library.raw_clip(clip)["notes"] == ""
    # Tab leaves the notes for the next field instead of typing a tab
    panel.notes_edit.setFocus()
    qtbot.keyClick(panel.notes_edit, Qt.Key.Key_Tab)
    assert "\t" not in panel.notes_edit.toPlainText()


def test_tags_keep_what_was_typed(qtbot, state: EditorState, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    clip = library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": media, "start": 1.0, "end": 3.0})).entity
    state.set_media(media)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    state.set_raw_clip(clip)
    panel.tags_edit.setText("goal, #9")
    panel.tags_edit.editingFinished.emit()
    written(qtbot, state)
    assert library.raw_clip(clip)["tags"] == ["goal", "#9"]
    assert panel.tags_edit.text() == "goal, #9"
