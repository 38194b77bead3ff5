"""The Modal backend without Modal: the app's functions run through ``.local()`` on real FFmpeg
(file:// URLs), chunk planning and the lossless join are checked on decoded frames, and the
desktop client is driven through a fake of Modal's Function / FunctionCall / Dict."""
from __future__ import annotations

import dataclasses
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from core.enums import ExportBackend, JobState, TitleBackground, TransitionType, Upscaler
from core.export import modal_app
from core.export.chunks import chunk_media, plan_chunks
from core.export.jobs import ExportJobs, Job
from core.export.modal_backend import (
    APP_NAME,
    MODAL_KEYRING_SERVICE,
    MODAL_TOKEN_ID_SETTING,
    ORCHESTRATOR,
    PROGRESS_DICT,
    RENDER_FUNCTION,
    ModalBackend,
)
from core.export.render import render
from core.export.spec import CropKeyframe, OutputSettings, RenderSpec, TextElement, TitleCard, Transition
from core.library import Library
from tests.fixtures.media import make_video, read_frame_number
from tests.test_export_jobs import FAST, leftovers, seed_reel, wait_for
from tests.test_export_render import RecordingModel, clip, output, reel


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("modal-src") / "game.mp4", seconds=3.0)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def samples(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


def envelope(x: np.ndarray, window: int = 480) -> np.ndarray:
    n = len(x) // window
    return np.sqrt((x[: n * window].reshape(n, window) ** 2).mean(axis=1))


# -- the Modal app, run locally ---------------------------------------------------------------


def test_app_names_match_what_the_client_calls() -> None:
    assert modal_app.app.name == APP_NAME
    assert str(modal_app.orchestrate).endswith(f"({ORCHESTRATOR})")
    assert str(modal_app.render_chunk).endswith(f"({RENDER_FUNCTION})")


def test_render_function_runs_locally_on_file_urls(source: Path, tmp_path: Path) -> None:
    spec = reel(clip("h", end=1.0), out=output(upscaler=Upscaler.LANCZOS))
    out = tmp_path / "R2 bucket – ä" / "render.mp4"  # non-ASCII, spaces: percent-encoded URL
    info = modal_app.render_chunk.local("job-local", spec.to_json(), {"h": source.as_uri()},
                                        out.as_uri())
    frames = decode(out)
    assert len(frames) == 30 and frames[0].shape == (180, 320, 3)
    assert [read_frame_number(f) for f in frames] == list(range(30))
    assert (info["width"], info["height"], info["size_bytes"]) == (320, 180, out.stat().st_size)
    assert info["duration"] == pytest.approx(1.0, abs=0.04)
    last = modal_app.LOCAL_PROGRESS["job-local"]
    assert last["state"] == "finishing" and last["fraction"] > 0.99


def test_render_function_uses_the_injected_ai_upscaler(source: Path) -> None:
    model = RecordingModel()
    zoom = (CropKeyframe(0.0, 100.0, 60.0, 80.0, 45.0),)  # smaller than the output: upscaled
    spec = reel(clip("h", end=0.5, crop=zoom), out=output(upscaler=Upscaler.REALESRGAN))
    store: dict[str, Any] = {}
    info = modal_app.run_render("job-ai", spec.to_json(), {"h": source.as_uri()}, None,
                                store=store, upscaler=model)
    assert set(model.inputs) == {(80, 46)}  # the native crops went through the upscaler
    assert info["data"][4:8] == b"ftyp" and (info["width"], info["height"]) == (320, 180)
    assert store["job-ai"]["state"] == "finishing"


def _reel_with_everything() -> RenderSpec:
    return reel(
        clip("h", end=1.0),
        clip("h", start=1.0, end=2.0, splits=(("s1", 0.5),), speeds=(("s1", 0.5),)),
        clip("h", start=0.2, end=1.4, transition_in=Transition(TransitionType.DISSOLVE, 0.4)),
        clip("h", start=1.5, end=2.5, transition_in=Transition(TransitionType.FADE, 0.4)),
    )


def test_chunks_cover_every_frame_once_and_never_cut_a_transition() -> None:
    spec = _reel_with_everything()
    fps = 30
    total = round(spec.output_duration * fps)  # 1 + 1.5 + 1.2 - 0.4 + 1.0 = 4.3 s
    assert total == 129
    assert [c.frames for c in plan_chunks(spec, 60.0)] == [total]
    chunks = plan_chunks(spec, 0.9)
    assert len(chunks) == 5
    assert [c.first_frame for c in chunks] == [0, *np.cumsum([c.frames for c in chunks])[:-1]]
    assert sum(c.frames for c in chunks) == total
    starts = spec.clip_starts()
    busy = [(starts[2], starts[2] + 0.4), (starts[3] - 0.2, starts[3] + 0.2)]  # dissolve, fade
    boundaries = {int(np.floor(b * fps + 1e-9)) for b in (starts[1], starts[1] + 0.5, starts[2])}
    cuts = [c.first_frame for c in chunks[1:]]
    for k in cuts:
        assert not any(lo < k / fps < hi for lo, hi in busy), f"cut at frame {k} inside a transition"
    assert boundaries & set(cuts), "no cut was placed on a clip or segment boundary"
    for c in chunks:
        # Each chunk's own spec renders exactly its frames.
        assert int(np.floor(c.spec.output_duration * fps + 0.5)) == c.frames
        assert c.spec.clips[0].transition_in.type is TransitionType.CUT


def test_orchestrator_joins_parallel_chunks_without_reencoding(source: Path, tmp_path: Path) -> None:
    spec = reel(
        clip("h", end=1.3, splits=(("s1", 0.55),), speeds=(("s1", 0.5),)),
        clip("h", start=1.0, end=2.4, transition_in=Transition(TransitionType.DISSOLVE, 0.3)),
        clip("h", start=0.2, end=1.2),
        # B-frames (veryfast): the join must keep a valid decode order across chunks.
        out=OutputSettings(320, 180, 30, 1, crf=12, preset="veryfast"),
    )
    urls = {"h": source.as_uri()}
    chunks = plan_chunks(spec, 0.9)
    assert len(chunks) == 5
    rendered: list[bytes] = []

    def spawn(*args: Any) -> Any:
        handle = modal_app._spawn_chunk(*args)
        rendered.append(handle.poll()["data"])
        return handle

    out = tmp_path / "r2" / "job.mp4"
    store: dict[str, Any] = {}
    info = modal_app.run_orchestration("job-o", spec.to_json(), urls, out.as_uri(), 0.9,
                                       store=store, spawn=spawn, poll_s=0.01)
    assert info["chunks"] == 5 and store["job-o"]["stage"] == "uploading the render"
    # Each chunk reports under its own key (here: the local stand-in for the Modal Dict).
    assert all(modal_app.LOCAL_PROGRESS[f"job-o/{i}"]["state"] == "finishing" for i in range(5))

    full = render(spec, lambda h: source, tmp_path / "full.mp4")
    joined, whole = decode(out), decode(full)
    assert len(joined) == len(whole) == 124
    assert [read_frame_number(f) for f in joined] == [read_frame_number(f) for f in whole]
    parts = []
    for i, data in enumerate(rendered):
        part = tmp_path / f"chunk{i}.mp4"
        part.write_bytes(data)
        parts.append(decode(part))
    assert [len(p) for p in parts] == [c.frames for c in chunks]
    # Lossless: the joined picture is the chunks' picture, bit for bit.
    assert all(np.array_equal(a, b) for a, b in zip(joined, [f for p in parts for f in p], strict=True))
    with av.open(str(out)) as container:
        keys = [i for i, p in enumerate(container.demux(container.streams.video[0]))
                if p.size and p.is_keyframe]
    assert {c.first_frame for c in chunks} <= set(keys)
    # The sound has the full render's length and stays on its picture: the same loudness
    # envelope (10 ms windows), the source's clicks in the same windows.
    a, b = envelope(samples(out)), envelope(samples(full))
    assert len(a) == len(b)
    assert float(np.abs(a - b).mean()) < 0.01
    clicks = np.flatnonzero(b > 0.4)
    assert len(clicks) >= 2 and np.array_equal(np.flatnonzero(a > 0.4), clicks)

    # The same through orchestrate.local(): chunks run in this process, the output lands.
    again = tmp_path / "r2" / "job2.mp4"
    assert modal_app.orchestrate.local("job-o2", spec.to_json(), urls, again.as_uri(), 0.9)["chunks"] == 5
    assert len(decode(again)) == 124


def _with_card(spec: RenderSpec, working_clip: str) -> RenderSpec:
    """The reel behind a 0.5 s card whose background is a frame of ``working_clip``."""
    card = TitleCard(0.5, background=TitleBackground.FRAME, working_clip=working_clip, time=0.3, blur=0.01,
                     dim=0.3, elements=(TextElement("FINAL", size=0.2),))
    return dataclasses.replace(spec, title_card=card)


def test_the_chunk_plan_puts_the_title_card_in_chunk_0() -> None:
    base = _reel_with_everything()
    last = dataclasses.replace(base.clips[-1], uid="last")
    spec = _with_card(dataclasses.replace(base, clips=(*base.clips[:-1], last)), "last")
    total = 15 + 129  # the card's frames, then the clips'
    chunks = plan_chunks(spec, 0.9)
    assert len(chunks) >= 3
    assert sum(c.frames for c in chunks) == total
    assert [c.first_frame for c in chunks] == [0, *np.cumsum([c.frames for c in chunks])[:-1]]
    first, rest = chunks[0], chunks[1:]
    assert first.spec.title_card is not None and all(c.spec.title_card is None for c in rest)
    # Chunk 0 renders the card's 15 frames and its clips' frames.
    assert int(np.floor(first.spec.output_duration * 30 + 0.5)) + 15 == first.frames
    # Its clips end before the card's background clip starts: the card carries that clip, and
    # the chunk is given its media.
    assert "last" not in {c.uid for c in first.spec.clips}
    assert first.spec.title_card.clip == last
    assert chunk_media(first.spec) == {"h"}
    assert RenderSpec.from_json(first.spec.to_json()) == first.spec  # it travels to the GPU as JSON


def test_a_chunked_render_has_the_title_card_of_a_one_pass_render(source: Path, tmp_path: Path) -> None:
    spec = _with_card(reel(clip("h", end=0.8), dataclasses.replace(clip("h", start=1.0, end=1.8), uid="b")), "b")
    chunks = plan_chunks(spec, 0.5)
    assert len(chunks) >= 3 and "b" not in {c.uid for c in chunks[0].spec.clips}
    out = tmp_path / "r2" / "job.mp4"
    modal_app.run_orchestration("job-card", spec.to_json(), {"h": source.as_uri()}, out.as_uri(), 0.5,
                                store={}, poll_s=0.01)
    joined, whole = decode(out), decode(render(spec, lambda h: source, tmp_path / "full.mp4"))
    assert len(joined) == len(whole) == 15 + 48
    for k in (0, 7, 14):  # the card: the same blurred frame of clip b and the same text
        assert np.abs(joined[k].astype(np.int16) - whole[k]).mean() < 1.5
    assert np.abs(joined[7].astype(np.int16) - joined[20]).mean() > 5  # not the first clip's picture
    assert [read_frame_number(f) for f in joined[15:]] == [read_frame_number(f) for f in whole[15:]]


# -- the desktop client with a fake Modal -----------------------------------------------------


class FakeCall:
    def __init__(self, call_id: str, run: Callable[[], Any] | None = None, flaky: int = 0) -> None:
        self.object_id = call_id
        self.cancelled = False
        self.flaky = flaky
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        if run is not None:
            threading.Thread(target=self._run, args=(run,), daemon=True).start()

    def _run(self, run: Callable[[], Any]) -> None:
        try:
            self.finish(run())
        except Exception as exc:  # surfaced by get(), like a remote error
            self.finish(error=exc)

    def finish(self, result: Any = None, error: BaseException | None = None) -> None:
        self._result, self._error = result, error
        self._done.set()

    def get(self, timeout: float | None = None) -> Any:
        if self.flaky:
            self.flaky -= 1
            raise ConnectionError("connection reset by peer")
        if not self._done.wait(timeout or 0):
            raise TimeoutError()
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self) -> None:
        self.cancelled = True


