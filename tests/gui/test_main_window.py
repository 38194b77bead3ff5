"""The main window end to end, offscreen: drop-to-import, marking with keys, split at the
playhead, undo/redo shortcuts, mode switching, session restore, settings secrets in the keyring only.

Keys go through the real shortcut machinery (QTest key clicks on the active window), so the
keyboard map, the per-mode enabling of actions and the gesture write path are all exercised.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import DB_NAME, Library
from core.media.importer import ImportService
from desktop.ui.keymap import Mode
from desktop.ui.main_window import SETTINGS_FILE, MainWindow
from desktop.ui.viewer import ViewerMode
from tests.fixtures.media import make_video
from tests.gui.test_panels import lists_read, written

FPS = Fraction(30)


@pytest.fixture(scope="module")
def game_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12 s 640x360 30 fps game with audio."""
    return make_video(tmp_path_factory.mktemp("game") / "derby game.mp4", width=640, height=360, fps=FPS,
                      seconds=12.0)


def import_game(library: Library, video: Path) -> str:
    (result,) = ImportService(library).import_paths([video])
    assert result.ok, result.error
    return result.media


def open_window(qtbot, library: Library) -> MainWindow:
    window = MainWindow(library, services=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    lists_read(qtbot, window.library_panel)  # the Library page's first read (on a worker) is shown
    return window


@pytest.fixture
def window(qtbot, library: Library) -> Iterator[MainWindow]:
    w = open_window(qtbot, library)
    yield w
    w.close()


def key(qtbot, window: MainWindow, k: Qt.Key, mods: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, k, mods)


def seek(qtbot, window: MainWindow, t: float) -> None:
    window.playback.seek(t)
    qtbot.waitUntil(lambda: abs(window.state.media_time - window.playback.snap(t)) < 1e-9, timeout=2000)


def framed_project(library: Library, media: str, start: float = 2.0, end: float = 8.0) -> tuple[str, str]:
    raw = library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": media, "start": start, "end": end,
                                                              "name": "Goal"})).entity
    project = library.apply(Gesture(GestureKind.CREATE_PROJECT, None, {"name": "Reel", "aspect": "9:16"})).entity
    wc = library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    return project, wc


def test_dropping_files_on_the_window_imports_them(qtbot, window: MainWindow, library: Library,
                                                   game_video: Path, tmp_path: Path) -> None:
    junk = tmp_path / "notes.mp4"
    junk.write_text("not a video", encoding="utf-8")
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(game_video)), QUrl.fromLocalFile(str(junk))])
    # Dropped onto the library page (a child that does not take files): the window takes it.
    target = window.library_panel.clip_view.viewport()
    pos = QPointF(target.rect().center())
    event = QDropEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.importFinished, timeout=30_000) as finished:
        window.dropEvent(event)
        assert event.isAccepted()
        assert window.import_box.isVisible()  # progress shown while the worker copies
    results = {r.path.name: r for r in finished.args[0]}
    assert results["derby game.mp4"].ok
    assert results["notes.mp4"].error  # the bad file is reported, not fatal
    media = library.media_list()
    assert [m["name"] for m in media] == ["derby game.mp4"]
    qtbot.waitUntil(lambda: window.library_panel.clip_model.rowCount() == 1, timeout=3000)
    assert not window.import_box.isVisible()
    assert window._reports and window._reports[-1].isVisible()  # per-file errors listed


