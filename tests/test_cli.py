"""The ``reeldesk`` CLI: every command in-process through ``main([...])``, plus real subprocess runs."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Callable

import pytest

from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop import cli
from desktop.cli import main
from desktop.logging_setup import LOG_NAME, setup_logging
from tests.fixtures.library import FAKE_HASH, FAKE_INFO, seed_clip

REPO = Path(__file__).resolve().parents[1]
UNKNOWN_UID = "01900000-0000-7000-8000-000000000000"


def run(capsys: pytest.CaptureFixture[str], lib: Library | Path, *args: str) -> tuple[int, str, str]:
    root = lib.root if isinstance(lib, Library) else lib
    code = main(["--library", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], lib: Library, *args: str) -> Any:
    code, out, err = run(capsys, lib, "--json", *args)
    assert code == 0, err
    return json.loads(out)  # exactly one document, or this raises


@pytest.fixture
def seeded(library: Library) -> tuple[Library, str, str, str]:
    raw, project, wc = seed_clip(library)
    return library, raw, project, wc


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO), **extra}
    return env


# -- import ------------------------------------------------------------------------------------
def test_import_copies_hashes_and_marks_whole_file_clips(capsys, library, video_set):
    paths = [video_set["h30"], video_set["ntsc"]]
    results = run_json(capsys, library, "import", *map(str, paths))
    assert [r["path"] for r in results] == [str(p) for p in paths]
    for r, path in zip(results, paths, strict=True):
        assert set(r) == {"path", "media", "clip"}
        assert (library.media_dir / r["media"]).read_bytes() == path.read_bytes()
        media = library.media(r["media"])
        assert media["name"] == path.name
        (clip,) = library.raw_clips(r["media"])
        assert clip["uid"] == r["clip"] and clip["start"] == 0.0
        assert clip["end"] == pytest.approx(media["duration"]) and clip["name"] == path.stem

    # Same bytes again: the existing whole-file clip, flagged as a duplicate, nothing new logged.
    before = library.gesture_count()
    code, out, err = run(capsys, library, "import", str(video_set["h30"]))
    assert code == 0 and "duplicate" in out and err == ""
    again = run_json(capsys, library, "import", str(video_set["h30"]))
    assert again == [{**results[0], "duplicate": True}]
    assert library.gesture_count() == before


def test_import_reports_bad_files_and_continues(capsys, library, video_set, tmp_path):
    bad = ["text", "empty", "truncated", "image", "audio_only"]
    args = [str(video_set[k]) for k in bad] + [str(tmp_path / "missing.mp4"), str(video_set["noaudio"])]
    code, out, err = run(capsys, library, "--json", "import", *args)
    assert code == 1 and err == ""
    results = json.loads(out)
    assert len(results) == len(args)
    for r in results[:-1]:
        assert set(r) == {"path", "error"} and r["error"] and "Traceback" not in r["error"]
    assert results[5]["error"] == "file not found"
    assert "clip" in results[-1]  # the good file after the bad ones still went in
    assert [c["uid"] for c in library.raw_clips()] == [results[-1]["clip"]]
    assert not [p for p in library.media_dir.iterdir() if p.name != results[-1]["media"]]

    code, out, _ = run(capsys, library, "import", str(video_set["empty"]))
    assert code == 1 and "empty.mp4" in out and "failed" in out


# -- mark / project ----------------------------------------------------------------------------
def test_mark_with_metadata(capsys, library):
    library.apply(Gesture(GestureKind.IMPORT_MEDIA, FAKE_HASH, {"info": FAKE_INFO, "name": "game.mp4"}))
    doc = run_json(capsys, library, "mark", FAKE_HASH, "--start", "12.5", "--end", "18", "--rating", "4",
                   "--tags", "goal, assist,", "--notes", "left foot", "--name", "Screamer")
    (clip,) = library.raw_clips()
    assert doc == {"clip": clip["uid"]}
    assert (clip["start"], clip["end"], clip["rating"]) == (12.5, 18.0, 4)
    assert clip["tags"] == ["goal", "assist"] and clip["notes"] == "left foot" and clip["name"] == "Screamer"
    code, out, _ = run(capsys, library, "mark", FAKE_HASH, "--start", "1", "--end", "2")
    assert code == 0 and out.startswith("marked clip ")


def test_project_create_add_list(capsys, seeded):
    library, raw, first_project, first_wc = seeded
    project = run_json(capsys, library, "project", "create", "Finals", "--aspect", "16:9")["project"]
    wc_a = run_json(capsys, library, "project", "add", project, raw)["working_clip"]
    wc_b = run_json(capsys, library, "project", "add", project, raw, "--position", "0")["working_clip"]
    assert [c["uid"] for c in library.show_project(project)["clips"]] == [wc_b, wc_a]
    listed = run_json(capsys, library, "project", "list")
    assert [(p["uid"], p["name"], p["aspect"]) for p in listed] == [(first_project, "Reel", "9:16"),
                                                                     (project, "Finals", "16:9")]
    code, out, _ = run(capsys, library, "project", "list")
    assert code == 0 and "Finals" in out and "16:9" in out
    code, out, _ = run(capsys, library, "project", "create", "Default aspect")
    assert code == 0 and out.startswith("created project ")
    assert library.projects()[-1]["aspect"] == "9:16"


# -- apply / undo / redo -----------------------------------------------------------------------
def test_apply_from_argument_and_stdin(capsys, seeded, monkeypatch):
    library, _raw, project, wc = seeded
    gesture = {"kind": "add_crop_keyframe", "target": wc,
               "payload": {"time": 1.0, "x": 100, "y": 0, "width": 600, "height": 1066}}
    res = run_json(capsys, library, "apply", json.dumps(gesture))
    assert res["version"] == 2 and res["kind"] == "add_crop_keyframe" and res["duplicate"] is False
    assert set(res["created"]) == {"keyframe"}
    assert [k["uid"] for k in library.show_project(project)["clips"][0]["edit"]["crop_keyframes"]] == \
        [res["created"]["keyframe"]]

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps({"kind": "split", "target": wc, "payload": {"time": 3}})))
    res = run_json(capsys, library, "apply", "-")
    assert res["version"] == 3 and set(res["created"]) == {"split"}
    code, out, _ = run(capsys, library, "apply", json.dumps({"kind": "set_rotation", "target": wc,
                                                                "payload": {"degrees": -3.5}}))
    assert code == 0 and "set_rotation" in out and "version 4" in out


def test_undo_redo(capsys, seeded):
    library, _raw, project, wc = seeded
    run_json(capsys, library, "apply", json.dumps({"kind": "set_rotation", "target": wc, "payload": {"degrees": 5}}))
    def rotation() -> float:
        return library.show_project(project)["clips"][0]["edit"]["rotation"]

    assert rotation() == 5

    undone = run_json(capsys, library, "undo", project)
    assert undone["kind"] == "revert" and undone["version"] == 3 and rotation() == 0
    code, out, _ = run(capsys, library, "redo", project)
    assert code == 0 and out.startswith("redone") and rotation() == 5
    assert run_json(capsys, library, "redo", project) == {"redone": None}
    code, out, _ = run(capsys, library, "redo", project)
    assert (code, out) == (0, "nothing to redo\n")

    fresh = run_json(capsys, library, "project", "create", "Empty")["project"]
    assert run_json(capsys, library, "undo", fresh)["kind"] == "revert"  # undoes the create itself
    assert run_json(capsys, library, "undo", fresh) == {"undone": None}
    code, out, _ = run(capsys, library, "undo", fresh)
    assert (code, out) == (0, "nothing to undo\n")


# -- readers -----------------------------------------------------------------------------------
def test_show_json_is_the_canonical_document(capsys, seeded):
    library, _raw, project, _wc = seeded
    for args in (("show", project, "--json"), ("--json", "show", project)):
        code, out, err = run(capsys, library, *args)
        assert (code, err) == (0, "")
        assert out == library.project_json(project) + "\n"
    code, out, _ = run(capsys, library, "show", project)
    assert code == 0 and out.startswith("Reel  (9:16)") and "1 clip(s)" in out


def test_show_json_is_byte_identical_across_libraries(capsysbinary, make_library):
    lib_a, lib_b = make_library("a"), make_library("b")
    _raw, project, wc = seed_clip(lib_a)
    lib_a.apply(Gesture(GestureKind.RENAME_PROJECT, project, {"name": "Finale – Ünïcödé 決勝"}))
    lib_a.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 2.0, "x": 10.25, "y": 0, "width": 600,
                                                           "height": 1066.5}))
    lib_a.apply(Gesture(GestureKind.SPLIT, wc, {"time": 1.0 / 3.0}))
    lib_b.merge_remote(reversed(lib_a.gestures()))  # arrival order must not matter

    outputs = []
    for lib in (lib_a, lib_b):
        assert main(["--library", str(lib.root), "--json", "show", project]) == 0
        out, err = capsysbinary.readouterr()
        assert err == b""
        outputs.append(out)
    assert outputs[0] == outputs[1] == lib_a.project_json(project).encode("utf-8") + b"\n"
    assert b"\r\n" not in outputs[0] and "決勝".encode("utf-8") in outputs[0]


def test_history_newest_last(capsys, seeded):
    library, _raw, _project, wc = seeded
    run_json(capsys, library, "apply", json.dumps({"kind": "set_trim", "target": wc,
                                                   "payload": {"start": 1, "end": 5}}))
    versions = run_json(capsys, library, "history", wc)
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["gesture"]["kind"] for v in versions] == ["add_clip", "set_trim"]
    assert versions[1]["edit"]["edit"]["trim"] == {"start": 1.0, "end": 5.0}
    code, out, _ = run(capsys, library, "history", wc)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and "add_clip" in lines[0] and "set_trim" in lines[1]


def test_clips_and_conflicts(capsys, seeded):
    library, raw, _project, _wc = seeded
    clips = run_json(capsys, library, "clips")
    assert [(c["uid"], c["start"], c["end"]) for c in clips] == [(raw, 10.0, 16.0)]
    code, out, _ = run(capsys, library, "clips")
    assert code == 0 and raw in out and "0:10.00-0:16.00" in out
    assert run_json(capsys, library, "conflicts") == []
    code, out, _ = run(capsys, library, "conflicts")
    assert (code, out) == (0, "no conflicts\n")


# -- bad input ---------------------------------------------------------------------------------
def _apply(kind: str, target: str | None, payload: dict[str, Any]) -> list[str]:
    return ["apply", json.dumps({"kind": kind, "target": target, "payload": payload})]


# Each case builds argv from the seeded (raw, project, wc).
BAD_INPUT: dict[str, Callable[[str, str, str], list[str]]] = {
    "unknown kind": lambda r, p, w: _apply("explode", w, {}),
    "missing target": lambda r, p, w: _apply("set_rotation", None, {"degrees": 1}),
    "target not a uid": lambda r, p, w: _apply("set_rotation", "nope", {"degrees": 1}),
    "unknown target uid": lambda r, p, w: _apply("set_rotation", UNKNOWN_UID, {"degrees": 1}),
    "NaN": lambda r, p, w: ["apply", '{"kind": "set_rotation", "target": "%s", "payload": {"degrees": NaN}}' % w],
    "Infinity": lambda r, p, w: ["apply", '{"kind": "split", "target": "%s", "payload": {"time": Infinity}}' % w],
    "overflowing number": lambda r, p, w: ["apply",
                                           '{"kind": "split", "target": "%s", "payload": {"time": 1e999}}' % w],
    "negative time": lambda r, p, w: _apply("split", w, {"time": -1}),
    "rotation out of range": lambda r, p, w: _apply("set_rotation", w, {"degrees": 45}),
    "time beyond clip": lambda r, p, w: _apply("split", w, {"time": 60}),
    "malformed JSON": lambda r, p, w: ["apply", '{"kind": "split", "target": '],
    "JSON not an object": lambda r, p, w: ["apply", "[1, 2]"],
    "unknown payload field": lambda r, p, w: _apply("set_rotation", w, {"degrees": 1, "evil": True}),
    "mark NaN": lambda r, p, w: ["mark", FAKE_HASH, "--start", "nan", "--end", "2"],
    "mark negative": lambda r, p, w: ["mark", FAKE_HASH, "--start", "-1", "--end", "2"],
    "mark end before start": lambda r, p, w: ["mark", FAKE_HASH, "--start", "5", "--end", "2"],
    "mark beyond media": lambda r, p, w: ["mark", FAKE_HASH, "--start", "5", "--end", "61"],
    "mark unknown media": lambda r, p, w: ["mark", "cd" * 32, "--start", "0", "--end", "1"],
    "mark bad hash": lambda r, p, w: ["mark", "xyz", "--start", "0", "--end", "1"],
    "mark rating out of range": lambda r, p, w: ["mark", FAKE_HASH, "--start", "0", "--end", "1", "--rating", "9"],
    "mark rating not a number": lambda r, p, w: ["mark", FAKE_HASH, "--start", "0", "--end", "1", "--rating", "x"],
    "mark missing end": lambda r, p, w: ["mark", FAKE_HASH, "--start", "0"],
    "bad aspect": lambda r, p, w: ["project", "create", "X", "--aspect", "3:2"],
    "empty project name": lambda r, p, w: ["project", "create", "  "],
    "add to unknown project": lambda r, p, w: ["project", "add", UNKNOWN_UID, r],
    "add unknown clip": lambda r, p, w: ["project", "add", p, UNKNOWN_UID],
    "negative position": lambda r, p, w: ["project", "add", p, r, "--position", "-1"],
    "show unknown": lambda r, p, w: ["show", UNKNOWN_UID, "--json"],
    "history unknown": lambda r, p, w: ["history", UNKNOWN_UID],
    "undo unknown": lambda r, p, w: ["undo", UNKNOWN_UID],
    "unknown command": lambda r, p, w: ["explode"],
    "screenshot folder missing": lambda r, p, w: ["gui", "--screenshot", f"{UNKNOWN_UID}/x.png"],
    "negative quit-after": lambda r, p, w: ["gui", "--quit-after", "-1"],
    "missing argument": lambda r, p, w: ["project", "add", p],
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(capsys, seeded, case):
    library, raw, project, wc = seeded
    before = library.gesture_count()
    code, out, err = run(capsys, library, "--json", *BAD_INPUT[case](raw, project, wc))
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("reeldesk: error: ") and len(lines[0]) > len("reeldesk: error: ") + 5
    assert "Traceback" not in err
    assert library.gesture_count() == before
    assert library.integrity_check() == "ok"


def test_unexpected_error_logs_traceback_and_exits_1(capsys, library, monkeypatch):
    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Library, "raw_clips", broken)
    code, out, err = run(capsys, library, "clips")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("reeldesk: unexpected error: RuntimeError: disk on fire")
    log_text = (library.root / LOG_NAME).read_text(encoding="utf-8")
    assert "Traceback" in log_text and "disk on fire" in log_text


# -- environment, logging, entry points --------------------------------------------------------
def test_reeldesk_home_is_the_default_library(capsys, tmp_path, monkeypatch):
    home = tmp_path / "home lib"
    monkeypatch.setenv("REELDESK_HOME", str(home))
    assert main(["--json", "project", "create", "From env"]) == 0
    uid = json.loads(capsys.readouterr().out)["project"]
    lib = Library(home)
    try:
        assert [p["uid"] for p in lib.projects()] == [uid]
    finally:
        lib.close()
    assert (home / LOG_NAME).is_file()


def test_logging_goes_to_library_and_is_released(capsys, library):
    before = list(logging.getLogger().handlers)
    code, _out, err = run(capsys, library, "-v", "clips")
    assert code == 0 and err == ""
    assert logging.getLogger().handlers == before  # in-process runs leave no handler (or open file) behind
    assert "command clips" in (library.root / LOG_NAME).read_text(encoding="utf-8")


def test_log_file_rotates(tmp_path):
    session = setup_logging(tmp_path)
    try:
        (handler,) = [h for h in session.handlers if isinstance(h, RotatingFileHandler)]
        assert session.log_file == tmp_path / LOG_NAME and handler.backupCount > 0
        handler.maxBytes = 200
        for i in range(20):
            logging.getLogger("reeldesk.test").info("line %d of a long enough message to rotate", i)
    finally:
        session.close()
    assert (tmp_path / f"{LOG_NAME}.1").is_file() and (tmp_path / LOG_NAME).stat().st_size <= 200


def test_no_command_opens_the_window(capsys, library, monkeypatch):
    calls: list[tuple[Path, Any, Any]] = []

    def fake_launch(root: Path, *, screenshot: Path | None, quit_after: float | None) -> int:
        calls.append((root, screenshot, quit_after))  # the window opens the library itself
        return 0

    monkeypatch.setattr("desktop.app.launch", fake_launch)
    assert run(capsys, library)[0] == 0
    assert calls == [(library.root, None, None)]


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "reeldesk" in capsys.readouterr().out


def test_python_m_desktop_subprocess(tmp_path):
    root = tmp_path / "sub library"
    base = [sys.executable, "-m", "desktop", "--library", str(root), "--json"]
    done = subprocess.run([*base, "project", "create", "Über reel"], capture_output=True, env=_subprocess_env(),
                          cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    project = json.loads(done.stdout)["project"]
    done = subprocess.run([*base, "show", project], capture_output=True, env=_subprocess_env(), cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    lib = Library(root)
    try:
        assert done.stdout == lib.project_json(project).encode("utf-8") + b"\n"
    finally:
        lib.close()
    done = subprocess.run([*base, "apply", '{"kind": "split", "target": '], capture_output=True,
                          env=_subprocess_env(), cwd=REPO, timeout=120)
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode().splitlines() == [done.stderr.decode().strip()]
    assert done.stderr.startswith(b"reeldesk: error: gesture is not valid JSON")


def test_gui_screenshot(tmp_path, library):
    from PySide6.QtGui import QImage

    seed_clip(library)
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "-m", "desktop", "--library", str(library.root), "gui",
                           "--screenshot", str(shot), "--quit-after", "0.5"],
                          capture_output=True, env=_subprocess_env(), cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    image = QImage(str(shot))
    assert not image.isNull() and image.width() > 200 and image.height() > 200
    step = 7
    colours = {image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)}
    assert len(colours) > 3


def test_console_script_is_declared():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'reeldesk = "desktop.cli:main"' in text
    assert callable(cli.main)


def test_command_modules_do_not_import_the_entry_point() -> None:
    """desktop.cli imports the cli_* command modules; they share desktop.cli_common instead of
    importing desktop.cli back (no cycle, not even inside functions)."""
    import ast

    modules = sorted((REPO / "desktop").glob("cli_*.py"))
    assert {m.stem for m in modules} >= {"cli_common", "cli_export", "cli_import", "cli_preview", "cli_sync"}
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = ([node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            assert "desktop.cli" not in names, f"{module.name} imports desktop.cli"


def test_window_options_work_without_the_gui_command() -> None:
    # "Without a command, opens the window": its options must not need the word "gui" first.
    from desktop.cli import parse_args

    args = parse_args(["--mode", "frame", "--quit-after", "0", "--screenshot", "shot.png"])
    assert args.command is None and (args.mode, args.quit_after, str(args.screenshot)) == ("frame", 0.0, "shot.png")
    args = parse_args(["--mode", "frame", "gui", "--project", "p1"])  # either side of "gui"
    assert (args.command, args.mode, args.project) == ("gui", "frame", "p1")
    args = parse_args(["gui", "--mode", "export"])
    assert (args.mode, args.project) == ("export", None)
