"""The panels on their own, offscreen, against real libraries: every action checked by the
gesture it stored (or, for read-only views, by what they show)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QProgressBar, QToolButton, QWidget

from core.db import models as m
from core.enums import AspectRatio, GestureKind, JobState
from core.export.jobs import ExportJobs, JobRunner
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.annotate_panel import AnnotatePanel
from desktop.ui.new_reel import create_reel
from desktop.ui.annotate_widgets import parse_tags
from desktop.ui.export_panel import ExportPanel, ExportService
from desktop.ui.clip_doc import crop_box_at
from desktop.ui.frame_panel import FramePanel
from desktop.ui.history_panel import HistoryPanel, restore_mine
from desktop.ui import library_panel
from desktop.ui.keymap import BINDINGS, KeymapDialog
from desktop.ui.library_panel import CLIPS_MIME, UID_ROLE, LibraryPanel, ThumbnailCache
from desktop.ui.spotlight_panel import SpotlightPanel
from desktop.ui.sync_indicator import SyncController, SyncIndicator, describe
from desktop.ui.undo import EditorState
from desktop.ui.workers import LibraryBridge, TaskHub
from tests.fixtures.library import FAKE_HASH, FAKE_INFO, seed_clip


@pytest.fixture
def state(qtbot, library: Library) -> Iterator[EditorState]:
    st = EditorState(library)
    bridge = LibraryBridge(library, st)
    bridge.changed.connect(st.on_library_changed)
    yield st
    bridge.close()


@pytest.fixture
def hub() -> Iterator[TaskHub]:
    h = TaskHub()
    yield h
    h.shutdown()


def lists_read(qtbot, panel: LibraryPanel) -> None:
    """Wait until the Library page shows every list it asked for (its reads run on a worker)."""
    if panel.reads.pending:
        with qtbot.waitSignal(panel.reads.idle, timeout=10_000):
            pass


def open_tab(qtbot, panel: LibraryPanel, page: QWidget) -> None:
    """Open a tab of the Library page and wait until it shows its list."""
    with qtbot.waitSignal(panel.tabFilled, timeout=10_000, check_params_cb=lambda filled: filled is page):
        panel.tabs.setCurrentWidget(page)


def written(qtbot, state: EditorState) -> None:
    """Wait until the write worker applied what the panels handed it (their undo steps recorded)."""
    if state.writer.pending:
        with qtbot.waitSignal(state.writer.settled, timeout=10_000):
            pass


def settle(qtbot) -> None:
    """Deliver what a synchronous apply queued (its change notification, and what that queues in
    turn) before asserting: no time passes, so a fast or slow machine sees the same."""
    for _ in range(3):
        QApplication.processEvents()


def seeded_clips(library: Library) -> list[str]:
    library.apply(Gesture(GestureKind.IMPORT_MEDIA, FAKE_HASH, {"info": FAKE_INFO, "name": "game.mp4"}))
    specs = [(1, 4, 5, ["goal"], "Header goal"), (10, 16, 3, ["save"], "Big save"), (20, 26, 1, [], "Throw-in")]
    return [library.apply(Gesture(GestureKind.MARK_CLIP, None, {
        "media": FAKE_HASH, "start": s, "end": e, "rating": r, "tags": t, "name": n})).entity
        for s, e, r, t, n in specs]


def open_clip(state: EditorState, library: Library) -> tuple[str, str, str]:
    raw, project, wc = seed_clip(library)
    state.set_project(project)
    state.set_clip(wc)
    return raw, project, wc


def latest_kind(library: Library) -> str:
    return library.gestures()[-1].kind.value


# -- library ------------------------------------------------------------------------------------
def test_library_filters_by_text_rating_and_tag(qtbot, state: EditorState, hub: TaskHub, library: Library) -> None:
    seeded_clips(library)
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    lists_read(qtbot, panel)
    assert panel.clip_model.rowCount() == 3
    panel.search.setText("save")
    assert panel.clip_proxy.rowCount() == 1
    panel.search.clear()
    panel.rating_filter.setCurrentIndex(panel.rating_filter.findData(3))
    assert sorted(panel.clip_proxy.index(r, 0).data() for r in range(panel.clip_proxy.rowCount())) == \
        ["Big save", "Header goal"]
    panel.rating_filter.setCurrentIndex(0)
    panel.tag_filter.setCurrentIndex(panel.tag_filter.findData("goal"))
    assert panel.clip_proxy.rowCount() == 1 and "1 of 3" in panel.count_label.text()
    open_tab(qtbot, panel, panel.footage)
    assert panel.footage.topLevelItemCount() == 1  # the game.mp4 media


def test_library_lists_games_reels_and_gallery_from_the_library(qtbot, state: EditorState, hub: TaskHub,
                                                                 library: Library, tmp_path: Path) -> None:
    raw, project, _wc = seed_clip(library)  # a 6 s clip in "Reel" (9:16)
    library.apply(Gesture(GestureKind.CREATE_GAME, None, {"name": "Derby", "media": [FAKE_HASH]}))
    jobs = ExportJobs(library)
    job = jobs.create(project, start=False)
    assert jobs.claim(job)
    staged = tmp_path / "staged.mp4"
    staged.write_bytes(b"not really a video")
    final = jobs.finalize(job, staged, duration=6.0, width=1080, height=1920)
    assert final is not None
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    lists_read(qtbot, panel)

    open_tab(qtbot, panel, panel.footage)
    game = panel.footage.topLevelItem(0)
    assert (game.text(0), game.text(4), game.childCount()) == ("Derby", "1", 1)
    assert game.child(0).data(0, UID_ROLE) == FAKE_HASH and "not on this machine" in game.child(0).text(0)
    open_tab(qtbot, panel, panel.projects)
    reel = panel.projects.topLevelItem(0)
    assert [reel.text(c) for c in range(4)] == ["Reel", "9:16", "1", "00:06.00"]
    open_tab(qtbot, panel, panel.gallery)
    video = panel.gallery.topLevelItem(0)
    assert video.text(0) == Path(final.path).name and video.text(1) == "Reel  v1" and video.text(3) == "1080×1920"

    # A change made elsewhere (a gesture) reaches the lists: the reel's name and clip count.
    panel.tabs.setCurrentWidget(panel.projects)  # read above and not changed since: shown as it is
    with qtbot.waitSignal(panel.tabFilled, timeout=10_000):  # one change event for both gestures
        library.apply(Gesture(GestureKind.RENAME_PROJECT, project, {"name": "Cup final"}))
        library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": raw}))
    assert panel.projects.topLevelItem(0).text(0) == "Cup final"
    assert panel.projects.topLevelItem(0).text(2) == "2"
    open_tab(qtbot, panel, panel.gallery)
    assert panel.gallery.topLevelItem(0).text(1) == "Cup final  v1"


def test_reels_are_summarised_only_when_their_tab_is_opened(qtbot, state: EditorState, hub: TaskHub,
                                                           library: Library, monkeypatch) -> None:
    """Summarising every reel (its clips and length) costs half a second on a season's library:
    the window's start and each library change pay it only while the Reels tab is open."""
    seed_clip(library)
    summarised: list[int] = []
    real = library_panel.read_reels
    monkeypatch.setattr(library_panel, "read_reels", lambda lib: summarised.append(1) or real(lib))
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    lists_read(qtbot, panel)
    assert summarised == [] and panel.projects.topLevelItemCount() == 0
    open_tab(qtbot, panel, panel.projects)
    assert summarised == [1] and panel.projects.topLevelItem(0).text(0) == "Reel"
    panel.tabs.setCurrentWidget(panel.clip_view)
    with qtbot.waitSignal(panel.clipsShown, timeout=10_000):
        panel.refresh()  # a change while another tab is open
    lists_read(qtbot, panel)
    assert summarised == [1]
    open_tab(qtbot, panel, panel.projects)
    assert summarised == [1, 1]


