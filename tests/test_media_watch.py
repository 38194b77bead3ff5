"""Watch folder: a file growing slowly is reported once, after it is complete, and never after a restart.

The watcher runs on a FakeClock: the tests move time, so the settle rule is checked exactly and
"no second report" means the poll thread went round for three settle times without one.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.media.watch import FolderWatcher, JsonSeenStore, MemorySeenStore, seen_key
from tests.waiting import pass_time, run_clock_until

SETTLE = 0.5
POLL = 0.05


class Recorder:
    """Collects on_ready calls with the (fake) time they happened."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[tuple[Path, float]] = []
        self.thread_names: list[str] = []
        self.sizes: list[int] = []

    def __call__(self, path: Path) -> None:
        self.calls.append((path, self.clock.monotonic()))
        self.sizes.append(path.stat().st_size)
        self.thread_names.append(threading.current_thread().name)

    @property
    def paths(self) -> list[Path]:
        return [p for p, _ in self.calls]

    def wait_for(self, count: int) -> None:
        run_clock_until(self.clock, lambda: len(self.calls) >= count, POLL, what=f"{count} report(s)")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def watch_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "Aufnahmen – OBS"
    folder.mkdir()
    return folder


@pytest.fixture
def make_watcher(clock: FakeClock) -> Iterator[Callable[..., FolderWatcher]]:
    started: list[FolderWatcher] = []

    def make(folder: Path, on_ready: Callable[[Path], None], seen: object, **kwargs: object) -> FolderWatcher:
        watcher = FolderWatcher(folder, on_ready, seen=seen, settle_s=SETTLE, poll_s=POLL, clock=clock,
                                **kwargs)
        watcher.start()
        started.append(watcher)
        return watcher

    yield make
    for watcher in started:
        watcher.stop()


def quiet_for(clock: FakeClock, seconds: float) -> None:
    """Let ``seconds`` pass with the poll thread going round at every poll (room for a wrong report)."""
    pass_time(clock, seconds, POLL)


def test_slow_write_reported_once_after_completion_and_not_after_restart(
    watch_dir: Path, tmp_path: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]
) -> None:
    store_path = tmp_path / "state" / "watch-seen.json"
    first = Recorder(clock)
    watcher = make_watcher(watch_dir, first, JsonSeenStore(store_path))
    target = watch_dir / "Spiel 3 – Höhepunkt.mp4"
    # A recorder growing the file: a chunk, then less than the settle time; the watcher sees each size.
    with open(target, "wb") as fh:
        for i in range(8):
            fh.write(bytes([i % 256]) * 64_000)
            fh.flush()
            finished_at = clock.monotonic()
            watcher.track(target)  # what its file-system event does (events arrive in their own time)
            quiet_for(clock, SETTLE * 0.6)
            assert first.calls == []
    first.wait_for(1)
    quiet_for(clock, SETTLE * 3)  # time for a wrong second report
    assert first.paths == [target]
    assert first.calls[0][1] >= finished_at + SETTLE
    assert first.sizes == [8 * 64_000]
    assert first.thread_names[0] != threading.main_thread().name  # runs on the watcher's thread
    watcher.stop()

    # "Restart": a new watcher with a store re-read from disk, scanning what is already there.
    second = Recorder(clock)
    restarted = make_watcher(watch_dir, second, JsonSeenStore(store_path))
    restarted.scan_existing()
    fresh = watch_dir / "Spiel 4.mp4"
    fresh.write_bytes(b"\x00" * 1000)
    second.wait_for(1)
    quiet_for(clock, SETTLE * 2)
    assert second.paths == [fresh]


def test_files_that_arrived_while_closed_are_found_by_scan(
    watch_dir: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]
) -> None:
    (watch_dir / "sub").mkdir()
    existing = watch_dir / "sub" / "old game.mkv"
    existing.write_bytes(b"x" * 100)
    recorder = Recorder(clock)
    make_watcher(watch_dir, recorder, MemorySeenStore()).scan_existing()
    recorder.wait_for(1)
    quiet_for(clock, SETTLE)
    assert recorder.paths == [existing]


