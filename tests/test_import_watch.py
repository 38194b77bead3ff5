"""Watch folder service: complete files imported exactly once, across restarts, with retries for passing trouble.

The service runs on a FakeClock: the tests move time and wait for the poll thread to go round."""
from __future__ import annotations

import errno
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core.clock import FakeClock
from core.library import Library
from core.media import hashing
from core.media.errors import MediaErrorKind
from core.media.importer import ImportResult, ImportStatus, orphan_media_files
from core.media.watch_service import SEEN_FILE, WatchService, set_watch_folder, watch_folder
from tests.waiting import pass_time, run_clock_until

SETTLE = 0.5
POLL = 0.05
CHUNKS = 8


class Results:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.items: list[tuple[ImportResult, float]] = []
        self.lock = threading.Lock()

    def __call__(self, result: ImportResult) -> None:
        with self.lock:
            self.items.append((result, self.clock.monotonic()))

    @property
    def results(self) -> list[ImportResult]:
        with self.lock:
            return [r for r, _ in self.items]

    def wait_for(self, count: int) -> None:
        run_clock_until(self.clock, lambda: len(self.results) >= count, POLL, what=f"{count} import result(s)")


def quiet_for(clock: FakeClock, seconds: float) -> None:
    """Let ``seconds`` pass with the poll thread going round at every poll (room for a wrong import)."""
    pass_time(clock, seconds, POLL)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def watch_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "Aufnahmen – OBS"
    folder.mkdir()
    return folder


@pytest.fixture
def make_service(library: Library, clock: FakeClock) -> Iterator[Callable[..., WatchService]]:
    started: list[WatchService] = []

    def make(folder: Path | None, on_result: Callable[[ImportResult], None], lib: Library = library,
             **kwargs: Any) -> WatchService:
        service = WatchService(lib, folder, on_result=on_result, settle_s=SETTLE, poll_s=POLL, clock=clock,
                               **kwargs)
        service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


def test_file_written_slowly_is_imported_once_after_complete_and_not_after_restart(
        library: Library, watch_dir: Path, video_set: dict[str, Path], clock: FakeClock,
        make_service: Callable[..., WatchService]) -> None:
    data = video_set["h30"].read_bytes()
    first = Results(clock)
    service = make_service(watch_dir, first)
    target = watch_dir / "Spiel 3 – Höhepunkt.mp4"
    # Written in chunks with pauses shorter than the settle time; the watcher sees every size.
    step = -(-len(data) // CHUNKS)
    with open(target, "wb") as fh:
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            finished_at = clock.monotonic()
            service.track(target)  # what its file-system event does (events arrive in their own time)
            quiet_for(clock, SETTLE * 0.3)
            assert first.results == []  # nothing while it is written
    first.wait_for(1)
    quiet_for(clock, SETTLE * 3)  # room for a wrong second import
    (result,) = first.results
    assert result.status is ImportStatus.IMPORTED and result.path == target
    assert first.items[0][1] >= finished_at + SETTLE
    assert library.media_path(result.media).read_bytes() == data  # the complete file, not a prefix
    assert library.gesture_count() == 2 and len(library.raw_clips()) == 1
    assert (library.root / SEEN_FILE).is_file()
    service.stop()

    # Restart: a new service (memory re-read from the library folder) imports nothing again...
    second = Results(clock)
    make_service(watch_dir, second)
    quiet_for(clock, SETTLE * 3)
    assert second.results == []
    assert library.gesture_count() == 2
    # ...but still imports what is new.
    fresh = watch_dir / "sub folder" / "Spiel 4.mp4"
    fresh.parent.mkdir()
    shutil.copyfile(video_set["pal"], fresh)
    second.wait_for(1)
    quiet_for(clock, SETTLE * 2)
    assert [(r.path, r.status) for r in second.results] == [(fresh, ImportStatus.IMPORTED)]
    assert library.integrity_check() == "ok" and orphan_media_files(library) == []


def test_files_that_arrived_while_closed_are_imported_at_start(
        library: Library, watch_dir: Path, video_set: dict[str, Path],
        clock: FakeClock, make_service: Callable[..., WatchService]) -> None:
    shutil.copyfile(video_set["ntsc"], watch_dir / "old game.mp4")
    shutil.copyfile(video_set["text"], watch_dir / "readme.txt")
    results = Results(clock)
    make_service(watch_dir, results)
    results.wait_for(2)
    quiet_for(clock, SETTLE)
    by_name = {r.path.name: r.status for r in results.results}
    assert by_name == {"old game.mp4": ImportStatus.IMPORTED, "readme.txt": ImportStatus.SKIPPED}
    assert len(library.media_list()) == 1


def test_passing_trouble_is_retried_at_the_next_start(
        library: Library, watch_dir: Path, video_set: dict[str, Path],
        clock: FakeClock, make_service: Callable[..., WatchService], monkeypatch: pytest.MonkeyPatch) -> None:
    target = watch_dir / "still open in the editor.mp4"
    real_open = open

    def locked_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if Path(path) == target:
            exc = PermissionError(errno.EACCES, "Permission denied")
            exc.winerror = 32  # type: ignore[attr-defined]
            raise exc
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(hashing, "open", locked_open, raising=False)
    first = Results(clock)
    service = make_service(watch_dir, first)
    shutil.copyfile(video_set["pal"], target)
    first.wait_for(1)
    (failed,) = first.results
    assert failed.kind is MediaErrorKind.LOCKED
    service.stop()

    monkeypatch.undo()  # the other program let go of the file
    second = Results(clock)
    make_service(watch_dir, second)
    second.wait_for(1)
    assert [r.status for r in second.results] == [ImportStatus.IMPORTED]


def test_a_permanently_bad_file_is_reported_once(
        library: Library, watch_dir: Path, video_set: dict[str, Path],
        clock: FakeClock, make_service: Callable[..., WatchService]) -> None:
    shutil.copyfile(video_set["truncated"], watch_dir / "broken.mp4")
    first = Results(clock)
    service = make_service(watch_dir, first)
    first.wait_for(1)
    assert [r.kind for r in first.results] == [MediaErrorKind.TRUNCATED]
    service.stop()
    second = Results(clock)
    make_service(watch_dir, second)
    quiet_for(clock, SETTLE * 3)
    assert second.results == [] and library.gesture_count() == 0


def test_folder_from_settings_and_library_inside_it_is_ignored(
        make_library: Callable[[str], Library], tmp_path: Path, video_set: dict[str, Path],
        clock: FakeClock, make_service: Callable[..., WatchService]) -> None:
    lib = make_library("Downloads/ReelDesk library")
    with pytest.raises(ValueError, match="no watch folder"):
        WatchService(lib)
    set_watch_folder(lib, tmp_path / "Downloads")
    assert watch_folder(lib) == tmp_path / "Downloads"
    results = Results(clock)
    service = make_service(None, results, lib=lib)
    assert service.folder == tmp_path / "Downloads"
    shutil.copyfile(video_set["h30"], tmp_path / "Downloads" / "clip.mp4")
    results.wait_for(1)
    service.track(lib.media_path(results.results[0].media))  # offered now, not when its event comes
    quiet_for(clock, SETTLE * 2)  # the library's own new media file must not come back as an import
    assert [(r.path.name, r.status) for r in results.results] == [("clip.mp4", ImportStatus.IMPORTED)]
    set_watch_folder(lib, None)
    assert watch_folder(lib) is None