def test_dropping_clips_on_a_reel_adds_them_as_one_undo_step(qtbot, state: EditorState, hub: TaskHub,
                                                            library: Library) -> None:
    uids = seeded_clips(library)
    project = library.apply(Gesture(GestureKind.CREATE_PROJECT, None, {"name": "Reel", "aspect": "9:16"})).entity
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    lists_read(qtbot, panel)
    open_tab(qtbot, panel, panel.projects)
    # the mime data a drag out of the clip grid carries
    indexes = [panel.clip_model.index(r, 0) for r in range(2)]
    data = panel.clip_model.mimeData(indexes)
    assert json.loads(bytes(data.data(CLIPS_MIME)).decode()) == uids[:2]
    item = panel.projects.topLevelItem(0)
    pos = QPointF(panel.projects.visualItemRect(item).center())
    event = QDropEvent(pos, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(state.writer.settled, timeout=10_000):
        panel.projects.dropEvent(event)
        assert state.writer.pending == 1  # applied on the write worker, not here
    clips = library.show_project(project)["clips"]
    assert [c["raw_clip"] for c in clips] == uids[:2]
    assert state.undo.stack.count() == 1
    state.undo.undo()
    assert library.show_project(project)["clips"] == []


def test_create_reel_from_clips_is_one_step(qtbot, state: EditorState, library: Library) -> None:
    uids = seeded_clips(library)
    project = create_reel(state, "  Derby  ", AspectRatio.LANDSCAPE, uids[::-1])
    doc = library.show_project(project)
    assert doc["project"]["name"] == "Derby" and doc["project"]["aspect"] == "16:9"
    assert [c["raw_clip"] for c in doc["clips"]] == uids[::-1]
    assert state.undo.stack.count() == 1
    assert parse_tags("goal, #10; goal ,  header  kick") == ["goal", "#10", "header kick"]
    assert parse_tags("#9 #10, #9") == ["#9", "#10"]


# -- frame --------------------------------------------------------------------------------------
def test_frame_panel_speed_trim_rotation_and_aspect(qtbot, state: EditorState, library: Library) -> None:
    _raw, project, wc = open_clip(state, library)  # a 6 s clip at 10–16 s of a 1920x1080 source
    panel = FramePanel(state)
    qtbot.addWidget(panel)
    state.set_media_time(10.0 + 2.0)
    panel.split()
    settle(qtbot)
    state.set_media_time(10.0 + 4.0)
    panel.custom.setValue(0.5)
    panel._preview_speed()
    # 2 s at 1× + 4 s at 0.5×, shown before anything is applied
    assert "(preview)" in panel.duration_label.text() and panel.duration_label.text().startswith("00:10.00")
    assert library.show_project(project)["clips"][0]["output_duration"] == 6.0
    panel.set_speed(0.5)
    settle(qtbot)
    clip = library.show_project(project)["clips"][0]
    assert [s["speed"] for s in clip["edit"]["speeds"]] == [1.0, 0.5]
    assert clip["output_duration"] == pytest.approx(2.0 + 4.0 / 0.5)
    assert panel.duration_label.text() == "00:10.00 of 00:06.00 source"
    panel.drop_edge(first=True)
    settle(qtbot)
    assert library.show_project(project)["clips"][0]["edit"]["trim"] == {"start": 2.0, "end": 6.0}
    panel._clear_trim()
    settle(qtbot)
    assert library.show_project(project)["clips"][0]["edit"]["trim"] is None
    # keyboard nudges of the rotation slider merge into one undo step
    depth = state.undo.stack.count()
    for _ in range(3):
        panel.rotation.triggerAction(panel.rotation.SliderAction.SliderSingleStepAdd)
        settle(qtbot)
    assert library.show_project(project)["clips"][0]["edit"]["rotation"] == pytest.approx(0.3)
    assert state.undo.stack.count() == depth + 1
    state.undo.undo()
    assert library.show_project(project)["clips"][0]["edit"]["rotation"] == 0.0
    panel.apply_straighten(4.0)  # the horizon leans 4° clockwise on screen: turn 4° back
    assert library.show_project(project)["clips"][0]["edit"]["rotation"] == pytest.approx(-4.0)
    panel.aspect.setCurrentIndex(panel.aspect.findData("1:1"))
    panel._aspect_chosen()
    written(qtbot, state)
    assert library.show_project(project)["project"]["aspect"] == "1:1"


def test_copy_and_paste_crop_adds_a_keyframe_with_the_shown_box(qtbot, state: EditorState, library: Library) -> None:
    _raw, project, wc = open_clip(state, library)
    panel = FramePanel(state)
    qtbot.addWidget(panel)
    library.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 1.0, "x": 100.0, "y": 50.0,
                                                              "width": 405.0, "height": 720.0}))
    settle(qtbot)
    state.set_media_time(10.0 + 1.0)
    panel.copy()
    state.set_media_time(10.0 + 5.0)
    panel.paste()
    kfs = library.show_project(project)["clips"][0]["edit"]["crop_keyframes"]
    assert [(k["time"], k["x"], k["y"], k["width"]) for k in kfs] == [(1.0, 100.0, 50.0, 405.0),
                                                                      (5.0, 100.0, 50.0, 405.0)]
    clip = state.clip_doc()
    box = crop_box_at(clip, AspectRatio.PORTRAIT, 5.0)
    assert (box.x, box.y) == (100.0, 50.0)