class FakeModal:
    """Modal's Function.from_name / FunctionCall.from_id / Dict.from_name, in memory. ``run``:
    spawned calls execute the real orchestrator through ``.local()``; otherwise they wait for
    the test to ``finish`` them."""

    def __init__(self, *, run: bool = False, calls: dict[str, FakeCall] | None = None,
                 flaky: int = 0) -> None:
        self.run = run
        self.flaky = flaky
        self.calls = calls if calls is not None else {}
        self.spawned: list[tuple[str, tuple[Any, ...]]] = []
        self.looked_up: list[str] = []
        self.secrets = ("fake-secret",)

    def function(self, app_name: str, name: str) -> Any:
        assert (app_name, name) == (APP_NAME, ORCHESTRATOR)
        fake = self

        class Function:
            def spawn(self, *args: Any) -> FakeCall:
                call_id = f"fc-{len(fake.calls) + 1}"
                fake.spawned.append((call_id, args))
                run = (lambda: modal_app.orchestrate.local(*args)) if fake.run else None
                call = fake.calls[call_id] = FakeCall(call_id, run, fake.flaky)
                return call

        return Function()

    def call(self, call_id: str) -> FakeCall:
        self.looked_up.append(call_id)
        return self.calls[call_id]

    def dict(self, name: str) -> dict[str, Any]:
        assert name == PROGRESS_DICT
        return modal_app.LOCAL_PROGRESS