def test_ignores_empty_hidden_and_in_progress_files_until_renamed(
    watch_dir: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]
) -> None:
    recorder = Recorder(clock)
    watcher = make_watcher(watch_dir, recorder, MemorySeenStore())
    (watch_dir / "empty.mp4").write_bytes(b"")
    (watch_dir / ".hidden.mp4").write_bytes(b"x" * 10)
    download = watch_dir / "clip.mp4.crdownload"
    download.write_bytes(b"x" * 10)
    watcher.scan_existing()  # every file offered now, not whenever its event arrives
    quiet_for(clock, SETTLE * 2.5)
    assert recorder.paths == []
    done = download.with_name("clip.mp4")
    download.rename(done)  # the browser finishes the download
    recorder.wait_for(1)
    quiet_for(clock, SETTLE)
    assert recorder.paths == [done]


def test_rewritten_file_is_a_new_version(
    watch_dir: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]
) -> None:
    recorder = Recorder(clock)
    make_watcher(watch_dir, recorder, MemorySeenStore())
    clip = watch_dir / "replay.mp4"
    clip.write_bytes(b"a" * 10)
    recorder.wait_for(1)
    clip.write_bytes(b"b" * 20)  # the recorder overwrote it with a new take
    recorder.wait_for(2)
    quiet_for(clock, SETTLE)
    assert recorder.paths == [clip, clip]


def test_handler_errors_do_not_cause_repeats(
    watch_dir: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]
) -> None:
    calls: list[Path] = []

    def failing(path: Path) -> None:
        calls.append(path)
        raise RuntimeError("import failed")

    make_watcher(watch_dir, failing, MemorySeenStore())
    (watch_dir / "bad.mp4").write_bytes(b"x" * 10)
    run_clock_until(clock, lambda: bool(calls), POLL, what="the handler call")
    quiet_for(clock, SETTLE * 2)
    assert calls == [watch_dir / "bad.mp4"]


def test_accept_filter(watch_dir: Path, clock: FakeClock, make_watcher: Callable[..., FolderWatcher]) -> None:
    recorder = Recorder(clock)
    watcher = make_watcher(watch_dir, recorder, MemorySeenStore(), accept=lambda p: p.suffix == ".mp4")
    (watch_dir / "notes.txt").write_text("hi", encoding="utf-8")
    (watch_dir / "goal.mp4").write_bytes(b"x")
    watcher.scan_existing()
    recorder.wait_for(1)
    quiet_for(clock, SETTLE)
    assert recorder.paths == [watch_dir / "goal.mp4"]


def test_json_seen_store_round_trip_and_damage(tmp_path: Path) -> None:
    path = tmp_path / "seen.json"
    store = JsonSeenStore(path)
    key = seen_key(tmp_path / "Tor 名場面.mp4", 123, 456)
    assert not store.has(key)
    store.add(key)
    store.add(key)
    assert JsonSeenStore(path).has(key)
    assert json.loads(path.read_text(encoding="utf-8"))["seen"] == [list(key)]
    assert [p.name for p in tmp_path.iterdir()] == ["seen.json"]  # no temp file left

    path.write_text("{not json", encoding="utf-8")
    damaged = JsonSeenStore(path)
    assert not damaged.has(key)
    assert any(p.name.startswith("seen.json.damaged-") for p in tmp_path.iterdir())  # kept aside


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from core.media.errors import MediaError, MediaErrorKind

    watcher = FolderWatcher(tmp_path / "nope", lambda p: None, seen=MemorySeenStore())
    with pytest.raises(MediaError) as caught:
        watcher.start()
    assert caught.value.kind is MediaErrorKind.NOT_FOUND