def test_outdated_range_prompt_uses_the_new_range(qtbot, state: EditorState, library: Library) -> None:
    raw, project, wc = open_clip(state, library)
    panel = FramePanel(state)
    qtbot.addWidget(panel)
    panel.show()
    assert not panel.banner.isVisible()
    library.apply(Gesture(GestureKind.UPDATE_CLIP, raw, {"start": 9.0, "end": 17.0}))
    settle(qtbot)
    assert panel.banner.isVisible()
    panel.use_new.click()
    settle(qtbot)
    src = library.show_project(project)["clips"][0]["source"]
    assert (src["start"], src["end"]) == (9.0, 17.0)
    assert latest_kind(library) == GestureKind.USE_NEW_RANGE.value
    assert not panel.banner.isVisible()


# -- spotlight ----------------------------------------------------------------------------------
def test_spotlight_region_keyframe_and_style(qtbot, state: EditorState, library: Library) -> None:
    _raw, project, wc = open_clip(state, library)
    panel = SpotlightPanel(state)
    qtbot.addWidget(panel)
    state.set_media_time(10.0 + 1.0)
    panel.add_region_at_playhead()
    settle(qtbot)
    region = library.show_project(project)["clips"][0]["edit"]["regions"][0]
    assert (region["start"], region["end"]) == (1.0, 4.0) and len(region["keyframes"]) == 1
    ellipse = region["keyframes"][0]
    assert 0 < ellipse["x"] < 1920 and ellipse["ry"] > ellipse["rx"]
    state.set_media_time(10.0 + 2.5)
    panel.add_keyframe()
    panel.stroke.setValue(7.5)
    panel.shape.setCurrentIndex(panel.shape.findData("ground"))
    panel._style(shape="ground")
    settle(qtbot)
    clip = library.show_project(project)["clips"][0]
    assert [k["time"] for k in clip["edit"]["regions"][0]["keyframes"]] == [1.0, 2.5]
    assert clip["edit"]["overlay_style"]["stroke"] == 7.5 and clip["edit"]["overlay_style"]["shape"] == "ground"
    panel.regions.topLevelItem(0).setCheckState(0, Qt.CheckState.Unchecked)
    assert library.show_project(project)["clips"][0]["edit"]["regions"][0]["enabled"] is False


