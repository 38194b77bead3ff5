"""``reeldesk export`` / ``jobs`` / ``cancel`` / ``retry`` end to end (real renders in a child
process), exit codes and one-line errors."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import av
import pytest

from core.enums import GestureKind as K
from core.enums import JobState
from core.export.jobs import ExportJobs, pid_alive
from core.export.local_backend import LocalBackend
from core.gestures.model import Gesture
from core.library import Library
from desktop import cli_import
from desktop.cli import main
from tests.fixtures.media import make_video
from tests.test_export_jobs import FAST, held_env, leftovers, seed_reel, wait_for

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("cli-src") / "game.mp4", seconds=2.0)


def run(capsys: pytest.CaptureFixture[str], lib: Library, *args: str) -> tuple[int, str, str]:
    code = main(["--library", str(lib.root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_export_json_end_to_end_then_jobs(capsys, library, source, tmp_path, monkeypatch) -> None:
    seed_reel(library, source, name="Finale", seconds=1.0)
    bar = io.StringIO()
    monkeypatch.setattr(cli_import.ProgressBar, "for_stderr", classmethod(lambda cls: cls(bar)))
    target = tmp_path / "Mein Reel – final.mp4"
    code, out, err = run(capsys, library, "export", "finale", "--json", "--preset", "ultrafast",
                         "--crf", "35", "--out", str(target))
    assert code == 0, err
    doc = json.loads(out)
    assert {k: doc[k] for k in ("state", "output", "width", "height")} == {
        "state": "done", "output": str(target), "width": 1920, "height": 1080}
    assert doc["duration"] == pytest.approx(1.0, abs=0.04) and doc["version"] == 1
    with av.open(str(target)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 30
    assert "100%" in bar.getvalue() and "[####" in bar.getvalue()  # the terminal bar ran
    assert leftovers(library) == [] and sorted(p.name for p in tmp_path.iterdir() if p.is_file()) \
        == [target.name]

    code, out, err = run(capsys, library, "jobs", "--json")
    assert code == 0
    (job,) = json.loads(out)
    assert (job["job"], job["state"], job["output"], job["project_name"]) == (
        doc["job"], "done", str(target), "Finale")
    code, out, _ = run(capsys, library, "jobs")
    assert code == 0 and doc["job"] in out and "done" in out

    code, out, err = run(capsys, library, "cancel", doc["job"])
    assert code == 2 and err.startswith("reeldesk: error: ") and "already done" in err
    code, out, err = run(capsys, library, "retry", doc["job"][:13])
    assert code == 2 and "only failed or cancelled" in err


@pytest.mark.parametrize(("args", "message"), [
    (("cancel", "nope"), "unknown export job nope"),
    (("retry", "01234567-0000"), "unknown export job 01234567-0000"),
    (("export", "No Such Reel"), "unknown project No Such Reel"),
    (("export", "Highlights", "--upscale", "realesrgan"), "AI upscaling on this computer needs torch"),
    (("export", "Highlights", "--crf", "70"), "must be between 0 and 51"),
    (("export", "Highlights", "--out", "/no/such/folder/x.mp4"), "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, library, source, args, message, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # not installed, whatever this environment holds
    seed_reel(library, source, seconds=1.0)
    code, out, err = run(capsys, library, *args)
    assert code == 2 and out == ""
    assert err.startswith("reeldesk: error: ") and message in err and err.count("\n") == 1
    assert ExportJobs(library).list() == []


def test_failed_export_exits_1_and_can_be_retried(capsys, library, source, tmp_path, monkeypatch) -> None:
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "none.toml"))
    seed_reel(library, source, seconds=1.0)
    code, out, err = run(capsys, library, "export", "Highlights", "--backend", "modal", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["state"] == "failed" and doc["output"] is None
    assert doc["error"].startswith("Modal is not configured: ")
    assert "reeldesk: error: export failed: Modal is not configured" in err
    assert f"reeldesk retry {doc['job']}" in err
    code, out, err = run(capsys, library, "retry", doc["job"], "--json")
    assert code == 1 and json.loads(out)["job"] == doc["job"]  # same job, same (clear) failure


def test_cancel_from_another_command_stops_a_running_export(capsys, library, source, monkeypatch) -> None:
    project = seed_reel(library, source, speed=0.125)
    monkeypatch.setenv("PYTHONPATH", held_env()["PYTHONPATH"])  # the render holds until cancelled
    jobs = ExportJobs(library)  # "the window", rendering
    try:
        uid = jobs.create(project, **FAST)
        wait_for(lambda: jobs.get(uid).state is JobState.RENDERING and jobs.get(uid).progress > 0,
                 what="the render to start")
        child = jobs.get(uid).worker_pid
        assert child != os.getpid() and pid_alive(child)
        code, out, err = run(capsys, library, "cancel", uid, "--json")
        assert code == 0, err
        assert json.loads(out) == {"job": uid, "state": "cancelled"}
        assert not pid_alive(child)
        assert leftovers(library) == []
    finally:
        jobs.close()
    assert ExportJobs(library).get(uid).state is JobState.CANCELLED


def test_listing_jobs_leaves_a_finished_render_its_window_has_not_recorded_yet(library, source,
                                                                              monkeypatch) -> None:
    """The render child has exited, the window (this process) is about to record the file: a
    ``reeldesk jobs`` in another process must not take the job for an orphan and fail it (the
    window would then delete the finished file)."""
    project = seed_reel(library, source, seconds=0.5)
    exited, record = threading.Event(), threading.Event()
    conclude = LocalBackend._conclude

    def held_conclude(self, run, proc, staged):  # the window, between the child's exit and the record
        proc.wait()
        exited.set()
        record.wait(60)
        conclude(self, run, proc, staged)

    monkeypatch.setattr(LocalBackend, "_conclude", held_conclude)
    jobs = ExportJobs(library)
    try:
        uid = jobs.create(project, **FAST)
        assert exited.wait(60), "the render did not end"
        assert jobs.get(uid).state in (JobState.RENDERING, JobState.FINISHING)
        listing = subprocess.run(
            [sys.executable, "-m", "desktop", "--library", str(library.root), "jobs", "--json"],
            capture_output=True, cwd=REPO, timeout=120,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)})
        assert listing.returncode == 0, listing.stderr
        (listed,) = json.loads(listing.stdout)
        assert listed["state"] != "failed", listed["error"]
        record.set()
        job = jobs.wait(uid, timeout=60)
        assert job.state is JobState.DONE and job.output_path and Path(job.output_path).is_file()
    finally:
        record.set()
        jobs.close()


def test_export_json_reports_which_clips_were_reused(capsys, library, source) -> None:
    project = seed_reel(library, source, name="Twice", seconds=0.5)
    wc = library.show_project(project)["clips"][0]["uid"]
    args = ("export", "Twice", "--json", "--preset", "ultrafast", "--crf", "35")
    code, out, err = run(capsys, library, *args)
    assert code == 0, err
    assert json.loads(out)["clips"] == [{"working_clip": wc, "reused": False}]
    code, out, err = run(capsys, library, *args)
    assert code == 0, err
    assert json.loads(out)["clips"] == [{"working_clip": wc, "reused": True}]
    region = library.apply(Gesture(K.ADD_TEXT_REGION, wc, {"start": 0.0, "end": 0.4})).created["text_region"]
    library.apply(Gesture(K.ADD_TEXT_ELEMENT, wc, {"text_region": region, "text": "GOAL!"}))
    code, out, err = run(capsys, library, *args)
    assert code == 0, err
    assert json.loads(out)["clips"] == [{"working_clip": wc, "reused": False}]


def test_models_status_says_what_local_ai_upscaling_lacks(capsys, library, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REELDESK_MODELS", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "spandrel", None)
    code, out, _ = run(capsys, library, "models", "status", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["ready"] is False and "spandrel" in doc["problem"]
    assert doc["weights"] == str(tmp_path / "models" / "RealESRGAN_x4plus.pth")
