"""Export jobs with real FFmpeg: the state machine, the local backend's child process (progress,
cancel, crash, retry), restart recovery and the job list surviving a restart."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from itertools import product
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from core.db import models as m
from core.enums import ExportBackend, JobState, Upscaler
from core.enums import GestureKind as K
from core.export.jobs import (
    ACTIVE_STATES,
    TRANSITIONS,
    ExportJobs,
    Job,
    JobNotFound,
    JobStateError,
    check_transition,
    partial_files,
    pid_alive,
    safe_file_stem,
)
from core.gestures.model import Gesture
from core.library import Library
from core.media.importer import ImportService
from tests.fixtures.media import make_video, read_frame_number
from tests.waiting import wait_until as wait_for  # the name the export tests import from here

REPO = Path(__file__).resolve().parents[1]
SIZE = (320, 180)  # 16:9 output of the 320x240 source, cropped at the top: frame numbers visible
FAST = {"size": SIZE, "preset": "ultrafast", "crf": 30}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("export-src") / "game.mp4", seconds=2.0)


def seed_reel(lib: Library, source: Path, *, name: str = "Highlights", speed: float | None = None,
              seconds: float = 2.0) -> str:
    """Media + clip + a 16:9 project whose crop keeps the frame-number stripe. Returns the project."""
    (result,) = ImportService(lib).import_paths([source])
    assert result.ok, result.error
    raw = lib.apply(Gesture(K.MARK_CLIP, None, {"media": result.media, "start": 0.0, "end": seconds})).entity
    project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": name, "aspect": "16:9"})).entity
    wc = lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    lib.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": 0.0, "x": 0.0, "y": 0.0, "width": 320.0,
                                                "height": 180.0}))
    if speed is not None:
        lib.apply(Gesture(K.SET_SEGMENT_SPEED, wc, {"time": 0.5, "speed": speed}))
    return project


def frame_numbers(path: Path) -> tuple[list[int], tuple[int, int]]:
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return [read_frame_number(f) for f in frames], (frames[0].shape[1], frames[0].shape[0])


def leftovers(lib: Library) -> list[str]:
    return sorted(p.name for p in lib.exports_dir.iterdir())


@pytest.fixture
def jobs_factory() -> Callable[[Library], ExportJobs]:
    made: list[ExportJobs] = []

    def make(lib: Library, **kwargs) -> ExportJobs:
        jobs = ExportJobs(lib, **kwargs)
        made.append(jobs)
        return jobs

    yield make
    for jobs in made:
        jobs.close()


# -- the state machine ------------------------------------------------------------------------


def test_transition_table_is_enforced_for_every_pair() -> None:
    for current, target in product(JobState, JobState):
        if target in TRANSITIONS[current]:
            check_transition(current, target)
        else:
            with pytest.raises(JobStateError, match=f"from {current.value} to {target.value}"):
                check_transition(current, target)
    assert TRANSITIONS[JobState.DONE] == frozenset()
    assert JobState.DONE in TRANSITIONS[JobState.FINISHING]
    assert not any(JobState.DONE in TRANSITIONS[s] for s in JobState if s is not JobState.FINISHING)


def test_job_walks_the_chain_and_rejects_illegal_moves(library, source, jobs_factory) -> None:
    project = seed_reel(library, source)
    jobs = jobs_factory(library)
    uid = jobs.create(project, start=False, **FAST)
    assert jobs.get(uid).state is JobState.QUEUED
    with pytest.raises(JobStateError):
        jobs.transition(uid, JobState.RENDERING)  # skipping preparing
    with pytest.raises(JobStateError):
        jobs.transition(uid, JobState.DONE)
    for state in (JobState.PREPARING, JobState.RENDERING, JobState.FINISHING):
        assert jobs.transition(uid, state).state is state
    # Progress never goes back, and a report never moves the state backwards.
    assert jobs.report(uid, state=JobState.RENDERING, fraction=0.5, stage="x", eta_s=1.0)
    assert jobs.report(uid, state=JobState.PREPARING, fraction=0.2)
    job = jobs.get(uid)
    assert (job.state, job.progress) == (JobState.FINISHING, 0.5)
    assert jobs.transition(uid, JobState.DONE).state is JobState.DONE
    for target in JobState:
        with pytest.raises(JobStateError):
            jobs.transition(uid, target)
    with pytest.raises(JobStateError, match="already done"):
        jobs.cancel(uid)
    with pytest.raises(JobStateError, match="only failed or cancelled"):
        jobs.retry(uid)
    assert not jobs.report(uid, fraction=0.9)  # a finished job takes no progress

    other = jobs.create(project, start=False, **FAST)
    assert jobs.cancel(other).state is JobState.CANCELLED
    assert jobs.cancel(other).state is JobState.CANCELLED  # again: nothing happens
    with pytest.raises(JobStateError):
        jobs.start(other)
    jobs.retry(other, start=False)
    assert jobs.get(other).state is JobState.QUEUED and jobs.get(other).stage == "queued (retry)"
    with pytest.raises(JobNotFound, match="unknown export job"):
        jobs.get("nope")
    with pytest.raises(JobNotFound):
        jobs.cancel("01234567-89ab")
    assert jobs.find(other[:13]).uid == other  # a unique prefix is enough


def test_create_validates_input(library, source, jobs_factory, tmp_path) -> None:
    project = seed_reel(library, source)
    jobs = jobs_factory(library)
    with pytest.raises(ValueError, match="AI upscaling on this computer needs .* Modal GPU backend"):
        with pytest.MonkeyPatch.context() as mp:
            mp.setitem(sys.modules, "torch", None)  # not installed, whatever this environment holds
            jobs.create(project, ExportBackend.LOCAL, Upscaler.REALESRGAN, start=False)
    with pytest.raises(ValueError, match="does not exist"):
        jobs.create(project, out=tmp_path / "missing" / "reel.mp4", start=False)
    with pytest.raises(ValueError, match=r"\.mp4"):
        jobs.create(project, out=tmp_path / "reel.mov", start=False)
    with pytest.raises(ValueError, match="unknown project"):
        jobs.create("01234567-89ab-cdef-0123-456789abcdef", start=False)
    assert jobs.list() == []


def test_spec_is_frozen_at_creation_and_jobs_survive_a_restart(library, source, jobs_factory) -> None:
    project = seed_reel(library, source)
    jobs = jobs_factory(library)
    uid = jobs.create(project, start=False, **FAST)
    before = jobs.get(uid).spec_json
    wc = library.show_project(project)["clips"][0]["uid"]
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 7.0}))  # edited after the export was asked for
    assert jobs.get(uid).spec_json == before
    assert jobs.get(uid).spec.clips[0].rotation == 0.0
    jobs.close()
    library.close()

    again = Library(library.root)  # a new process opening the same folder
    try:
        listed = ExportJobs(again).list()
        assert [j.uid for j in listed] == [uid]
        assert listed[0].state is JobState.QUEUED and listed[0].spec_json == before
        assert listed[0].to_json()["job"] == uid
    finally:
        again.close()


# -- the local backend ------------------------------------------------------------------------


def test_local_export_end_to_end_with_versions(library, source, jobs_factory) -> None:
    name = 'Spiel: "Höhepunkte"?'  # characters Windows forbids in file names
    project = seed_reel(library, source, name=name)
    jobs = jobs_factory(library)
    seen: list[Job] = []
    uid = jobs.create(project, **FAST)
    job = jobs.wait(uid, timeout=60, poll_s=0.02, on_update=seen.append)
    assert job.state is JobState.DONE, job.error
    progress = [j.progress for j in seen]
    assert progress == sorted(progress) and progress[-1] == 1.0
    order = [ACTIVE_STATES.index(j.state) if j.state in ACTIVE_STATES else 4 for j in seen]
    assert order == sorted(order)
    assert any(j.state is JobState.RENDERING and 0 < j.progress < 1 for j in seen)
    assert job.worker_pid is None and job.error is None

    (final,) = jobs.finals(project)
    out = Path(final.path)
    assert out.name == safe_file_stem(name) + "-v1.mp4" == "Spiel_ _Höhepunkte__-v1.mp4"
    assert (final.version, final.width, final.height, final.job_uid) == (1, 320, 180, uid)
    assert final.duration == pytest.approx(2.0, abs=0.04) and final.size_bytes == out.stat().st_size
    numbers, size = frame_numbers(out)
    assert size == SIZE and numbers == list(range(60))
    assert job.output_path == str(out)

    second = jobs.create(project, **FAST)
    assert jobs.wait(second, timeout=60).state is JobState.DONE
    versions = sorted((f.version, Path(f.path).name) for f in jobs.finals(project))
    assert versions == [(1, out.name), (2, out.name.replace("-v1", "-v2"))]
    assert leftovers(library) == sorted(n for _, n in versions)  # every version kept, nothing else
    with library.read() as conn:
        assert conn.execute(select(m.FinalVideo.job_uid).order_by(m.FinalVideo.version)).scalars().all() \
            == [uid, second]


HELD_RENDER = REPO / "tests" / "procs" / "held_render"  # workers started under it hold mid-render


def held_env(base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HELD_RENDER), env.get("PYTHONPATH")]))
    return env


def test_cancel_mid_render_leaves_nothing(library, source, jobs_factory, monkeypatch) -> None:
    project = seed_reel(library, source, speed=0.125)
    monkeypatch.setenv("PYTHONPATH", held_env()["PYTHONPATH"])  # a render that waits to be cancelled
    jobs = jobs_factory(library)
    uid = jobs.create(project, **FAST)
    wait_for(lambda: jobs.get(uid).state is JobState.RENDERING and jobs.get(uid).progress > 0,
             what="the render to start")
    pid = jobs.get(uid).worker_pid
    assert pid_alive(pid) and pid != os.getpid()
    job = jobs.cancel(uid)
    assert job.state is JobState.CANCELLED
    assert not pid_alive(pid)
    assert leftovers(library) == [] and jobs.finals() == []
    jobs.close()  # joins the backend's clean-up of the run: nothing can write the row after this
    assert jobs.get(uid).state is JobState.CANCELLED  # nothing overwrote it afterwards


def test_a_crashing_worker_fails_the_job_clearly_and_retry_runs_it(library, source, jobs_factory,
                                                                   monkeypatch, tmp_path) -> None:
    project = seed_reel(library, source)
    jobs = jobs_factory(library)

    # 1. A source gone after the spec was built: the worker reports the render error.
    uid = jobs.create(project, start=False, **FAST)
    media = library.media_path(jobs.get(uid).spec.clips[0].media_hash)
    hidden = media.with_name("hidden")
    media.rename(hidden)
    jobs.start(uid)
    job = jobs.wait(uid, timeout=30)
    assert job.state is JobState.FAILED
    assert "is missing" in job.error and str(media) in job.error
    assert leftovers(library) == []

    # 2. The worker process dies (exit 3) before it says anything: exit code + its last words.
    crash = tmp_path / "crash"
    crash.mkdir()
    (crash / "sitecustomize.py").write_text(
        "import os, sys\nif sys.argv[:1] == ['-m']:  # python -m core.export.worker ...\n"
        "    sys.stderr.write('simulated renderer crash\\n'); sys.stderr.flush(); os._exit(3)\n",
        encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(crash), os.environ.get("PYTHONPATH", "")]))
    second = jobs.create(project, **FAST)
    job = jobs.wait(second, timeout=30)
    assert job.state is JobState.FAILED
    assert "stopped unexpectedly (exit code 3): simulated renderer crash" in job.error

    # Fixed: retry runs the same row again, with the spec it had.
    monkeypatch.setenv("PYTHONPATH", os.environ["PYTHONPATH"].split(os.pathsep, 1)[1])
    hidden.rename(media)
    spec_before = job.spec_json
    assert jobs.retry(uid) == uid
    job = jobs.wait(uid, timeout=60)
    assert job.state is JobState.DONE and job.error is None and job.spec_json == spec_before
    assert len(jobs.list()) == 2 and len(jobs.finals()) == 1


APP = """
import sys
from pathlib import Path
from core.export.jobs import ExportJobs
from core.library import Library
jobs = ExportJobs(Library(Path(sys.argv[1])))
jobs.wait(jobs.create(sys.argv[2], size=(320, 180), preset="ultrafast", crf=30))
"""


def test_restart_recovery_reruns_a_job_whose_processes_were_killed(library, source, jobs_factory) -> None:
    project = seed_reel(library, source, speed=0.125)
    # The app: another process running the export, killed (with its render child) mid-render.
    app = subprocess.Popen(  # its worker holds mid-render until it is killed
        [sys.executable, "-c", APP, str(library.root), project],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=held_env(),
    )
    jobs = jobs_factory(library)
    try:
        wait_for(lambda: any(j.state is JobState.RENDERING and j.progress > 0 for j in jobs.list()),
                 timeout=60, what="the render to be under way")
    except AssertionError:
        app.kill()
        raise AssertionError(app.communicate()[1].decode(errors="replace")) from None
    (job,) = jobs.list()
    child = job.worker_pid
    assert child not in (None, app.pid) and pid_alive(child)
    # Both die at once, the renderer hard (no clean-up). Freezing the app first keeps it from
    # recording the child's death; without SIGSTOP (Windows) the child sees its parent go and
    # cancels itself instead, and no partial file is left to sweep.
    frozen = hasattr(signal, "SIGSTOP")
    if frozen:
        os.kill(app.pid, signal.SIGSTOP)
        os.kill(child, signal.SIGKILL)
    app.kill()
    app.communicate()  # reaps it and closes its stderr pipe
    if not frozen:
        os.kill(child, signal.SIGTERM)
    wait_for(lambda: not pid_alive(child), what="the worker to die")
    if frozen:  # the killed render left its partial: a clip part being encoded into the cache
        assert list((library.cache_dir / "parts").glob(".*.partial.mp4"))
    assert jobs.get(job.uid).state is JobState.RENDERING  # nobody recorded anything

    # Start-up of a new app on the same folder.
    again = Library(library.root)
    try:
        fresh = jobs_factory(again)
        assert fresh.recover() == [job.uid]
        assert partial_files(again.exports_dir, job.uid) == []
        done = fresh.wait(job.uid, timeout=60)
        assert done.state is JobState.DONE, done.error
        (final,) = fresh.finals()
        numbers, size = frame_numbers(Path(final.path))
        assert size == SIZE and len(numbers) == 16 * 30  # 2 s at 1/8 speed
        assert numbers[::8] == list(range(60))  # each source frame shown 8 times
        assert fresh.recover() == []  # nothing left to pick up
    finally:
        again.close()


def test_recover_leaves_a_job_alone_while_its_process_lives(library, source, jobs_factory) -> None:
    project = seed_reel(library, source)
    jobs = jobs_factory(library)
    live = jobs.create(project, start=False, **FAST)
    jobs.claim(live, owner_pid=os.getppid())  # "another app" that is still running
    jobs.transition(live, JobState.RENDERING)
    gone = jobs.create(project, start=False, **FAST)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    jobs.claim(gone, owner_pid=dead.pid)
    stale = library.exports_dir / f"..reeldesk-{gone}.0123456789ab.partial.mp4"
    stale.write_bytes(b"half a render")
    assert jobs.recover() == [gone]
    assert not stale.exists()
    assert jobs.get(live).state is JobState.RENDERING
    assert jobs.wait(gone, timeout=60).state is JobState.DONE
    jobs.fail(live, "test over")


def test_frozen_app_runs_its_console_twin_as_the_export_worker(tmp_path, monkeypatch):
    """A windowed frozen exe has no stdout on Windows: the worker must be reeldesk-cli."""
    import sys

    from core.export.local_backend import WORKER_FLAG, worker_command
    app = tmp_path / "ReelDesk.exe"
    twin = tmp_path / "reeldesk-cli.exe"
    app.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    assert worker_command("job", tmp_path)[:2] == [str(app), WORKER_FLAG]  # no twin: itself
    twin.write_bytes(b"")
    assert worker_command("job", tmp_path)[:2] == [str(twin), WORKER_FLAG]