# -- history and conflicts ----------------------------------------------------------------------
def test_history_lists_versions_and_restores_one(qtbot, state: EditorState, library: Library) -> None:
    _raw, project, wc = open_clip(state, library)
    panel = HistoryPanel(state)
    qtbot.addWidget(panel)
    state.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 5.0}))
    state.apply(Gesture(GestureKind.SPLIT, wc, {"time": 3.0}))
    settle(qtbot)
    assert panel.versions.topLevelItemCount() == 3
    assert "Split" in panel.versions.topLevelItem(0).text(1)
    panel.versions.topLevelItem(2).setSelected(True)  # v1: before the rotation and the split
    assert panel.restore.isEnabled()
    panel.restore_selected()
    edit = library.show_project(project)["clips"][0]["edit"]
    assert edit["rotation"] == 0.0 and edit["splits"] == []
    assert latest_kind(library) == GestureKind.RESTORE_VERSION.value


def test_restore_mine_brings_back_the_lost_edit(qtbot, make_library) -> None:
    a, b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(a)
    k = a.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 1.0, "x": 10.0, "y": 0.0, "width": 405.0,
                                                            "height": 720.0})).created["keyframe"]
    b.merge_remote(a.gestures())
    a.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 11.0}))
    b.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": k, "x": 22.0}))
    a.merge_remote(b.gestures())
    b.merge_remote(a.gestures())
    (conflict,) = a.conflicts()
    loser = next(g for g in a.gestures() if g.op_id == conflict["loser_op_id"])
    mine = a if loser.device_id == a.device_id else b  # the device whose edit lost
    st = EditorState(mine)
    st.set_project(project)
    panel = HistoryPanel(st)
    qtbot.addWidget(panel)
    assert panel.conflicts.topLevelItemCount() == 1 and "(1)" in panel.tabs.tabText(1)
    assert restore_mine(st, mine.conflicts()[0])
    assert mine.show_project(project)["clips"][0]["edit"]["crop_keyframes"][0]["x"] == loser.payload["x"]
    assert mine.conflicts() == []
    panel.refresh()
    assert panel.conflicts.topLevelItemCount() == 0


