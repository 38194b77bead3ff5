"""The History dock follows edits of the open clip by adding their versions on top of the list it
shows (versions are immutable), reading only the new ones; another clip gets a list of its own."""
from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.history_panel import HistoryPanel
from desktop.ui.undo import EditorState
from tests.fixtures.library import seed_clip
from tests.gui.test_panels import settle

MARK = Qt.ItemDataRole.UserRole + 7  # set by the test on the items it saw; a rebuilt list loses it


def rows(panel: HistoryPanel) -> list[str]:
    return [panel.versions.topLevelItem(i).text(0) for i in range(panel.versions.topLevelItemCount())]


def mark_all(panel: HistoryPanel) -> None:
    for i in range(panel.versions.topLevelItemCount()):
        panel.versions.topLevelItem(i).setData(0, MARK, True)


def marked(panel: HistoryPanel) -> list[bool]:
    return [bool(panel.versions.topLevelItem(i).data(0, MARK)) for i in range(panel.versions.topLevelItemCount())]


@pytest.fixture
def reads(library: Library, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each history read: (working clip, versions after which it read)."""
    seen: list[tuple[str, int]] = []
    history = library.history

    def spy(wc: str, after: int = 0) -> list[dict[str, Any]]:
        seen.append((wc, after))
        return history(wc, after)

    monkeypatch.setattr(library, "history", spy)
    return seen


def test_an_edit_of_the_open_clip_adds_its_version_on_top_of_the_list(qtbot, state: EditorState, library: Library,
                                                                      reads: list[tuple[str, int]]) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    state.set_clip(wc)
    panel = HistoryPanel(state)
    qtbot.addWidget(panel)
    assert rows(panel) == ["v1  •"]
    mark_all(panel)
    panel.versions.topLevelItem(0).setSelected(True)
    reads.clear()

    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    settle(qtbot)
    state.apply(Gesture(GestureKind.SPLIT, wc, {"time": 3.0}))
    settle(qtbot)
    assert rows(panel) == ["v3  •", "v2", "v1"]  # the current version marked, and only it
    assert marked(panel) == [False, False, True]  # v1's item kept, not rebuilt
    assert reads == [(wc, 1), (wc, 2)]  # each read only the versions after the newest listed
    assert "Split" in panel.versions.topLevelItem(0).text(1)
    assert panel.versions.topLevelItem(2).isSelected() and panel.restore.isEnabled()  # the choice stays
    assert panel.title.text() == "3 version(s) of the open clip"

    state.undo.undo()
    settle(qtbot)
    assert rows(panel) == ["v4  •", "v3", "v2", "v1"]
    assert panel.versions.topLevelItem(0).text(1) == "Undo Split"


def test_another_clip_gets_its_own_list(qtbot, state: EditorState, library: Library,
                                        reads: list[tuple[str, int]]) -> None:
    _raw, project, wc = seed_clip(library)
    _raw2, _project2, other = seed_clip(library)
    library.apply(Gesture(GestureKind.SET_ROTATION, other, {"degrees": 2.0}))
    state.set_project(project)
    state.set_clip(wc)
    panel = HistoryPanel(state)
    qtbot.addWidget(panel)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    settle(qtbot)
    mark_all(panel)
    reads.clear()

    state.set_project(_project2)
    settle(qtbot)
    assert rows(panel) == ["v2  •", "v1"] and marked(panel) == [False, False]
    assert reads and all(r == (other, 0) for r in reads)  # read from its first version
    assert "Rotat" in panel.versions.topLevelItem(0).text(1)


def test_the_conflict_list_is_read_again_only_when_a_change_names_conflicts(qtbot, state: EditorState,
                                                                            library: Library,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _raw, project, wc = seed_clip(library)
    state.set_project(project)
    state.set_clip(wc)
    panel = HistoryPanel(state)
    qtbot.addWidget(panel)
    settle(qtbot)
    read: list[int] = []
    conflicts = library.conflicts
    monkeypatch.setattr(library, "conflicts", lambda: read.append(1) or conflicts())
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    settle(qtbot)
    assert panel.versions.topLevelItemCount() == 2 and read == []
    state.on_library_changed(None)  # anything may have changed
    assert read == [1]
