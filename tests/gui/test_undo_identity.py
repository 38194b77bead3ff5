"""Ctrl+Z reverts the window's own gestures, whatever a script or the CLI did meanwhile; repeated
nudges of one thing merge into one step by identity, not by a clock."""
from __future__ import annotations

from typing import Iterator

import pytest

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.undo import EditorState
from tests.fixtures.library import seed_clip


@pytest.fixture
def state(qtbot, library: Library) -> Iterator[EditorState]:
    s = EditorState(library)
    yield s
    s.close()


def _edit(lib: Library, project: str) -> dict:
    return lib.show_project(project)["clips"][0]["edit"]


def test_ctrl_z_reverts_its_own_gesture_not_one_made_by_the_cli(state: EditorState, library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    library.apply(Gesture(GestureKind.SET_TRIM, wc, {"start": 1.0, "end": 4.0}))  # `reeldesk apply`, same device
    assert state.undo.undo()
    edit = _edit(library, project)
    assert edit["rotation"] == 0.0 and edit["trim"] == {"start": 1.0, "end": 4.0}
    state.undo.redo()
    assert _edit(library, project)["rotation"] == 5.0


def test_a_cli_undo_does_not_shift_what_ctrl_z_reverts(state: EditorState, library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    state.apply(Gesture(GestureKind.SET_TRIM, wc, {"start": 1.0, "end": 4.0}))
    library.undo(project)  # `reeldesk undo`: the trim
    messages: list[str] = []
    state.undo.message.connect(messages.append)
    state.undo.undo()  # the window's trim step is already undone: it says so and reverts nothing else
    assert _edit(library, project)["rotation"] == 5.0
    assert messages and "changed since" in messages[-1]
    state.undo.undo()
    assert _edit(library, project)["rotation"] == 0.0


def test_nudges_of_one_thing_merge_by_identity(state: EditorState, library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    depth = state.undo.stack.count()
    for degrees in (1.0, 2.0, 3.0):
        state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": degrees}), merge_key="nudge")
    assert state.undo.stack.count() == depth + 1
    state.apply(Gesture(GestureKind.SET_TRIM, wc, {"start": 1.0, "end": 4.0}))
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 4.0}), merge_key="nudge")
    assert state.undo.stack.count() == depth + 3  # another step between: a new nudge run
    state.undo.undo()
    state.undo.undo()
    state.undo.undo()
    assert _edit(library, project)["rotation"] == 0.0