def test_drag_enter_with_files_shows_the_drop_overlay(qtbot, window: MainWindow, game_video: Path) -> None:
    from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent

    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(game_video))])
    enter = QDragEnterEvent(window.rect().center(), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted() and window.drop_overlay.isVisible()
    assert "1 item" in window.drop_overlay.text
    window.dragLeaveEvent(QDragLeaveEvent())
    assert not window.drop_overlay.isVisible()


def test_annotate_in_out_and_rating_keys_create_a_rated_clip(qtbot, window: MainWindow, library: Library,
                                                             game_video: Path) -> None:
    media = import_game(library, game_video)
    window.open_media(media)
    assert window.mode is Mode.ANNOTATE and window.viewer.mode is ViewerMode.PLAIN
    before = {c["uid"] for c in library.raw_clips()}
    seek(qtbot, window, 2.0)
    key(qtbot, window, Qt.Key.Key_I)
    seek(qtbot, window, 5.5)
    key(qtbot, window, Qt.Key.Key_O)
    key(qtbot, window, Qt.Key.Key_4)
    written(qtbot, window.state)  # the rating commits on the write worker
    new = [c for c in library.raw_clips() if c["uid"] not in before]
    assert len(new) == 1
    clip = new[0]
    assert (clip["start"], clip["end"], clip["rating"]) == (2.0, 5.5, 4)
    assert window.state.raw_clip_uid == clip["uid"]
    # Quick mark: 9 s before / 3 s after the playhead, clamped to the footage.
    seek(qtbot, window, 10.0)
    key(qtbot, window, Qt.Key.Key_M)
    quick = [c for c in library.raw_clips() if c["uid"] not in before | {clip["uid"]}]
    assert [(c["start"], c["end"]) for c in quick] == [(1.0, 12.0)]


def test_split_with_s_at_the_playhead(qtbot, window: MainWindow, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media, start=2.0, end=8.0)
    window.open_project(project)
    assert window.mode is Mode.FRAME and window.state.wc_uid == wc
    assert window.viewer.mode is ViewerMode.FRAME
    seek(qtbot, window, 2.0 + 1.5)  # media time; the clip starts at 2 s
    key(qtbot, window, Qt.Key.Key_S)
    splits = library.show_project(project)["clips"][0]["edit"]["splits"]
    assert [s["time"] for s in splits] == [pytest.approx(1.5)]
    with library.read() as conn:
        from sqlalchemy import select

        from core.db import models as m
        kinds = conn.execute(select(m.GestureRow.kind).order_by(m.GestureRow.id.desc()).limit(1)).scalars().all()
    assert kinds == [GestureKind.SPLIT.value]


def test_undo_and_redo_shortcuts_change_the_project(qtbot, window: MainWindow, library: Library,
                                                    game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media)
    window.open_project(project)
    original = library.project_json(project)
    seek(qtbot, window, 3.0)
    key(qtbot, window, Qt.Key.Key_P)  # add a crop keyframe at the playhead
    keyed = library.project_json(project)
    assert keyed != original
    assert len(json.loads(keyed)["clips"][0]["edit"]["crop_keyframes"]) == 1
    key(qtbot, window, Qt.Key.Key_S)
    split = library.project_json(project)
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert library.project_json(project) == keyed
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert library.project_json(project) == original
    key(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert library.project_json(project) == keyed
    key(qtbot, window, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert library.project_json(project) == split
    # A rejected gesture is a status-bar line, not an exception, and lands on no undo stack.
    depth = window.state.undo.stack.count()
    assert window.state.apply(Gesture(GestureKind.SPLIT, wc, {"time": 999.0})) is None
    assert window.state.undo.stack.count() == depth
    assert "beyond" in window.statusBar().currentMessage() or "inside" in window.statusBar().currentMessage()


def test_mode_switching_pages_docks_and_shortcuts(qtbot, window: MainWindow, library: Library,
                                                  game_video: Path) -> None:
    media = import_game(library, game_video)
    project, _wc = framed_project(library, media)
    window.state.set_project(project)
    expected = {Mode.LIBRARY: window.library_panel, Mode.ANNOTATE: window.editor_page, Mode.FRAME: window.editor_page,
                Mode.SPOTLIGHT: window.editor_page, Mode.EXPORT: window.export_page}
    keys = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5]
    for mode, k in zip(Mode, keys, strict=True):
        key(qtbot, window, k, Qt.KeyboardModifier.ControlModifier)
        assert window.mode is mode
        assert window.pages.currentWidget() is expected[mode]
        assert window.mode_actions[mode].isChecked()
        assert window.actions_by_name["split"].isEnabled() == (mode is Mode.FRAME)
        assert window.actions_by_name["mark_in"].isEnabled() == (mode is Mode.ANNOTATE)
        assert window.reel_dock.isVisibleTo(window) == (mode in (Mode.FRAME, Mode.SPOTLIGHT))
    window.set_mode(Mode.SPOTLIGHT)
    assert window.viewer.mode is ViewerMode.SPOTLIGHT
    assert window.inspector.currentWidget().widget() is window.spotlight_panel
    # R adds a spotlight region at the playhead, K a keyframe to it
    seek(qtbot, window, 3.0)
    key(qtbot, window, Qt.Key.Key_R)
    regions = library.show_project(project)["clips"][0]["edit"]["regions"]
    assert len(regions) == 1 and regions[0]["start"] == pytest.approx(1.0)


def test_layout_project_and_playhead_are_restored(qtbot, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media, start=2.0, end=8.0)
    first = open_window(qtbot, library)
    first.open_project(project)
    seek(qtbot, first, 4.0)
    first.history_dock.hide()
    first.set_mode(Mode.SPOTLIGHT)
    first.close()
    assert (library.root / SETTINGS_FILE).is_file()  # next to the library, not in the registry
    second = open_window(qtbot, library)
    try:
        assert second.mode is Mode.SPOTLIGHT
        assert (second.state.project_uid, second.state.wc_uid) == (project, wc)
        assert second.state.media_time == pytest.approx(4.0)
        assert second.timeline.playhead() == pytest.approx(2.0)  # clip time
    finally:
        second.close()


def test_settings_dialog_keeps_secrets_in_the_keyring_only(qtbot, library: Library, memory_keyring,
                                                           s3_bucket: dict) -> None:
    from desktop.ui.settings_dialog import MODAL_KEYRING_SERVICE, SettingsDialog
    from desktop.ui.workers import TaskHub
    from sync.credentials import KEYRING_SERVICE, RemoteConfig

    hub = TaskHub()
    dialog = SettingsDialog(library, hub)
    qtbot.addWidget(dialog)
    dialog.kind.setCurrentIndex(dialog.kind.findData("s3"))
    dialog.endpoint.setText(s3_bucket["endpoint_url"])
    dialog.bucket.setText(s3_bucket["bucket"])
    dialog.key_id.setText(s3_bucket["key_id"])
    dialog.secret.setText(s3_bucket["secret"])
    modal_secret = "as-modal-secret-0123456789"
    dialog.modal_id.setText("ak-modal-id")
    dialog.modal_secret.setText(modal_secret)
    dialog.save()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=20_000)
    hub.shutdown()
    assert memory_keyring.store[(KEYRING_SERVICE, s3_bucket["key_id"])] == s3_bucket["secret"]
    assert memory_keyring.store[(MODAL_KEYRING_SERVICE, "ak-modal-id")] == modal_secret
    config = RemoteConfig.load(library)
    assert config is not None and config.bucket == s3_bucket["bucket"]
    assert dialog.secret.text() == "" and dialog.modal_secret.text() == ""
    library.engine.dispose()  # flush the WAL into the file before grepping it
    for path in library.root.iterdir():
        if path.is_file():
            blob = path.read_bytes()
            assert s3_bucket["secret"].encode() not in blob, path.name
            assert modal_secret.encode() not in blob, path.name
    assert (library.root / DB_NAME).is_file()
    # Shown again, the dialog never reveals the stored secret.
    again = SettingsDialog(library, TaskHub())
    qtbot.addWidget(again)
    assert again.secret.text() == "" and "keyring" in again.secret.placeholderText()
    assert again.modal_secret.text() == "" and "keyring" in again.modal_secret.placeholderText()
