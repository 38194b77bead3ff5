"""Discrete panel gestures commit on the write worker: a write held by construction (an Event the
test controls) leaves the UI thread free with the change already shown, the undo step is recorded
when the write returns, and a refused one goes back on screen with a message."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from core.enums import GestureKind
from core.gestures.model import Gesture, GestureError
from core.library import Library
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.library_panel import ThumbnailCache
from desktop.ui.reel_list import ReelClipList
from desktop.ui.undo import EditorState
from desktop.ui.workers import TaskHub
from tests.fixtures.library import FAKE_HASH, seed_clip
from tests.gui.test_library_reads import HOLD_S, ui_turns
from tests.gui.test_main_window import framed_project, import_game, open_window


class HeldWrites:
    """``library.apply`` that waits for ``release`` before applying a gesture of ``kind``."""

    def __init__(self, library: Library, monkeypatch: pytest.MonkeyPatch, kind: GestureKind) -> None:
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []
        real = library.apply

        def apply(gesture: Gesture, *args: Any, **kwargs: Any) -> Any:
            if gesture.kind is kind:
                self.threads.append(threading.current_thread())
                self.release.wait(HOLD_S)
            return real(gesture, *args, **kwargs)

        monkeypatch.setattr(library, "apply", apply)


@pytest.fixture
def hold(library: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    made: list[HeldWrites] = []

    def start(kind: GestureKind) -> HeldWrites:
        made.append(HeldWrites(library, monkeypatch, kind))
        return made[-1]

    yield start
    for held in made:
        held.release.set()  # never leave the write worker waiting


def test_a_clip_rename_commits_off_the_ui_thread(qtbot, state: EditorState, library: Library, hold) -> None:
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):  # delivered before the panel exists
        raw, _project, _wc = seed_clip(library)
    state.set_media(FAKE_HASH)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    state.set_raw_clip(raw)
    depth = state.undo.stack.count()
    held = hold(GestureKind.UPDATE_CLIP)
    panel.name_edit.setText("Screamer")
    panel.name_edit.editingFinished.emit()
    ui_turns(qtbot)
    assert state.writer.pending == 1 and held.threads[0] is not threading.main_thread()
    assert library.raw_clip(raw)["name"] != "Screamer" and panel.name_edit.text() == "Screamer"
    panel.name_edit.editingFinished.emit()  # Enter, then leaving the field: the same name is no new gesture
    assert state.writer.pending == 1
    with qtbot.waitSignal(state.writer.settled, timeout=HOLD_S * 1000):
        held.release.set()
    assert library.raw_clip(raw)["name"] == "Screamer"
    assert state.undo.stack.count() == depth + 1  # recorded when the write came back
    state.undo.undo()
    assert library.raw_clip(raw)["name"] != "Screamer"


def test_removing_a_clip_from_the_reel_shows_at_once(qtbot, state: EditorState, hub: TaskHub, library: Library,
                                                     hold) -> None:
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        raw, project, wc = seed_clip(library)
    second = library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    state.set_project(project)
    reel = ReelClipList(state, ThumbnailCache(state, hub))
    qtbot.addWidget(reel)
    reel.refresh()
    assert reel.count() == 2
    held = hold(GestureKind.REMOVE_CLIP)
    reel.remove(wc)
    ui_turns(qtbot)
    assert reel.count() == 1 and reel.item(0).data(Qt.ItemDataRole.UserRole) == second  # shown before the write
    assert [c["uid"] for c in library.show_project(project)["clips"]] == [wc, second]
    with qtbot.waitSignal(state.writer.settled, timeout=HOLD_S * 1000):
        held.release.set()
    assert [c["uid"] for c in library.show_project(project)["clips"]] == [second]
    assert state.undo.stack.count() == 1  # recorded when the write came back


def test_a_refused_removal_goes_back_with_a_message(qtbot, library: Library, game_video: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media, 0.5, 3.0)
    raw = library.show_project(project)["clips"][0]["raw_clip"]
    library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw}))
    window = open_window(qtbot, library)
    window.open_project(project)
    reel = window.reel_list
    assert reel.count() == 2
    real = library.apply

    def refuse(gesture: Gesture, *args: Any, **kwargs: Any) -> Any:
        if gesture.kind is GestureKind.REMOVE_CLIP:  # refused by construction (say, a full disk)
            raise GestureError("the library refused it")
        return real(gesture, *args, **kwargs)

    monkeypatch.setattr(library, "apply", refuse)
    steps = window.state.undo.stack.count()
    with qtbot.waitSignal(window.state.message, timeout=HOLD_S * 1000) as said:
        reel.remove(wc)
        assert reel.count() == 1  # shown at once, before the worker answers
    text, error = said.args
    assert error and "not saved" in text and "the library refused it" in text
    assert reel.count() == 2  # the panels reloaded what the library holds
    assert window.state.undo.stack.count() == steps and len(library.show_project(project)["clips"]) == 2
    window.close()


def test_the_reel_list_is_rebuilt_only_when_what_it_shows_changed(qtbot, state: EditorState, hub: TaskHub,
                                                                   library: Library) -> None:
    raw, project, wc = seed_clip(library)
    state.set_project(project)
    reel = ReelClipList(state, ThumbnailCache(state, hub))
    qtbot.addWidget(reel)
    reel.refresh()
    first = reel.item(0)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 3.0}))  # nothing the list shows
    reel.refresh()
    assert reel.item(0) is first  # the same item: not rebuilt
    state.apply(Gesture(GestureKind.UPDATE_CLIP, raw, {"name": "Header"}))
    reel.names_changed()
    assert reel.item(0).toolTip() == "Header"
    second = library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    reel.refresh()
    assert [reel.item(i).data(Qt.ItemDataRole.UserRole) for i in range(reel.count())] == [wc, second]


def test_rating_a_selection_commits_off_the_ui_thread_as_one_undo_step(qtbot, state: EditorState,
                                                                       library: Library, hold) -> None:
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        raws = [seed_clip(library, start=s, end=s + 4.0)[0] for s in (10.0, 20.0, 30.0)]
    state.set_media(FAKE_HASH)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    depth = state.undo.stack.count()
    held = hold(GestureKind.UPDATE_CLIP)
    panel.rate(4, raws)
    ui_turns(qtbot)
    assert state.writer.pending == 1 and held.threads[0] is not threading.main_thread()
    assert state.undo.stack.count() == depth  # nothing recorded before the write returns
    with qtbot.waitSignal(state.writer.settled, timeout=HOLD_S * 1000):
        held.release.set()
    assert [library.raw_clip(r)["rating"] for r in raws] == [4, 4, 4]
    assert state.undo.stack.count() == depth + 1 and state.undo.stack.undoText() == "Rate 3 clips"
    state.undo.undo()
    assert [library.raw_clip(r)["rating"] for r in raws] == [0, 0, 0]


def test_a_group_refused_half_way_keeps_what_was_applied_undoable_and_says_why(
        qtbot, state: EditorState, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        raws = [seed_clip(library, start=s, end=s + 4.0)[0] for s in (10.0, 20.0)]
    real = library.apply

    def refuse_second(gesture: Gesture, *args: Any, **kwargs: Any) -> Any:
        if gesture.kind is GestureKind.DELETE_CLIP and gesture.entity_uid == raws[1]:
            raise GestureError("the library refused it")
        return real(gesture, *args, **kwargs)

    monkeypatch.setattr(library, "apply", refuse_second)
    depth = state.undo.stack.count()
    with qtbot.waitSignal(state.message, timeout=HOLD_S * 1000) as said:
        state.submit_many([Gesture(GestureKind.DELETE_CLIP, r, {}) for r in raws], "Delete 2 clip(s)")
    text, error = said.args
    assert error and "Delete 2 clip(s)" in text and "the library refused it" in text
    assert library.raw_clip(raws[0])["deleted"] and not library.raw_clip(raws[1])["deleted"]
    assert state.undo.stack.count() == depth + 1  # the applied half is one step
    state.undo.undo()
    assert not library.raw_clip(raws[0])["deleted"]