# -- export -------------------------------------------------------------------------------------
def _job(library: Library, project: str, state: JobState, progress: float, stage: str) -> str:
    from core.ids import new_uid
    uid = new_uid()
    now = datetime.now(timezone.utc)
    with library.transaction() as conn:
        conn.execute(m.ExportJob.__table__.insert().values(
            uid=uid, project_uid=project, state=state.value, progress=progress, stage=stage, eta_s=12.0,
            backend="local", upscaler="none", spec_json="{}", created_at=now, updated_at=now))
    return uid


def test_export_panel_shows_job_progress_and_notifies(qtbot, state: EditorState, hub: TaskHub,
                                                      library: Library) -> None:
    _raw, project, _wc = open_clip(state, library)
    service = ExportService(library, hub)
    panel = ExportPanel(state, service)
    qtbot.addWidget(panel)
    assert "1080×1920" in panel.summary.text() and panel.export_button.isEnabled()
    assert not panel.modal.isEnabled() and panel.modal.toolTip()  # no Modal token: says why
    job = _job(library, project, JobState.RENDERING, 0.42, "rendering")
    panel.refresh_jobs()
    item = panel._rows[job]
    bar = panel.jobs.itemWidget(item, 3)
    assert isinstance(bar, QProgressBar) and bar.value() == 420
    assert item.text(2) == "Rendering" and item.text(4) == "00:12"
    assert panel.timer.isActive()  # polls while a job runs
    with library.transaction() as conn:
        conn.execute(m.ExportJob.__table__.update().where(m.ExportJob.uid == job).values(
            state=JobState.DONE.value, progress=1.0, stage="done", output_path=str(library.exports_dir / "r.mp4")))
    with qtbot.waitSignal(panel.jobFinished, timeout=3000) as done:
        pass
    assert done.args[1] is True and "Gallery" in done.args[0]
    assert item.text(2) == "Done" and not panel.timer.isActive()


