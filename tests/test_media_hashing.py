"""BLAKE3 copy / link into the media folder: one read, atomic, cancellable, nothing partial left behind."""
from __future__ import annotations

import errno
import io
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import blake3
import pytest

from core.media import hashing
from core.media.errors import ImportCancelled, MediaError, MediaErrorKind
from core.media.hashing import copy_and_hash, hash_file, link_and_hash, sweep_temp_files

CHUNK = 16 * 1024  # small chunks so the fixtures (~80 KB) take several rounds


@pytest.fixture
def source(video_set: dict[str, Path], tmp_path: Path) -> Path:
    """A private copy of a fixture video that a test may delete or change."""
    path = tmp_path / "src" / "game 1.mp4"
    path.parent.mkdir()
    shutil.copyfile(video_set["h30"], path)
    return path


def expected_hash(path: Path) -> str:
    return blake3.blake3(path.read_bytes()).hexdigest()


def entries(folder: Path) -> list[str]:
    """Everything in a folder, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


class CountingReader:
    """Wraps a file opened for reading and counts the bytes read through it."""

    def __init__(self, inner: io.BufferedReader, counter: dict[str, int]) -> None:
        self.inner, self.counter = inner, counter

    def readinto(self, buffer: Any) -> int:
        n = self.inner.readinto(buffer)
        self.counter["bytes"] += n or 0
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> CountingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.close()


def patch_open(monkeypatch: pytest.MonkeyPatch, wrap: Any) -> None:
    """Replace ``open`` inside core.media.hashing only; ``wrap(path, mode, real_open)``."""
    real_open = open

    def fake_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        return wrap(Path(path), mode, lambda: real_open(path, mode, *args, **kwargs))

    monkeypatch.setattr(hashing, "open", fake_open, raising=False)


def test_hash_file_is_blake3(source: Path) -> None:
    assert hash_file(source) == expected_hash(source)
    assert hash_file(source, chunk=1000) == expected_hash(source)


def test_copy_names_the_file_by_its_hash(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "library" / "media"
    calls: list[tuple[int, int]] = []
    digest, final = copy_and_hash(source, media, progress=lambda d, t: calls.append((d, t)), chunk=CHUNK)
    size = source.stat().st_size
    assert digest == expected_hash(source)
    assert final == media / digest
    assert final.read_bytes() == source.read_bytes()
    assert entries(media) == [digest]  # no temp file left
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert all(t == size for _, t in calls)


def test_source_is_read_exactly_once(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = {"bytes": 0}

    def wrap(path: Path, mode: str, real: Any) -> Any:
        return CountingReader(real(), counter) if path == source else real()

    patch_open(monkeypatch, wrap)
    copy_and_hash(source, tmp_path / "media", chunk=CHUNK)
    assert counter["bytes"] == source.stat().st_size


def test_same_content_twice_is_stored_once(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    first = copy_and_hash(source, media)
    twin = source.with_name("copy of game.mp4")
    shutil.copyfile(source, twin)
    assert copy_and_hash(twin, media) == first
    assert entries(media) == [first[0]]


def test_cancel_leaves_nothing(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    progress: list[int] = []
    with pytest.raises(ImportCancelled):
        copy_and_hash(source, media, progress=lambda d, t: progress.append(d),
                      cancelled=lambda: len(progress) > 2, chunk=CHUNK)
    assert entries(media) == []
    assert expected_hash(source)  # the source is untouched and readable


def test_disk_full_is_reported_and_cleaned(source: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    media = tmp_path / "media"
    writes = {"n": 0}
    real_write = hashing._write_chunk

    def full_disk(out: Any, data: memoryview) -> None:
        writes["n"] += 1
        if writes["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(out, data)

    monkeypatch.setattr(hashing, "_write_chunk", full_disk)
    before = source.read_bytes()
    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, media, chunk=CHUNK)
    assert caught.value.kind is MediaErrorKind.DISK_FULL
    assert caught.value.message == "not enough space on the destination disk"
    assert caught.value.path == source  # reported against the user's file, not a temp name
    assert entries(media) == []
    assert source.read_bytes() == before


def test_disk_full_at_fsync(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hashing.os, "fsync", no_space)
    with pytest.raises(MediaError, match="not enough space"):
        copy_and_hash(source, tmp_path / "media")
    assert entries(tmp_path / "media") == []


@pytest.mark.skipif(os.name == "nt", reason="Windows refuses to delete a file that is open")
def test_source_deleted_mid_copy(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"

    def progress(done: int, total: int) -> None:
        if done and source.exists():
            source.unlink()

    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, media, progress=progress, chunk=CHUNK)
    assert caught.value.kind is MediaErrorKind.DISAPPEARED
    assert caught.value.message == "the file disappeared during the copy"
    assert entries(media) == []


@pytest.mark.parametrize(
    "error",
    [FileNotFoundError(errno.ENOENT, "gone"), OSError(errno.ENODEV, "No such device")],
    ids=["not-found", "device-gone"],
)
def test_source_vanishing_during_reads(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       error: OSError) -> None:
    class Vanishing(CountingReader):
        def readinto(self, buffer: Any) -> int:
            if self.counter["bytes"]:
                raise error
            return super().readinto(buffer)

    patch_open(monkeypatch, lambda p, m, real: Vanishing(real(), {"bytes": 0}) if p == source else real())
    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, tmp_path / "media", chunk=CHUNK)
    assert caught.value.kind is MediaErrorKind.DISAPPEARED
    assert entries(tmp_path / "media") == []


def test_source_changing_mid_copy(source: Path, tmp_path: Path) -> None:
    def progress(done: int, total: int) -> None:
        if done == CHUNK:
            with open(source, "r+b") as fh:  # a recorder still writing / a sync tool rewriting
                fh.truncate(total // 2)

    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, tmp_path / "media", progress=progress, chunk=CHUNK)
    assert caught.value.kind is MediaErrorKind.SOURCE_CHANGED
    assert entries(tmp_path / "media") == []


@pytest.mark.parametrize(
    ("winerror", "kind", "text"),
    [
        (32, MediaErrorKind.LOCKED, "in use by another program"),
        (None, MediaErrorKind.PERMISSION, "permission denied"),
    ],
    ids=["locked", "denied"],
)
def test_unreadable_source(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                           winerror: int | None, kind: MediaErrorKind, text: str) -> None:
    def wrap(path: Path, mode: str, real: Any) -> Any:
        if path == source:
            exc = PermissionError(errno.EACCES, "Permission denied")
            if winerror is not None:
                exc.winerror = winerror  # Windows: sharing violation on a file another program holds
            raise exc
        return real()

    patch_open(monkeypatch, wrap)
    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, tmp_path / "media")
    assert caught.value.kind is kind
    assert text in caught.value.message
    assert entries(tmp_path / "media") == []


def test_unwritable_destination(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def wrap(path: Path, mode: str, real: Any) -> Any:
        if "x" in mode:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real()

    patch_open(monkeypatch, wrap)
    with pytest.raises(MediaError) as caught:
        copy_and_hash(source, tmp_path / "media")
    assert caught.value.kind is MediaErrorKind.PERMISSION
    assert "media folder" in caught.value.message


def test_read_only_source_imports_as_writable_copy(source: Path, tmp_path: Path) -> None:
    source.chmod(stat.S_IREAD)
    try:
        digest, final = copy_and_hash(source, tmp_path / "media")
    finally:
        source.chmod(stat.S_IREAD | stat.S_IWRITE)
    assert digest == expected_hash(source)
    assert final.stat().st_mode & stat.S_IWRITE  # the library can delete its copy later (Windows)


def test_empty_and_missing_sources(video_set: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MediaError) as caught:
        copy_and_hash(video_set["empty"], tmp_path / "media")
    assert caught.value.message == "empty file (0 bytes)"
    with pytest.raises(MediaError) as caught:
        copy_and_hash(tmp_path / "nope.mp4", tmp_path / "media")
    assert caught.value.kind is MediaErrorKind.NOT_FOUND
    assert entries(tmp_path / "media") == []


def test_nonascii_paths(source: Path, nonascii_dir: Path) -> None:
    src = nonascii_dir / "Halbzeit – 2 名場面.mp4"
    shutil.copyfile(source, src)
    digest, final = copy_and_hash(src, nonascii_dir / "Bibliothek ü" / "media")
    assert final.read_bytes() == src.read_bytes()
    assert digest == expected_hash(src)


def test_link_on_same_volume(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    calls: list[int] = []
    digest, final = link_and_hash(source, media, progress=lambda d, t: calls.append(d), chunk=CHUNK)
    assert digest == expected_hash(source)
    assert final.stat().st_nlink == 2  # shares the bytes with the original
    assert os.path.samefile(final, source)
    assert entries(media) == [digest]
    assert calls[-1] == source.stat().st_size


def test_link_falls_back_to_copy_across_volumes(source: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def cross_device(src: Any, dst: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(hashing.os, "link", cross_device)
    digest, final = link_and_hash(source, tmp_path / "media")
    assert digest == expected_hash(source)
    assert not os.path.samefile(final, source)
    assert final.read_bytes() == source.read_bytes()


def test_link_cancel_leaves_nothing_and_keeps_source(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    before = source.read_bytes()
    with pytest.raises(ImportCancelled):
        link_and_hash(source, media, cancelled=lambda: True)
    assert entries(media) == []
    assert source.read_bytes() == before and source.stat().st_nlink == 1


def test_sweep_removes_crash_leftovers(source: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    digest, _ = copy_and_hash(source, media)
    (media / f"{hashing.TEMP_PREFIX}dead{hashing.TEMP_SUFFIX}").write_bytes(b"partial")
    assert sweep_temp_files(media) == 1
    assert entries(media) == [digest]
