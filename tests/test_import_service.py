"""Import service on real generated videos: probing, dedupe, games, cancellation and every bad input."""
from __future__ import annotations

import errno
import os
import shutil
import stat
from fractions import Fraction
from pathlib import Path
from typing import Any

import blake3
import pytest
from sqlalchemy import select

from core.db import models as m
from core.library import Library
from core.media import detect, hashing, importer
from core.media.errors import MediaErrorKind
from core.media.hashing import TEMP_PREFIX
from core.media.importer import (
    ImportProgress,
    ImportResult,
    ImportService,
    ImportStatus,
    orphan_media_files,
    sweep_stale_temp_files,
)
from tests.fixtures.media import truncate_file

CHUNK = 16 * 1024  # small chunks: the ~80 KB fixtures take several progress rounds


def copy_in(video_set: dict[str, Path], name: str, dest: Path) -> Path:
    """A private copy of a fixture file that a test may delete, lock or change."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(video_set[name], dest)
    return dest


def assert_library_clean(lib: Library) -> None:
    """Integrity ok, every file in media/ is a known media (no orphans, no temp files)."""
    assert lib.integrity_check() == "ok"
    assert orphan_media_files(lib) == []
    known = {row["hash"] for row in lib.media_list()}
    assert {p.name for p in lib.media_dir.iterdir()} == known
    for h in known:
        assert blake3.blake3(lib.media_path(h).read_bytes()).hexdigest() == h


def games(lib: Library) -> list[tuple[str, str, list[str]]]:
    with lib.read() as conn:
        rows = conn.execute(select(m.Game.uid, m.Game.name)).all()
        out = []
        for uid, name in rows:
            media = conn.execute(select(m.GameMedia.media_hash).where(m.GameMedia.game_uid == uid)
                                 .order_by(m.GameMedia.position)).scalars().all()
            out.append((uid, name, list(media)))
        return out


@pytest.fixture
def service(library: Library) -> ImportService:
    return ImportService(library, chunk=CHUNK)


# -- good input --------------------------------------------------------------------------------
def test_imports_each_kind_of_video_with_its_facts_and_a_whole_file_clip(
        library: Library, service: ImportService, video_set: dict[str, Path]) -> None:
    names = ["h30", "ntsc", "p60", "pal", "portrait", "rotated", "noaudio", "vfr"]
    results = service.import_paths([video_set[n] for n in names])
    assert [r.status for r in results] == [ImportStatus.IMPORTED] * len(names)
    facts = {n: library.media(r.media) for n, r in zip(names, results, strict=True)}
    assert Fraction(facts["ntsc"]["fps_num"], facts["ntsc"]["fps_den"]) == Fraction(30000, 1001)
    assert Fraction(facts["p60"]["fps_num"], facts["p60"]["fps_den"]) == Fraction(60000, 1001)
    assert Fraction(facts["pal"]["fps_num"], facts["pal"]["fps_den"]) == 25
    assert (facts["portrait"]["width"], facts["portrait"]["height"]) == (180, 320)
    assert facts["rotated"]["rotation"] == 90
    assert facts["noaudio"]["has_audio"] is False and facts["h30"]["has_audio"] is True
    assert facts["vfr"]["vfr"] is True and facts["h30"]["vfr"] is False
    for name, r in zip(names, results, strict=True):
        assert r.media == blake3.blake3(video_set[name].read_bytes()).hexdigest()
        assert facts[name]["name"] == video_set[name].name
        (clip,) = library.raw_clips(r.media)
        assert clip["uid"] == r.clip and clip["name"] == name and clip["start"] == 0.0
        assert clip["end"] == pytest.approx(facts[name]["duration"])
        assert r.to_json() == {"path": str(video_set[name]), "media": r.media, "clip": r.clip}
    assert library.gesture_count() == 2 * len(names)  # import_media + mark_clip each
    assert_library_clean(library)


def test_progress_reports_bytes_per_file_and_overall(service: ImportService, video_set: dict[str, Path]) -> None:
    paths = [video_set["h30"], video_set["pal"]]
    sizes = [p.stat().st_size for p in paths]
    events: list[ImportProgress] = []
    service.import_paths(paths, progress=events.append)
    assert {e.file_count for e in events} == {2}
    assert {e.overall_total for e in events} == {sum(sizes)}
    overall = [e.overall_done for e in events]
    assert overall == sorted(overall) and overall[-1] == sum(sizes)
    for index, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        mine = [e for e in events if e.file_index == index]
        assert {e.path for e in mine} == {path} and {e.bytes_total for e in mine} == {size}
        assert mine[0].bytes_done == 0 and mine[-1].bytes_done == size
        assert len(mine) > 3  # several chunks, so a bar moves within a file
    assert events[-1].fraction == 1.0


def test_same_bytes_twice_is_one_media_and_reports_the_existing_clip(
        library: Library, service: ImportService, video_set: dict[str, Path], tmp_path: Path) -> None:
    twin = copy_in(video_set, "h30", tmp_path / "elsewhere" / "same game, other name.mp4")
    # The same path named twice counts once; the same bytes under another name are a duplicate.
    first, again = service.import_paths([video_set["h30"], video_set["h30"], twin])
    (other,) = service.import_paths([twin])
    assert first.status is ImportStatus.IMPORTED
    for dup in (again, other):
        assert dup.status is ImportStatus.DUPLICATE
        assert (dup.media, dup.clip) == (first.media, first.clip)
        assert dup.to_json() == {"path": str(dup.path), "media": first.media, "clip": first.clip,
                                 "duplicate": True}
    before = library.gesture_count()
    (later,) = service.import_paths([video_set["h30"]])  # a later session: still nothing new
    assert (later.status, later.clip) == (ImportStatus.DUPLICATE, first.clip)
    assert library.gesture_count() == before == 2
    assert len(library.media_list()) == 1 and len(library.raw_clips()) == 1
    assert_library_clean(library)


def test_folders_expand_recursively_and_filter_by_content(
        library: Library, service: ImportService, video_set: dict[str, Path], nonascii_dir: Path) -> None:
    # A camera-card dump: videos with odd or no extensions, sidecars, a damaged clip, hidden litter.
    copy_in(video_set, "h30", nonascii_dir / "DCIM" / "100GOPRO" / "GX010001.MP4")
    copy_in(video_set, "pal", nonascii_dir / "DCIM" / "clip without extension")
    copy_in(video_set, "image", nonascii_dir / "DCIM" / "100GOPRO" / "GX010001.THM")
    copy_in(video_set, "audio_only", nonascii_dir / "voice memo.m4a")
    copy_in(video_set, "text", nonascii_dir / "notes.mp4")
    copy_in(video_set, "empty", nonascii_dir / "placeholder.mp4")
    copy_in(video_set, "truncated", nonascii_dir / "Halbzeit 2 – abgebrochen.mp4")
    copy_in(video_set, "noaudio", nonascii_dir / ".hidden.mp4")
    results = {r.path.name: r for r in service.import_paths([nonascii_dir])}
    assert {n: r.status for n, r in results.items()} == {
        "GX010001.MP4": ImportStatus.IMPORTED,
        "clip without extension": ImportStatus.IMPORTED,
        "GX010001.THM": ImportStatus.SKIPPED,
        "voice memo.m4a": ImportStatus.SKIPPED,
        "notes.mp4": ImportStatus.SKIPPED,
        "placeholder.mp4": ImportStatus.SKIPPED,
        "Halbzeit 2 – abgebrochen.mp4": ImportStatus.ERROR,
    }
    assert results["notes.mp4"].to_json() == {"path": str(nonascii_dir / "notes.mp4"), "skipped": "not a media file"}
    assert "truncated" in results["Halbzeit 2 – abgebrochen.mp4"].error
    assert {c["name"] for c in library.raw_clips()} == {"GX010001", "clip without extension"}
    assert_library_clean(library)


def test_non_ascii_path_with_spaces(library: Library, service: ImportService, video_set: dict[str, Path],
                                    nonascii_dir: Path) -> None:
    src = copy_in(video_set, "rotated", nonascii_dir / "Spiel 1 – Höhepunkt 名場面.mp4")
    (r,) = service.import_paths([src])
    assert r.status is ImportStatus.IMPORTED
    assert library.media(r.media)["name"] == src.name
    assert library.raw_clips()[0]["name"] == "Spiel 1 – Höhepunkt 名場面"
    assert library.media_path(r.media).read_bytes() == src.read_bytes()


def test_link_instead_of_copy(library: Library, service: ImportService, video_set: dict[str, Path],
                              tmp_path: Path) -> None:
    src = copy_in(video_set, "h30", tmp_path / "huge" / "game.mp4")
    (r,) = service.import_paths([src], link=True)
    assert r.status is ImportStatus.IMPORTED
    assert os.path.samefile(library.media_path(r.media), src)
    assert_library_clean(library)


# -- games -------------------------------------------------------------------------------------
def test_game_of_two_halves(library: Library, service: ImportService, video_set: dict[str, Path],
                            tmp_path: Path) -> None:
    first = copy_in(video_set, "h30", tmp_path / "Final" / "2. Halbzeit.mp4")
    second = copy_in(video_set, "ntsc", tmp_path / "Final" / "1. Halbzeit.mp4")
    broken = video_set["truncated"]
    results = service.import_paths([first, broken, second], game_name="  Cup final  ")
    assert [r.status for r in results] == [ImportStatus.IMPORTED, ImportStatus.ERROR, ImportStatus.IMPORTED]
    ((game, name, media),) = games(library)
    assert name == "Cup final"
    assert media == [results[0].media, results[2].media]  # argument order, not name order
    assert library.raw_clips() == []  # a game is marked later, no whole-file clips
    assert [r.game for r in results] == [game, None, game]
    assert results[0].to_json() == {"path": str(first), "media": results[0].media, "game": game}
    assert library.gesture_count() == 3  # two import_media + one create_game
    assert_library_clean(library)


def test_game_validation_happens_before_any_work(library: Library, service: ImportService,
                                                 video_set: dict[str, Path], tmp_path: Path) -> None:
    parts = [copy_in(video_set, "h30", tmp_path / "parts" / f"part {i:02d}.mp4") for i in range(17)]
    with pytest.raises(ValueError, match="at most 16"):
        service.import_paths([tmp_path / "parts"], game_name="Too many")
    with pytest.raises(ValueError, match="empty"):
        service.import_paths(parts[:2], game_name="   ")
    assert library.gesture_count() == 0 and list(library.media_dir.iterdir()) == []


def test_game_with_nothing_importable_creates_no_game(library: Library, service: ImportService,
                                                      video_set: dict[str, Path]) -> None:
    (r,) = service.import_paths([video_set["text"]], game_name="Empty")
    assert r.status is ImportStatus.ERROR and games(library) == []


# -- bad input ---------------------------------------------------------------------------------
def test_each_bad_input_gets_a_clear_message_and_the_batch_continues(
        library: Library, service: ImportService, video_set: dict[str, Path], tmp_path: Path) -> None:
    bad = {
        "text": (MediaErrorKind.NOT_MEDIA, "not a media file"),
        "empty": (MediaErrorKind.EMPTY, "empty file (0 bytes)"),
        "truncated": (MediaErrorKind.TRUNCATED, "truncated or damaged video (no index / moov atom)"),
        "audio_only": (MediaErrorKind.AUDIO_ONLY, "not a video: no video stream (audio only)"),
        "image": (MediaErrorKind.IMAGE, "an image, not a video"),
    }
    paths = [video_set[k] for k in bad] + [tmp_path / "missing.mp4", tmp_path, video_set["noaudio"]]
    results = service.import_paths(paths[:-2] + [paths[-1]])
    for (name, (kind, message)), r in zip(bad.items(), results, strict=False):
        assert (r.status, r.kind, r.error) == (ImportStatus.ERROR, kind, message), name
        assert r.to_json() == {"path": str(video_set[name]), "error": message}
    assert (results[5].kind, results[5].error) == (MediaErrorKind.NOT_FOUND, "file not found")
    assert results[-1].status is ImportStatus.IMPORTED  # after all the bad ones
    assert library.gesture_count() == 2
    assert_library_clean(library)


@pytest.mark.skipif(os.name == "nt", reason="Windows refuses to delete a file that is open")
def test_file_disappearing_mid_copy(library: Library, service: ImportService, video_set: dict[str, Path],
                                    tmp_path: Path) -> None:
    victim = copy_in(video_set, "h30", tmp_path / "usb" / "game.mp4")

    def progress(p: ImportProgress) -> None:
        if p.path == victim and p.bytes_done >= CHUNK and victim.exists():
            victim.unlink()  # the USB stick was pulled

    gone, good = service.import_paths([victim, video_set["pal"]], progress=progress)
    assert (gone.kind, gone.error) == (MediaErrorKind.DISAPPEARED, "the file disappeared during the copy")
    assert good.status is ImportStatus.IMPORTED
    assert library.gesture_count() == 2
    assert_library_clean(library)


def test_file_changing_mid_copy(library: Library, service: ImportService, video_set: dict[str, Path],
                                tmp_path: Path) -> None:
    growing = copy_in(video_set, "h30", tmp_path / "obs" / "recording.mp4")

    def progress(p: ImportProgress) -> None:
        if p.path == growing and p.bytes_done == CHUNK:
            with open(growing, "ab") as fh:  # the recorder is still writing
                fh.write(b"\x00" * 1000)

    (r,) = service.import_paths([growing], progress=progress)
    assert r.kind is MediaErrorKind.SOURCE_CHANGED and "changed during the copy" in r.error
    assert library.gesture_count() == 0
    assert_library_clean(library)


def test_copy_that_no_longer_probes_is_discarded(library: Library, service: ImportService,
                                                 video_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    real_probe = importer.probe
    bad_hash = blake3.blake3(video_set["h30"].read_bytes()).hexdigest()

    def probe(path: Path) -> Any:
        if path.parent == library.media_dir and path.name == bad_hash:  # swapped mid-copy, unnoticed
            truncate_file(path, 0.5)
        return real_probe(path)

    monkeypatch.setattr(importer, "probe", probe)
    bad, good = service.import_paths([video_set["h30"], video_set["pal"]])
    assert bad.kind is MediaErrorKind.SOURCE_CHANGED and "did it change during the copy" in bad.error
    assert good.status is ImportStatus.IMPORTED
    assert_library_clean(library)


def test_read_only_source_and_folder_import_fine(library: Library, service: ImportService,
                                                 video_set: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "card"
    src = copy_in(video_set, "pal", folder / "read only.mp4")
    src.chmod(stat.S_IREAD)
    folder.chmod(stat.S_IREAD | stat.S_IEXEC)
    try:
        (r,) = service.import_paths([folder])
    finally:
        folder.chmod(stat.S_IRWXU)
        src.chmod(stat.S_IREAD | stat.S_IWRITE)
    assert r.status is ImportStatus.IMPORTED
    stored = library.media_path(r.media)
    assert stored.stat().st_mode & stat.S_IWRITE  # the library can delete its copy later (Windows)
    assert_library_clean(library)


def test_full_destination_disk(library: Library, service: ImportService, video_set: dict[str, Path],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = hashing._write_chunk
    state = {"writes": 0, "full": True}

    def write(out: Any, data: memoryview) -> None:
        state["writes"] += 1
        if state["full"] and state["writes"] == 3:
            state["full"] = False  # the user freed some space before the next file
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(out, data)

    monkeypatch.setattr(hashing, "_write_chunk", write)
    full, good = service.import_paths([video_set["h30"], video_set["pal"]])
    assert (full.kind, full.error) == (MediaErrorKind.DISK_FULL, "not enough space on the destination disk")
    assert good.status is ImportStatus.IMPORTED
    assert library.gesture_count() == 2
    assert_library_clean(library)


@pytest.mark.parametrize("stage", ["probe", "copy"])
def test_file_locked_by_another_program(library: Library, service: ImportService, video_set: dict[str, Path],
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    locked = copy_in(video_set, "h30", tmp_path / "live" / "OBS recording.mp4")
    module = detect if stage == "probe" else hashing
    real_open = open

    def fake_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if Path(path) == locked:
            exc = PermissionError(errno.EACCES, "Permission denied")
            exc.winerror = 32  # type: ignore[attr-defined]  # Windows sharing violation
            raise exc
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(module, "open", fake_open, raising=False)
    bad, good = service.import_paths([locked, video_set["pal"]])
    assert bad.kind is MediaErrorKind.LOCKED
    assert bad.error == "the file is in use by another program (close it and try again)"
    assert good.status is ImportStatus.IMPORTED
    assert_library_clean(library)


# -- cancellation ------------------------------------------------------------------------------
def test_cancel_mid_copy_leaves_no_partial_file_and_no_rows(
        library: Library, service: ImportService, video_set: dict[str, Path]) -> None:
    paths = [video_set["h30"], video_set["pal"], video_set["ntsc"]]
    flag = {"cancel": False}
    seen_temp: list[bool] = []

    def progress(p: ImportProgress) -> None:
        if p.file_index == 1 and p.bytes_done >= 2 * CHUNK:
            seen_temp.append(any(f.name.startswith(TEMP_PREFIX) for f in library.media_dir.iterdir()))
            flag["cancel"] = True  # the user pressed Cancel while the second file was copying

    results = service.import_paths(paths, progress=progress, cancelled=lambda: flag["cancel"])
    assert seen_temp and seen_temp[0]  # it really was mid-copy
    assert [r.status for r in results] == [ImportStatus.IMPORTED, ImportStatus.CANCELLED, ImportStatus.CANCELLED]
    assert results[1].to_json() == {"path": str(paths[1]), "error": "import cancelled", "cancelled": True}
    assert library.gesture_count() == 2  # only the first file's
    assert [p.name for p in library.media_dir.iterdir()] == [results[0].media]
    assert_library_clean(library)


def test_cancel_after_the_last_byte_still_keeps_nothing(
        library: Library, service: ImportService, video_set: dict[str, Path]) -> None:
    size = video_set["pal"].stat().st_size
    flag = {"cancel": False}

    def progress(p: ImportProgress) -> None:
        if p.bytes_done == size:
            flag["cancel"] = True

    (r,) = service.import_paths([video_set["pal"]], progress=progress, cancelled=lambda: flag["cancel"])
    assert r.status is ImportStatus.CANCELLED
    assert library.gesture_count() == 0 and list(library.media_dir.iterdir()) == []


def test_cancel_of_a_game_creates_no_game(library: Library, service: ImportService,
                                          video_set: dict[str, Path]) -> None:
    flag = {"cancel": False}

    def progress(p: ImportProgress) -> None:
        flag["cancel"] = p.file_index == 1

    results = service.import_paths([video_set["h30"], video_set["pal"]], game_name="Half done",
                                   progress=progress, cancelled=lambda: flag["cancel"])
    assert [r.status for r in results] == [ImportStatus.IMPORTED, ImportStatus.CANCELLED]
    assert games(library) == [] and results[0].game is None
    assert_library_clean(library)


# -- housekeeping ------------------------------------------------------------------------------
def test_stale_temp_files_from_a_crash_are_swept(library: Library, tmp_path: Path) -> None:
    old = library.media_dir / f"{TEMP_PREFIX}crashed{hashing.TEMP_SUFFIX}"
    fresh = library.media_dir / f"{TEMP_PREFIX}running{hashing.TEMP_SUFFIX}"
    old.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    os.utime(old, (1_000_000, 1_000_000))
    assert sweep_stale_temp_files(library.media_dir) == 1
    assert not old.exists() and fresh.exists()  # a running import's temp file is left alone
    ImportService(library)  # the service sweeps on start-up too
    assert fresh.exists()


def test_result_json_shapes() -> None:
    p = Path("x.mp4")
    assert ImportResult(p, ImportStatus.ERROR, error="bad").to_json() == {"path": "x.mp4", "error": "bad"}
    assert ImportResult(p, ImportStatus.SKIPPED, error="an image").to_json() == {"path": "x.mp4",
                                                                                 "skipped": "an image"}
    assert ImportResult(p, ImportStatus.DUPLICATE, media="h", clip="c").to_json() == {
        "path": "x.mp4", "media": "h", "clip": "c", "duplicate": True}