class FolderPresigner:
    """R2 stand-in: sources are read in place, renders land in a folder, as file:// URLs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.media: list[str] = []

    def media_url(self, media_hash: str, local_path: Path) -> str:
        self.media.append(media_hash)
        return local_path.as_uri()

    def output_url(self, job_uid: str) -> tuple[str, str]:
        key = f"renders/{job_uid}.mp4"
        return key, (self.root / key).as_uri()

    def download(self, key: str, dest: Path) -> None:
        shutil.copyfile(self.root / key, dest)


@pytest.fixture
def modal_jobs(library: Library, tmp_path: Path):
    made: list[ExportJobs] = []

    def make(lib: Library, client: Any, **kwargs: Any) -> ExportJobs:
        backend = ModalBackend(client=client, presigner=FolderPresigner(tmp_path / "r2"), poll_s=0.02,
                               **kwargs)
        jobs = ExportJobs(lib, modal=backend)
        made.append(jobs)
        return jobs

    yield make
    for jobs in made:
        jobs.close()


def test_modal_job_spawns_polls_progress_and_lands_as_a_final_video(library, source, modal_jobs,
                                                                    tmp_path) -> None:
    project = seed_reel(library, source, seconds=1.0)
    fake = FakeModal(run=True, flaky=1)  # one lost connection on the way: retried, not failed
    jobs = modal_jobs(library, fake)
    seen: list[Job] = []
    uid = jobs.create(project, ExportBackend.MODAL, Upscaler.LANCZOS, **FAST)
    job = jobs.wait(uid, timeout=60, poll_s=0.01, on_update=seen.append)
    assert job.state is JobState.DONE, job.error
    ((call_id, args),) = fake.spawned
    assert args[0] == uid and args[1] == job.spec_json and job.modal_call_id == call_id
    assert args[3] == (tmp_path / "r2" / f"renders/{uid}.mp4").as_uri()
    assert job.r2_key == f"renders/{uid}.mp4"
    progress = [j.progress for j in seen]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert any("Modal GPU" in j.stage for j in seen)
    (final,) = jobs.finals(project)
    assert final.r2_key == job.r2_key and final.version == 1 and (final.width, final.height) == (320, 180)
    assert [read_frame_number(f) for f in decode(Path(final.path))] == list(range(30))
    assert leftovers(library) == [Path(final.path).name]


def test_modal_job_is_reattached_by_call_id_after_a_restart(library, source, modal_jobs,
                                                            tmp_path) -> None:
    project = seed_reel(library, source, seconds=1.0)
    fake = FakeModal()
    jobs = modal_jobs(library, fake)
    uid = jobs.create(project, ExportBackend.MODAL, **FAST)
    wait_for(lambda: jobs.get(uid).modal_call_id is not None, what="the spawn")
    modal_app.LOCAL_PROGRESS[uid] = {"state": "rendering", "fraction": 0.4, "eta_s": 3.0,
                                     "stage": "rendering frame 12 of 30"}
    wait_for(lambda: jobs.get(uid).progress == 0.4, what="progress from the Dict")
    job = jobs.get(uid)
    assert job.state is JobState.RENDERING and job.eta_s == 3.0
    assert job.stage == "rendering frame 12 of 30 (Modal GPU)"
    jobs.close()  # the app quits; the render goes on in the cloud
    library.close()

    again = Library(library.root)
    try:
        fake2 = FakeModal(calls=fake.calls)  # a new process: a new client, the same Modal
        fresh = modal_jobs(again, fake2)
        assert fresh.get(uid).state is JobState.RENDERING
        assert fresh.recover() == [uid]
        wait_for(lambda: fake2.looked_up == [job.modal_call_id], what="the re-attach")
        # The remote render finishes: its output is in "R2", the call returns.
        spec = fresh.get(uid).spec
        info = modal_app.run_render(uid, spec.to_json(), {spec.clips[0].media_hash: again.media_path(
            spec.clips[0].media_hash).as_uri()}, (tmp_path / "r2" / f"renders/{uid}.mp4").as_uri(),
            store={})
        fake.calls[job.modal_call_id].finish(info)
        done = fresh.wait(uid, timeout=30)
        assert done.state is JobState.DONE, done.error
        assert fake2.spawned == []  # re-attached, not started again
        assert fresh.final_of(uid).r2_key == f"renders/{uid}.mp4"
    finally:
        again.close()


def test_cancel_stops_the_modal_call(library, source, modal_jobs) -> None:
    project = seed_reel(library, source, seconds=1.0)
    fake = FakeModal()
    jobs = modal_jobs(library, fake)
    uid = jobs.create(project, ExportBackend.MODAL, **FAST)
    wait_for(lambda: jobs.get(uid).modal_call_id is not None, what="the spawn")
    assert jobs.cancel(uid).state is JobState.CANCELLED
    assert fake.calls[jobs.get(uid).modal_call_id].cancelled
    assert leftovers(library) == [] and jobs.finals() == []


def test_remote_failure_fails_the_job_with_its_message_and_retry_spawns_again(library, source,
                                                                            modal_jobs) -> None:
    project = seed_reel(library, source, seconds=1.0)
    fake = FakeModal()
    jobs = modal_jobs(library, fake)
    uid = jobs.create(project, ExportBackend.MODAL, **FAST)
    wait_for(lambda: jobs.get(uid).modal_call_id is not None, what="the spawn")
    fake.calls["fc-1"].finish(error=RuntimeError("CUDA out of memory"))
    job = jobs.wait(uid, timeout=10)
    assert job.state is JobState.FAILED
    assert job.error == "the Modal render failed: RuntimeError: CUDA out of memory"
    jobs.retry(uid)
    wait_for(lambda: jobs.get(uid).modal_call_id == "fc-2", what="a second spawn")
    jobs.cancel(uid)


def test_spawn_errors_fail_fast_with_a_clear_message(library, source, modal_jobs) -> None:
    project = seed_reel(library, source, seconds=1.0)

    class Offline(FakeModal):
        def function(self, app_name: str, name: str) -> Any:
            class Function:
                def spawn(self, *args: Any) -> Any:
                    raise ConnectionError("Deadline Exceeded (token fake-secret)")
            return Function()

    jobs = modal_jobs(library, Offline())
    job = jobs.wait(jobs.create(project, ExportBackend.MODAL, **FAST), timeout=10)
    assert job.state is JobState.FAILED
    assert job.error.startswith("cannot reach Modal: ConnectionError: Deadline Exceeded")
    assert "fake-secret" not in job.error


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_token_or_network_a_modal_job_fails_fast(library, source, tmp_path, monkeypatch,
                                                         memory_keyring) -> None:
    for name in ("MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "no-modal.toml"))
    project = seed_reel(library, source, seconds=1.0)
    jobs = ExportJobs(library, modal=ModalBackend(presigner=FolderPresigner(tmp_path / "r2")))
    try:
        ok, why = jobs.modal_available()
        assert not ok and why.startswith("Modal is not configured")
        started = time.monotonic()
        uid = jobs.create(project, ExportBackend.MODAL, **FAST)
        job = jobs.wait(uid, timeout=20)
        assert job.state is JobState.FAILED and job.error.startswith("Modal is not configured: ")
        assert time.monotonic() - started < 5

        # A token in the keyring, but no way to Modal: a clear message, in seconds, and no secret.
        library.set_setting(MODAL_TOKEN_ID_SETTING, "ak-test")
        memory_keyring.set_password(MODAL_KEYRING_SERVICE, "ak-test", "as-very-secret")
        port = _closed_port()
        monkeypatch.setenv("MODAL_SERVER_URL", f"https://127.0.0.1:{port}")
        started = time.monotonic()
        jobs.retry(uid)
        job = jobs.wait(uid, timeout=20)
        assert job.state is JobState.FAILED
        assert job.error.startswith(f"cannot reach Modal: 127.0.0.1:{port}")
        assert "as-very-secret" not in job.error
        assert time.monotonic() - started < 10
    finally:
        jobs.close()


def test_a_cancel_made_offline_is_sent_when_modal_answers_again(library, source, modal_jobs) -> None:
    project = seed_reel(library, source, seconds=1.0)
    fake = FakeModal()
    jobs = modal_jobs(library, fake)
    uid = jobs.create(project, ExportBackend.MODAL, **FAST)
    wait_for(lambda: jobs.get(uid).modal_call_id is not None, what="the spawn")
    call = fake.calls[jobs.get(uid).modal_call_id]
    offline = threading.Event()
    offline.set()
    told = call.cancel

    def cancel() -> None:
        if offline.is_set():
            raise ConnectionError("network is unreachable")
        told()

    call.cancel = cancel
    job = jobs.cancel(uid)
    assert job.state is JobState.CANCELLED and job.cancel_pending
    assert not call.cancelled  # the remote render still runs
    jobs.close()

    offline.clear()  # back online: the next start of the app sends it
    again = modal_jobs(library, fake)
    again.recover()
    wait_for(lambda: call.cancelled and not again.get(uid).cancel_pending, what="the pending cancel")
    assert again.get(uid).state is JobState.CANCELLED
