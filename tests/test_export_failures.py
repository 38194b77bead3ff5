"""Exports that cannot succeed fail clearly: damaged sources, read-only folders, killed exports."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.enums import JobState
from core.export.jobs import ExportJobs, pid_alive
from core.export.render import RenderError
from core.media.integrity import damaged_media
from desktop.cli import main
from tests.fixtures.media import make_video, truncate_file
from tests.test_export_jobs import FAST, REPO, held_env, seed_reel, wait_for
from tests.test_export_render import clip, reel, run

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def cli(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--library", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """A folder nobody can write into. Root ignores permission bits, so as root the folder is
    also made immutable (chattr +i), which binds root too."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o555)
    immutable = hasattr(os, "geteuid") and os.geteuid() == 0
    if immutable:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    try:
        yield folder
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_a_truncated_source_fails_naming_clip_and_media(tmp_path) -> None:
    # MKV keeps playing up to the cut: the render used to freeze the last picture, silently.
    source = truncate_file(make_video(tmp_path / "game.mkv", seconds=3.0), 0.4)
    spec = reel(clip("game-hash", end=2.9))
    with pytest.raises(RenderError) as e:
        run(spec, {"game-hash": source}, tmp_path)
    text = str(e.value)
    assert "clip clip-game-hash" in text and "media game-hash" in text and "truncated" in text
    assert [p.name for p in tmp_path.iterdir()] == ["game.mkv"]  # no partial left


def test_doctor_reports_media_truncated_after_import(capsys, library, tmp_path) -> None:
    source = make_video(tmp_path / "game.mp4", seconds=1.0)
    seed_reel(library, source, seconds=1.0)
    assert damaged_media(library) == []
    (media,) = library.media_list()
    truncate_file(library.media_path(media["hash"]), 0.5)
    (damaged,) = damaged_media(library)
    assert damaged.hash == media["hash"] and "truncated" in damaged.reason
    code, out, _ = cli(capsys, library.root, "doctor", "--json")
    doc = json.loads(out)
    assert code == 1 and any(p.startswith("1 damaged media file(s): ") for p in doc["problems"])  # with its fix
    assert media["hash"][:12] in doc["damaged_media"][0]


def test_a_read_only_output_folder_is_refused_before_a_job_exists(capsys, library, source_2s,
                                                                  tmp_path) -> None:
    seed_reel(library, source_2s, seconds=1.0)
    with read_only(tmp_path / "locked") as folder:
        code, out, err = cli(capsys, library.root, "export", "Highlights", "--out",
                             str(folder / "reel.mp4"))
    assert code == 2 and out == ""
    assert f"cannot write exports to {folder}" in err and err.count("\n") == 1
    assert ExportJobs(library).list() == []


def test_a_write_error_during_the_render_names_the_destination(library, source_2s, tmp_path) -> None:
    # The folder turns read-only after the job was created (disk full looks the same).
    project = seed_reel(library, source_2s, seconds=1.0)
    folder = tmp_path / "out"
    folder.mkdir()
    jobs = ExportJobs(library)
    try:
        uid = jobs.create(project, out=folder / "reel.mp4", start=False, **FAST)
        with read_only(folder):
            jobs.start(uid)
            job = jobs.wait(uid, timeout=120)
    finally:
        jobs.close()
    assert job.state is JobState.FAILED
    assert f"cannot write the export to {folder / 'reel.mp4'}" in (job.error or "")
    assert ".partial" not in job.error and "..reeldesk" not in job.error


@pytest.fixture(scope="module")
def source_2s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("fail-src") / "game.mp4", seconds=2.0)


def test_the_cli_recovers_a_job_whose_export_was_killed(capsys, library, source_2s) -> None:
    project = seed_reel(library, source_2s, speed=0.125)
    jobs = ExportJobs(library)
    try:
        uid = jobs.create(project, start=False, **FAST)
        jobs.cancel(uid)
    finally:
        jobs.close()
    # `reeldesk retry` renders it in its own process, which is then killed like kill -9.
    # Its render holds after its first frames until it is stopped: slow by construction.
    env = held_env({**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)})
    export = subprocess.Popen(
        [sys.executable, "-m", "desktop", "--library", str(library.root), "retry", uid],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    jobs = ExportJobs(library)
    try:
        wait_for(lambda: jobs.get(uid).state is JobState.RENDERING and jobs.get(uid).progress > 0,
                 timeout=90, what="the render to be under way")
        worker = jobs.get(uid).worker_pid
        export.send_signal(getattr(signal, "SIGKILL", signal.SIGTERM))
        export.wait()
        wait_for(lambda: not pid_alive(worker), what="the orphaned worker to stop")
        assert jobs.get(uid).state is JobState.RENDERING  # nobody recorded anything
    finally:
        if export.poll() is None:
            export.kill()
            export.wait()
        jobs.close()

    code, out, _ = cli(capsys, library.root, "jobs", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["state"] == "failed" and row["error"].startswith("interrupted")
    code, out, err = cli(capsys, library.root, "retry", uid, "--json")
    assert code == 0, err
    assert json.loads(out)["state"] == "done"
