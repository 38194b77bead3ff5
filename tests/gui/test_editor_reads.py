"""The open reel's document is read again only as far as a change set says it changed: the clips an
edit names are re-read, the others kept, and a change elsewhere reads nothing."""
from __future__ import annotations

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.undo import EditorState
from tests.fixtures.library import seed_clip
from tests.gui.test_panels import settle


def test_an_edit_re_reads_only_the_clip_it_changed(qtbot, state: EditorState, library: Library) -> None:
    raw, project, wc = seed_clip(library)
    other = library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    _raw2, elsewhere, far = seed_clip(library)
    state.set_project(project)
    settle(qtbot)  # the events of the seeding delivered
    before = state.project_doc()
    assert before is not None
    kept = state.clip_doc(other)

    state.apply(Gesture(GestureKind.SET_ROTATION, far, {"degrees": 1.0}))  # another reel
    settle(qtbot)
    assert state.project_doc() is before  # nothing of the open reel changed: no read

    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 4.0}))
    settle(qtbot)
    after = state.project_doc()
    assert after == library.show_project(project)
    assert state.clip_doc(wc)["edit"]["rotation"] == 4.0
    assert state.clip_doc(other)["edit"] is kept["edit"]  # the unchanged clip was not read again

    state.apply(Gesture(GestureKind.RENAME_PROJECT, project, {"name": "Derby"}))
    state.apply(Gesture(GestureKind.MOVE_CLIP, project, {"working_clip": other, "position": 0}))
    settle(qtbot)
    assert state.project_doc() == library.show_project(project)
    assert state.project_doc()["project"]["name"] == "Derby"
    assert [c["uid"] for c in state.project_doc()["clips"]] == [other, wc]

    state.on_library_changed(None)  # anything may have changed: all of it read again
    assert state.clip_doc(other)["edit"] is not kept["edit"]
    assert state.project_doc() == library.show_project(project)
    assert elsewhere != project


def test_a_commit_marks_the_clip_stale_before_its_event_arrives(qtbot, state: EditorState,
                                                                library: Library) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    assert state.clip_doc(wc)["edit"]["rotation"] == 0.0
    library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 3.0}))  # its event not delivered yet
    assert state.clip_doc(wc)["edit"]["rotation"] == 3.0


def test_the_open_clips_raw_clip_is_read_again_only_when_a_change_names_raw_clips(qtbot, state: EditorState,
                                                                                  library: Library) -> None:
    raw, project, wc = seed_clip(library)
    state.set_project(project)
    settle(qtbot)
    first = state.raw_clip(raw)
    assert first == library.raw_clip(raw)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 4.0}))  # names no raw clip
    settle(qtbot)
    assert state.raw_clip(raw) is first
    library.apply(Gesture(GestureKind.UPDATE_CLIP, raw, {"name": "Header"}))  # its event not delivered yet
    assert state.raw_clip(raw)["name"] == "Header"
    settle(qtbot)
    assert state.raw_clip(raw) == library.raw_clip(raw)
