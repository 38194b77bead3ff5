"""The sync status in plain words and "Sync now" with a real background sync (moto over HTTP)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.library import Library
from desktop.ui.sync_indicator import SyncController, SyncIndicator, describe
from desktop.ui.workers import TaskHub
from tests.fixtures.library import seed_clip


@pytest.fixture
def hub() -> Iterator[TaskHub]:
    h = TaskHub()
    yield h
    h.shutdown()


def test_sync_problems_are_told_apart_in_plain_words_with_the_fix(flaky_proxy) -> None:
    from sync.advice import Problem, classify
    from sync.runtime import SyncState, SyncStatus
    from sync.store import AccessDenied, BucketMissing, StoreUnavailable

    cases = {
        (StoreUnavailable("x"), "http://reeldesk-no-such-host.invalid"): (Problem.OFFLINE, "Offline", "offline"),
        (StoreUnavailable("x"), flaky_proxy.endpoint_url): (Problem.UNREACHABLE, "Server unreachable", "address"),
        (AccessDenied("x"), flaky_proxy.endpoint_url): (Problem.BAD_CREDENTIALS, "Sync key refused", "key ID"),
        (BucketMissing("x"), flaky_proxy.endpoint_url): (Problem.BUCKET_MISSING, "Bucket missing", "Create it"),
    }
    for (exc, endpoint), (problem, label, fix) in cases.items():
        got, advice = classify(exc, endpoint)
        assert got is problem and fix in advice
        state = SyncState.OFFLINE if isinstance(exc, StoreUnavailable) else SyncState.ERROR
        assert describe(SyncStatus(state, problem=got, advice=advice), None)[1] == label


def test_what_waits_and_why_is_in_the_tooltip(qtbot, library: Library, hub: TaskHub) -> None:
    from sync.runtime import SyncState, SyncStatus

    indicator = SyncIndicator(SyncController(library, hub))
    qtbot.addWidget(indicator)
    advice = "device 'edit bay' (x) runs an older ReelDesk ...: update ReelDesk on that computer"
    indicator.show_status(SyncStatus(SyncState.SYNCED, held=(advice,)))
    assert advice in indicator.toolTip().splitlines()


def test_sync_now_shows_that_it_ran_and_its_result(qtbot, library: Library, hub: TaskHub, s3_bucket: dict,
                                                  flaky_proxy) -> None:
    from sync.credentials import RemoteConfig, RemoteKind
    from sync.remote import configure_remote
    from tests.fixtures.s3 import endpoint_down

    configure_remote(library, RemoteConfig(RemoteKind.S3, endpoint=flaky_proxy.endpoint_url,
                                           bucket=s3_bucket["bucket"], key_id=s3_bucket["key_id"]),
                     secret=s3_bucket["secret"])
    seed_clip(library)
    controller = SyncController(library, hub)
    indicator = SyncIndicator(controller)
    qtbot.addWidget(indicator)
    controller.start()
    try:
        qtbot.waitUntil(lambda: indicator.text().startswith("Synced"), timeout=20_000)
        with qtbot.waitSignal(controller.syncNowFinished, timeout=20_000) as done:
            indicator.sync_now.trigger()
            assert indicator.text() == "Syncing now…"
        assert done.args[0] == "Sync now ran: everything is up to date"
        assert indicator.text().startswith("Synced")
        with endpoint_down(flaky_proxy, "refuse"):
            with qtbot.waitSignal(controller.syncNowFinished, timeout=30_000) as done:
                indicator.sync_now.trigger()
            assert done.args[0].startswith("Sync now failed: The sync server 127.0.0.1 does not answer")
            assert indicator.text().startswith("Server unreachable")
            assert "does not answer" in indicator.toolTip()
    finally:
        controller.stop(5.0)



def test_opening_a_clip_whose_media_is_missing_fetches_it(qtbot, make_library, hub: TaskHub,
                                                         s3_bucket: dict) -> None:
    import random

    import blake3

    from core.enums import GestureKind as K
    from core.gestures.model import Gesture
    from sync.credentials import RemoteConfig, RemoteKind
    from sync.media import MediaPolicy, SETTING_POLICY
    from sync.remote import configure_remote
    from tests.test_sync_engine import engine_for, join

    a, b = make_library("a"), make_library("b")
    join(b, a)
    data = random.Random(3).randbytes(50_000)
    h = blake3.blake3(data).hexdigest()
    a.media_path(h).write_bytes(data)
    a.apply(Gesture(K.IMPORT_MEDIA, h, {"info": {"duration": 1.0, "fps_num": 30, "fps_den": 1, "width": 64,
                                                 "height": 64, "rotation": 0, "has_audio": False, "vfr": False}}))
    engine_for(a, s3_bucket).sync_once()
    configure_remote(b, RemoteConfig(RemoteKind.S3, endpoint=s3_bucket["endpoint_url"], bucket=s3_bucket["bucket"],
                                     key_id=s3_bucket["key_id"]), secret=s3_bucket["secret"])
    b.set_setting(SETTING_POLICY, MediaPolicy.ON_DEMAND.value)
    controller = SyncController(b, hub)
    assert controller.fetch_media(h) is False  # sync not running: the window says so
    controller.start()
    try:
        qtbot.waitUntil(lambda: controller.thread is not None and b.media(h) is not None, timeout=20_000)
        assert not b.media_path(h).exists()
        assert controller.fetch_media(h) is True
        qtbot.waitUntil(lambda: b.media_path(h).is_file(), timeout=20_000)
        assert b.media_path(h).read_bytes() == data
    finally:
        controller.stop(5.0)


def test_settings_choose_which_footage_downloads(qtbot, library: Library, hub: TaskHub) -> None:
    from desktop.ui.settings_dialog import SettingsDialog
    from sync.media import SETTING_POLICY, MediaPolicy

    dialog = SettingsDialog(library, hub)
    qtbot.addWidget(dialog)
    assert dialog.media_policy.currentData() == MediaPolicy.REELS.value  # the default
    dialog.media_policy.setCurrentIndex(dialog.media_policy.findData(MediaPolicy.ON_DEMAND.value))
    dialog._save_local()
    assert library.get_setting(SETTING_POLICY) == MediaPolicy.ON_DEMAND.value
    again = SettingsDialog(library, hub)
    qtbot.addWidget(again)
    assert again.media_policy.currentText() == "Only footage I open"