def test_export_panel_offers_retry_for_a_failed_job_and_retries_it(qtbot, state: EditorState, hub: TaskHub,
                                                                    library: Library) -> None:
    _raw, project, _wc = open_clip(state, library)
    service = ExportService(library, hub)
    try:
        panel = ExportPanel(state, service)
        qtbot.addWidget(panel)
        uid = service.runner.create(project, start=False)
        service.runner.claim(uid)
        service.runner.fail(uid, "the disk is full")
        panel.refresh_jobs()
        item = panel._rows[uid]
        actions = panel.jobs.itemWidget(item, 5)
        assert item.text(2) == "Failed: the disk is full"
        cancel, retry = (actions.findChild(QToolButton, name) for name in ("cancel", "retry"))
        assert cancel.isHidden() and not retry.isHidden()
        started: list[str] = []
        service.runner.start = started.append  # re-queue only: no render in this test
        with qtbot.waitSignal(service.changed, timeout=5000):
            retry.click()
        assert started == [uid] and service.runner.get(uid).state is JobState.QUEUED
        panel.refresh_jobs()
        assert retry.isHidden() and not cancel.isHidden() and item.text(2) == "Queued (retry)"
    finally:
        service.close()


def test_a_broken_job_runner_fails_loudly(qtbot, hub: TaskHub, library: Library, monkeypatch) -> None:
    # A bug in the export package must surface, never look like a feature missing from this build.
    def broken(self, library: Library) -> None:
        raise RuntimeError("bug in the job runner")

    monkeypatch.setattr(JobRunner, "__init__", broken)
    with pytest.raises(RuntimeError, match="bug in the job runner"):
        ExportService(library, hub)


# -- sync indicator, keymap --------------------------------------------------------------------
def test_sync_indicator_texts() -> None:
    from sync.runtime import SyncState, SyncStatus

    assert describe(SyncStatus(SyncState.SYNCED), None)[1] == "Synced"
    assert describe(SyncStatus(SyncState.PENDING, pending=3), None)[1] == "3 pending"
    assert describe(SyncStatus(SyncState.OFFLINE, pending=2), None)[1] == "Offline · 2 pending"
    assert describe(SyncStatus(SyncState.ERROR, last_error="denied"), None)[1] == "Sync error"
    assert describe(SyncStatus(SyncState.SYNCED, conflicts=2), 40)[1] == "Synced · media 40% · 2 conflicts"
    assert describe(SyncStatus.disabled(), None)[1] == "Sync off"


def test_sync_indicator_follows_a_real_sync(qtbot, library: Library, hub: TaskHub, s3_bucket: dict) -> None:
    from sync.credentials import RemoteConfig, RemoteKind
    from sync.remote import configure_remote

    configure_remote(library, RemoteConfig(RemoteKind.S3, endpoint=s3_bucket["endpoint_url"],
                                           bucket=s3_bucket["bucket"], key_id=s3_bucket["key_id"]),
                     secret=s3_bucket["secret"])
    seed_clip(library)
    controller = SyncController(library, hub)
    indicator = SyncIndicator(controller)
    qtbot.addWidget(indicator)
    assert indicator.text() == "Sync off"
    controller.start()
    try:
        qtbot.waitUntil(lambda: indicator.text().startswith("Synced"), timeout=20_000)
        assert library.pending_count() == 0
        assert s3_bucket["secret"] not in indicator.toolTip()
    finally:
        controller.stop(5.0)


def test_keymap_dialog_lists_every_binding(qtbot) -> None:
    dialog = KeymapDialog()
    qtbot.addWidget(dialog)
    labels = {dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())}
    assert {b.label for b in BINDINGS} <= labels
    for needed in ("Space", "J", "K", "L", "Left", "Shift+Left", "I", "O", "S", "Del", "1", "Ctrl+Z", "Ctrl+Y", "+"):
        assert any(needed in b.keys for b in BINDINGS), needed


def test_thumbnail_cache_cuts_the_strip(qtbot, state: EditorState, hub: TaskHub, library: Library,
                                        tmp_path: Path) -> None:
    from core.media.importer import ImportService
    from tests.fixtures.media import make_video

    (result,) = ImportService(library).import_paths([make_video(tmp_path / "v.mp4", seconds=5.0)])
    thumbs = ThumbnailCache(state, hub)  # no cache worker: generates on the hub
    assert thumbs.pixmap(result.media, 3.0) is None  # asked for; arrives later
    with qtbot.waitSignal(thumbs.ready, timeout=10_000):
        pass
    pm = thumbs.pixmap(result.media, 3.0)
    assert pm is not None and pm.height() == 90


