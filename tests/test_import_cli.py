"""``reeldesk import`` / ``reeldesk watch``: per-file results, games, progress bar, Ctrl+C, headless watch."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import blake3
import pytest
from sqlalchemy import select

from core.db import models as m
from core.library import Library
from core.media.importer import ImportProgress, ImportService, orphan_media_files
from desktop import cli_import
from desktop.cli import main
from tests.fixtures.media import truncate_file
from tests.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
posix_only = pytest.mark.skipif(os.name == "nt", reason="sends SIGINT, which Windows cannot target")


def run(capsys: pytest.CaptureFixture[str], lib: Library, *args: str) -> tuple[int, str, str]:
    code = main(["--library", str(lib.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean(lib: Library) -> None:
    assert lib.integrity_check() == "ok"
    assert orphan_media_files(lib) == []


def mixed_folder(root: Path, video_set: dict[str, Path]) -> dict[str, str]:
    """20 files: good, duplicate (in the folder and of the library), broken. Returns name -> expectation."""
    def put(name: str, relative: str) -> Path:
        dest = root / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(video_set[name], dest)
        return dest

    expected: dict[str, str] = {}
    for name, relative in [("h30", "Spiel 1.mp4"), ("ntsc", "Spiel 2 (29.97).mp4"), ("p60", "Zeitlupe 59.94.mp4"),
                           ("pal", "Halbzeit 1.mp4"), ("portrait", "Hochformat.mp4"),
                           ("rotated", "Handy gedreht.mov"), ("noaudio", "ohne Ton.mp4"), ("vfr", "Handy VFR.mp4"),
                           ("h30", "Kopien/Spiel 1 - Kopie.mp4"), ("portrait", "Kopien/Hochformat (1).mp4"),
                           ("pal", "Kopien/tief/Halbzeit 1 – Kopie.mp4")]:
        put(name, relative)
        expected[relative] = "video:" + name  # the first of equal bytes is imported, the others duplicates
    put("truncated", "kaputt/abgebrochen.mp4")
    truncate_file(put("p60", "kaputt/ohne moov.mov"), 0.8)
    truncate_file(put("ntsc", "kaputt/halb.mp4"), 0.3)
    for relative in ("kaputt/abgebrochen.mp4", "kaputt/ohne moov.mov", "kaputt/halb.mp4"):
        expected[relative] = "error"
    for name, relative in [("text", "Notizen.mp4"), ("empty", "leer.mp4"), ("image", "Vorschau.png"),
                           ("audio_only", "Kommentar.m4a"), ("text", "liesmich.txt")]:
        put(name, relative)
        expected[relative] = "skipped"
    (root / "Daten.bin").write_bytes(os.urandom(5000))
    expected["Daten.bin"] = "skipped"
    assert len(expected) == 20
    return expected


def test_folder_of_twenty_mixed_files(capsys: pytest.CaptureFixture[str], library: Library,
                                      video_set: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "Speicherkarte März"
    expected = mixed_folder(folder, video_set)
    (pre,) = ImportService(library).import_paths([video_set["vfr"]])

    code, out, err = run(capsys, library, "--json", "import", str(folder))
    assert code == 1 and err == ""  # some files failed; nothing on stderr without a terminal
    results = json.loads(out)
    assert sorted(r["path"] for r in results) == sorted(str(folder / rel) for rel in expected)
    by_source: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        verdict, _, source = expected[Path(r["path"]).relative_to(folder).as_posix()].partition(":")
        if verdict == "video":
            by_source.setdefault(source, []).append(r)
        elif verdict == "error":
            assert set(r) == {"path", "error"}, r
            assert "truncated" in r["error"] or "damaged" in r["error"], r
        else:
            assert set(r) == {"path", "skipped"} and r["skipped"], r
    assert len(by_source) == 8
    for source, group in by_source.items():
        media = blake3.blake3(video_set[source].read_bytes()).hexdigest()
        first, *later = group
        if source == "vfr":  # imported before the folder: a duplicate with the existing clip
            later = group
            assert first["clip"] == pre.clip
        else:
            assert set(first) == {"path", "media", "clip"} and first["media"] == media, first
        for dup in later:
            assert dup == {"path": dup["path"], "media": media, "clip": first["clip"], "duplicate": True}
    media_of = {source: group[0]["media"] for source, group in by_source.items()}
    assert len(library.media_list()) == 8
    assert len(library.raw_clips()) == 8  # duplicates reuse the whole-file clip
    assert library.gesture_count() == 16
    assert_clean(library)
    assert all((library.cache_dir / "thumbnails" / h / "strip.json").is_file() for h in media_of.values())

    # The human rendering says the same, one line per file.
    code, out, _ = run(capsys, library, "import", "--no-cache", str(folder))
    lines = out.splitlines()
    assert code == 1 and sum(line.startswith("duplicate  ") for line in lines) == 11
    assert sum(line.startswith("failed     ") for line in lines) == 3
    assert sum(line.startswith("skipped    ") for line in lines) == 6
    assert lines[-1] == "0 imported, 11 duplicate, 3 of 20 file(s) failed, 6 skipped (not video)"


def test_game_import_from_the_cli(capsys: pytest.CaptureFixture[str], library: Library,
                                  video_set: dict[str, Path]) -> None:
    code, out, err = run(capsys, library, "--json", "import", "--no-cache", "--game", "Pokalfinale",
                         str(video_set["pal"]), str(video_set["h30"]))
    assert code == 0, err
    first, second = json.loads(out)
    assert first["game"] == second["game"] and "clip" not in first
    with library.read() as conn:
        assert conn.execute(select(m.Game.name)).scalars().all() == ["Pokalfinale"]
        order = conn.execute(select(m.GameMedia.media_hash).order_by(m.GameMedia.position)).scalars().all()
    assert order == [first["media"], second["media"]]
    assert library.raw_clips() == []

    code, out, err = run(capsys, library, "import", "--game", "", str(video_set["pal"]))
    assert code == 2 and out == "" and err.startswith("reeldesk: error: the game name must not be empty")


def test_nothing_importable_is_a_failure(capsys: pytest.CaptureFixture[str], library: Library,
                                         tmp_path: Path) -> None:
    (tmp_path / "empty folder").mkdir()
    code, out, _ = run(capsys, library, "import", str(tmp_path / "empty folder"))
    assert code == 1 and out.strip() == "no files found"


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_only(capsys: pytest.CaptureFixture[str], library: Library,
                                         video_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTty()
    monkeypatch.setattr(sys, "stderr", tty)
    code = main(["--library", str(library.root), "--json", "import", str(video_set["h30"]), str(video_set["pal"])])
    out, _ = capsys.readouterr()
    assert code == 0 and len(json.loads(out)) == 2  # stdout stays one clean JSON document
    drawn = tty.getvalue()
    assert "\r[" in drawn and "100%" in drawn and "2/2" in drawn and "pal.mp4" in drawn
    assert drawn.endswith("\r")  # the line is cleared at the end
    assert drawn.isascii()


def test_progress_bar_shortens_long_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTty()
    bar = cli_import.ProgressBar(tty)
    monkeypatch.setattr(cli_import.shutil, "get_terminal_size", lambda fallback: os.terminal_size((40, 10)))
    bar.update(ImportProgress(0, 1, Path("x" * 200 + ".mp4"), 50, 100, 50, 100))
    line = tty.getvalue().split("\r")[-1]
    assert len(line) == 39 and line.startswith("[############------------]  50%") and line.endswith("...")


@posix_only
def test_ctrl_c_cancels_cleanly(capsys: pytest.CaptureFixture[str], library: Library,
                                video_set: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    class CtrlC:
        def update(self, p: ImportProgress) -> None:
            if p.file_index == 1 and p.bytes_done:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C mid-copy

        def show(self, text: str) -> None:
            pass

        def close(self) -> None:
            pass

    monkeypatch.setattr(cli_import.ProgressBar, "for_stderr", classmethod(lambda cls: CtrlC()))
    big = video_set["p60"]
    code, out, err = run(capsys, library, "--json", "import", str(video_set["h30"]), str(big))
    assert code == 130 and "cancelling" in err
    first, second = json.loads(out)
    assert "clip" in first and second == {"path": str(big), "error": "import cancelled", "cancelled": True}
    assert [p.name for p in library.media_dir.iterdir()] == [first["media"]]
    assert library.gesture_count() == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert_clean(library)


def test_watch_needs_a_folder(capsys: pytest.CaptureFixture[str], library: Library, tmp_path: Path) -> None:
    code, out, err = run(capsys, library, "watch")
    assert code == 2 and "no watch folder" in err
    code, out, err = run(capsys, library, "watch", str(tmp_path / "nope"))
    assert code == 2 and "is not a folder" in err


@posix_only
def test_watch_runs_headless_until_ctrl_c(video_set: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "OBS Aufnahmen"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--library", str(tmp_path / "lib"), "--json", "watch", str(folder),
         "--settle", "0.3", "--save"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)
    lines: list[str] = []
    err_lines: list[str] = []
    readers = [threading.Thread(target=lambda: lines.extend(line.decode("utf-8") for line in proc.stdout)),
               threading.Thread(target=lambda: err_lines.extend(line.decode("utf-8") for line in proc.stderr))]
    for reader in readers:
        reader.start()
    try:
        # It says "watching" once the watcher runs: a file copied before that is found by its scan anyway.
        wait_until(lambda: any("watching" in line for line in err_lines) or proc.poll() is not None,
                   what="the watcher to start")
        shutil.copyfile(video_set["pal"], folder / "Tor.mp4")
        wait_until(lambda: bool(lines) or proc.poll() is not None, what="the first import line")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
        for reader in readers:
            reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    err = "".join(err_lines)
    assert code == 0, err
    assert "watching" in err
    first = json.loads(lines[0])
    assert first["path"] == str(folder / "Tor.mp4") and "clip" in first
    assert json.loads(lines[-1]) == {"stopped": str(folder), "imported": 1, "duplicate": 0, "skipped": 0,
                                     "error": 0, "cancelled": 0}
    lib = Library(tmp_path / "lib")
    try:
        assert lib.get_setting("watch_folder") == str(folder)  # --save
        assert len(lib.media_list()) == 1
    finally:
        lib.close()
