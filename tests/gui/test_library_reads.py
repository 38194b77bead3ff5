"""The Library page reads the library on a worker: a read held by construction (an Event the test
controls) leaves the UI thread free, the newest read wins, and the page keeps its selection and
filters across refreshes; the main window fills without waiting for the clip read."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QTimer

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.library_panel import UID_ROLE, LibraryPanel, ThumbnailCache
from desktop.ui.main_window import MainWindow
from desktop.ui.undo import EditorState
from desktop.ui.workers import TaskHub
from tests.fixtures.library import FAKE_HASH
from tests.gui.test_panels import lists_read, seeded_clips

HOLD_S = 30  # a bound for a broken build (a read on the UI thread waits this long); never reached otherwise


class HeldClipReads:
    """``library.raw_clips`` whose first ``held`` calls read at once but return only once released."""

    def __init__(self, library: Library, monkeypatch: pytest.MonkeyPatch, held: int = 1) -> None:
        self.release = threading.Event()
        self.threads: list[threading.Thread] = []
        self.calls = 0
        self._held = held
        real: Callable[..., list[dict[str, Any]]] = library.raw_clips

        def raw_clips(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            self.calls += 1
            hold = self.calls <= self._held
            self.threads.append(threading.current_thread())
            rows = real(*args, **kwargs)
            if hold:
                self.release.wait(HOLD_S)
            return rows

        monkeypatch.setattr(library, "raw_clips", raw_clips)


@pytest.fixture
def held(library: Library, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldClipReads]:
    reads = HeldClipReads(library, monkeypatch)
    yield reads
    reads.release.set()  # never leave a worker waiting


def ui_turns(qtbot) -> None:
    """The UI thread goes round its event loop (a queued timer fires)."""
    turned: list[bool] = []
    QTimer.singleShot(0, lambda: turned.append(True))
    qtbot.waitUntil(lambda: bool(turned), timeout=HOLD_S * 1000)


def seeded(qtbot, state: EditorState, library: Library) -> list[str]:
    """Three clips, their change event delivered before the page exists (it refreshes nothing later)."""
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        return seeded_clips(library)


def names(panel: LibraryPanel) -> list[str]:
    model = panel.clip_model
    return sorted(model.index(r, 0).data() for r in range(model.rowCount()))


def test_the_clip_read_runs_off_the_ui_thread(qtbot, state: EditorState, hub: TaskHub, library: Library,
                                              held: HeldClipReads) -> None:
    seeded(qtbot, state, library)
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    panel.show()
    ui_turns(qtbot)
    panel.search.setText("save")  # another widget answers while the read is held
    assert panel.clip_model.rowCount() == 0 and held.calls == 1
    assert held.threads[0] is not threading.main_thread()
    with qtbot.waitSignal(panel.clipsShown, timeout=HOLD_S * 1000):
        held.release.set()
    assert names(panel) == ["Big save", "Header goal", "Throw-in"]
    assert panel.clip_proxy.rowCount() == 1 and "1 of 3" in panel.count_label.text()  # the filter typed meanwhile


def test_a_slow_old_read_never_overwrites_a_newer_list(qtbot, state: EditorState, hub: TaskHub, library: Library,
                                                      held: HeldClipReads) -> None:
    seeded(qtbot, state, library)
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    shown: list[list[str]] = []
    panel.clipsShown.connect(lambda: shown.append(names(panel)))
    qtbot.waitUntil(lambda: held.calls == 1, timeout=HOLD_S * 1000)  # the first read has its 3 clips, held
    library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": FAKE_HASH, "start": 30, "end": 33, "name": "Corner"}))
    with qtbot.waitSignal(panel.clipsShown, timeout=HOLD_S * 1000):
        panel.refresh()
    assert names(panel) == ["Big save", "Corner", "Header goal", "Throw-in"]
    with qtbot.waitSignal(panel.reads.idle, timeout=HOLD_S * 1000):
        held.release.set()  # the old read returns its three clips now: too late to be shown
    assert names(panel) == ["Big save", "Corner", "Header goal", "Throw-in"]
    assert shown == [["Big save", "Corner", "Header goal", "Throw-in"]]


def test_refreshes_keep_the_selection_and_the_tag_filter(qtbot, state: EditorState, hub: TaskHub,
                                                        library: Library) -> None:
    goal, save, _throw = seeded(qtbot, state, library)
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        library.apply(Gesture(GestureKind.UPDATE_CLIP, save, {"tags": ["goal", "save"]}))
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    lists_read(qtbot, panel)
    panel.tag_filter.setCurrentIndex(panel.tag_filter.findData("goal"))
    sel = panel.clip_view.selectionModel()
    for row in range(panel.clip_proxy.rowCount()):
        if panel.clip_proxy.index(row, 0).data(UID_ROLE) == save:
            sel.select(panel.clip_proxy.index(row, 0), sel.SelectionFlag.Select)
    assert panel.selected_clip_uids() == [save]
    with qtbot.waitSignal(panel.clipsShown, timeout=HOLD_S * 1000):  # a change event refreshes the page
        library.apply(Gesture(GestureKind.UPDATE_CLIP, goal, {"rating": 2}))
    assert panel.tag_filter.currentData() == "goal" and panel.clip_proxy.rowCount() == 2
    assert panel.selected_clip_uids() == [save]


def test_the_window_fills_without_waiting_for_the_clip_read(qtbot, library: Library, held: HeldClipReads) -> None:
    seeded_clips(library)
    window = MainWindow(library, services=False)  # fills at once (no stepped start)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    assert window.ready and window.pages.currentWidget() is window.library_panel
    # The page's read is the held first one (other panels read on their own, unheld).
    assert window.library_panel.clip_model.rowCount() == 0 and held.threads[0] is not threading.main_thread()
    with qtbot.waitSignal(window.library_panel.clipsShown, timeout=HOLD_S * 1000):
        held.release.set()
    assert window.library_panel.clip_model.rowCount() == 3
    window.close()


def test_opening_a_clip_from_the_page_opens_it_unless_it_was_deleted(qtbot, library: Library) -> None:
    goal, save, _throw = seeded_clips(library)
    library.apply(Gesture(GestureKind.DELETE_CLIP, save, {}))
    window = MainWindow(library, services=False)
    qtbot.addWidget(window)
    lists_read(qtbot, window.library_panel)
    window.library_panel.openRawClip.emit(save)  # a deleted clip (the list was older): nothing opens
    assert window.pages.currentWidget() is window.library_panel and window.state.raw_clip_uid is None
    window.library_panel.openRawClip.emit(goal)
    assert window.state.raw_clip_uid == goal and window.state.media_hash == FAKE_HASH
    assert window.pages.currentWidget() is window.editor_page
    window.close()


def test_the_tag_field_offers_every_tag_read_on_a_worker(qtbot, state: EditorState, library: Library,
                                                        held: HeldClipReads) -> None:
    seeded(qtbot, state, library)  # tags "goal" and "save"
    panel = AnnotatePanel(state)  # built while the read of the library's tags is held
    qtbot.addWidget(panel)
    assert panel.tags_edit.completer() is None
    with qtbot.waitSignal(panel.reads.idle, timeout=HOLD_S * 1000):
        held.release.set()
    assert held.threads[0] is not threading.main_thread()
    model = panel.tags_edit.completer().model()
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == ["goal", "save"]


class _Counted:
    """Counts calls of a library read on the UI thread (and still does it)."""

    def __init__(self, library: Library, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.calls = 0
        real = getattr(library, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += threading.current_thread() is threading.main_thread()
            return real(*args, **kwargs)

        monkeypatch.setattr(library, name, counted)


def test_annotate_updates_the_rows_a_change_names_and_rereads_the_list_only_when_it_changed(
        qtbot, state: EditorState, library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):  # the seeding's own change event
        uids = seeded_clips(library)
    state.set_media(FAKE_HASH)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    rows = [panel.clip_list.topLevelItem(i) for i in range(panel.clip_list.topLevelItemCount())]
    assert [r.data(0, UID_ROLE) for r in rows] == uids
    lists, footage = _Counted(library, monkeypatch, "raw_clips"), _Counted(library, monkeypatch, "media_list")
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        library.apply(Gesture(GestureKind.UPDATE_CLIP, uids[1], {"rating": 2, "name": "Worldie"}))
    assert (lists.calls, footage.calls) == (0, 0)  # neither the list nor the footage read again
    assert panel.clip_list.topLevelItem(1) is rows[1]  # the same row, updated
    assert rows[1].text(0) == "Worldie" and rows[1].text(3) == "★★"
    assert panel.clips()[1]["name"] == "Worldie"
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": FAKE_HASH, "start": 30.0, "end": 33.0}))
    assert lists.calls == 1 and panel.clip_list.topLevelItemCount() == 4  # a new clip: the list is read
    with qtbot.waitSignal(state.libraryChanged, timeout=HOLD_S * 1000):
        library.apply(Gesture(GestureKind.DELETE_CLIP, uids[0], {}))
    assert lists.calls == 2 and uids[0] not in [c["uid"] for c in panel.clips()]