def test_export_panel_runs_a_real_local_export_into_the_gallery(qtbot, state: EditorState, hub: TaskHub,
                                                                library: Library, tmp_path: Path) -> None:
    from core.media.importer import ImportService
    from tests.fixtures.media import make_video

    (result,) = ImportService(library).import_paths([make_video(tmp_path / "tiny.mp4", seconds=1.0)])
    project = create_reel(state, "Tiny", AspectRatio.PORTRAIT, [result.clip])
    service = ExportService(library, hub)
    try:
        panel = ExportPanel(state, service)
        qtbot.addWidget(panel)
        panel.project.setCurrentIndex(panel.project.findData(project))
        panel.quality.setCurrentIndex(0)  # draft: fastest
        assert panel.export_button.isEnabled()
        values: list[int] = []

        def sample() -> None:
            for item in panel._rows.values():
                values.append(panel.jobs.itemWidget(item, 3).value())

        panel.timer.timeout.connect(sample)
        with qtbot.waitSignal(panel.jobFinished, timeout=90_000) as done:
            panel.start_export()
        assert done.args[1] is True, done.args[0]
        sample()
        assert values and values[-1] == 1000 and values == sorted(values)  # progress only grows
        finals = ExportJobs(library).finals()
        assert len(finals) == 1 and Path(finals[0].path).is_file()
        gallery = LibraryPanel(state, hub, ThumbnailCache(state, hub))
        qtbot.addWidget(gallery)
        lists_read(qtbot, gallery)
        open_tab(qtbot, gallery, gallery.gallery)
        assert gallery.gallery.topLevelItemCount() == 1
        assert gallery.gallery.topLevelItem(0).text(1) == "Tiny  v1"
    finally:
        service.close()



def test_the_export_page_offers_the_reel_being_edited(qtbot, state: EditorState, hub: TaskHub,
                                                       library: Library) -> None:
    _raw, first, _wc = open_clip(state, library)
    service = ExportService(library, hub)
    try:
        panel = ExportPanel(state, service)
        qtbot.addWidget(panel)
        assert panel.project.currentData() == first
        # "Create reel" opens the new reel at once; the change event listing it comes after.
        second = library.apply(Gesture(GestureKind.CREATE_PROJECT, None, {"name": "Second", "aspect": "9:16"})).entity
        state.set_project(second)
        panel.refresh()
        assert panel.project.currentData() == second
        panel.project.setCurrentIndex(panel.project.findData(first))  # the editor picks another reel
        panel.refresh()
        assert panel.project.currentData() == first  # a later refresh keeps their choice
    finally:
        service.close()


def test_library_search_finds_a_clip_by_the_name_it_shows(qtbot, state: EditorState, hub: TaskHub,
                                                            library: Library) -> None:
    seed_clip(library)  # marked without a name: its card says "Untitled clip"
    panel = LibraryPanel(state, hub, ThumbnailCache(state, hub))
    qtbot.addWidget(panel)
    lists_read(qtbot, panel)
    panel.search.setText("untitled")
    assert panel.clip_proxy.rowCount() == 1


def test_ctrl_click_selects_several_clips_in_annotate_and_a_rating_rates_them_all(
        qtbot, state: EditorState, library: Library) -> None:
    uids = seeded_clips(library)
    state.set_media(FAKE_HASH)
    panel = AnnotatePanel(state)
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    qtbot.waitExposed(panel)
    view = panel.clip_list

    def click(row: int, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        rect = view.visualItemRect(view.topLevelItem(row))
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())

    click(0)
    click(2, Qt.KeyboardModifier.ControlModifier)
    assert sorted(panel.selected_uids()) == sorted([uids[0], uids[2]])  # the selection is not collapsed
    assert state.raw_clip_uid == uids[2]  # the details show the clip clicked last
    with qtbot.waitSignal(state.writer.settled, timeout=10_000):
        panel.rate(5)
    assert [library.raw_clip(u)["rating"] for u in uids] == [5, 3, 5]
