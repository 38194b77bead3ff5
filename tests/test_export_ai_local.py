"""Real-ESRGAN on this computer: what is missing is said before a job exists, the weights come
from a real local HTTP server and are kept only with the pinned SHA-256, and the worker renders
with this computer's upscaler (a recording model here: the suite never needs a GPU)."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from core.enums import ExportBackend, Upscaler
from core.export import ai_local, worker
from core.export.ai_local import WEIGHTS_NAME, fetch_weights, local_ai_problem
from core.export.job_table import JobTable
from core.export.jobs import ExportJobs
from tests.fixtures.media import make_video
from tests.fixtures.weights_server import WEIGHTS, WEIGHTS_SHA256
from tests.test_export_jobs import seed_reel
from tests.test_export_render import RecordingModel

BIG = (640, 360)  # twice the reel's 320x180 crop: the upscaler runs


def _installed(monkeypatch: pytest.MonkeyPatch, folder: Path, *names: str) -> None:
    """Packages that the import system finds (empty ones: nothing here imports them)."""
    for name in names:
        (folder / "site" / name).mkdir(parents=True)
        (folder / "site" / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(folder / "site"))


def _missing(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Packages that the import system does not find, whatever this environment holds."""
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def test_missing_packages_are_named_with_the_way_out(tmp_path, monkeypatch) -> None:
    _installed(monkeypatch, tmp_path, "spandrel")
    _missing(monkeypatch, "torch")
    problem = local_ai_problem(tmp_path)
    assert problem is not None and "needs torch" in problem and "spandrel" not in problem
    assert "reeldesk[ai]" in problem and "Modal GPU backend" in problem


def test_missing_weights_name_the_file_and_the_command(tmp_path, monkeypatch) -> None:
    _installed(monkeypatch, tmp_path, "torch", "spandrel")
    problem = local_ai_problem(tmp_path)
    assert problem is not None and str(tmp_path / WEIGHTS_NAME) in problem
    assert "reeldesk models fetch" in problem
    (tmp_path / WEIGHTS_NAME).write_bytes(WEIGHTS)
    assert local_ai_problem(tmp_path) is None


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("ai-src") / "game.mp4", seconds=2.0)


def test_fetch_keeps_the_file_only_with_the_pinned_hash(weights_server, tmp_path) -> None:
    server, good = weights_server, WEIGHTS_SHA256
    with pytest.raises(RuntimeError, match=f"SHA-256 {good}, expected {'0' * 64}.*nothing was kept"):
        fetch_weights(tmp_path, url=server.url(), sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .part
    seen: list[tuple[int, int | None]] = []
    path = fetch_weights(tmp_path, url=server.url(), sha256=good, on_progress=lambda *p: seen.append(p))
    assert path == tmp_path / WEIGHTS_NAME and path.read_bytes() == WEIGHTS
    assert seen[-1] == (len(WEIGHTS), len(WEIGHTS)) and [p.name for p in tmp_path.iterdir()] == [WEIGHTS_NAME]
    fetch_weights(tmp_path, url=server.url(), sha256=good)  # already there: not downloaded again
    assert server.requests == 2


def test_fetch_failures_say_what_failed(weights_server, tmp_path) -> None:
    server = weights_server
    with pytest.raises(RuntimeError, match="HTTP 404"):
        fetch_weights(tmp_path, url=server.url("/gone.pth"), sha256="0" * 64)
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(RuntimeError, match=f"downloading http://127.0.0.1:{port}/x4.pth into .* failed"):
        fetch_weights(tmp_path, url=server.url(), sha256="0" * 64, timeout=5.0)
    assert list(tmp_path.iterdir()) == []


def test_a_local_ai_job_is_refused_before_it_exists_when_the_gpu_path_is_missing(
        library, source, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ai_local.ENV_MODELS, str(tmp_path / "models"))
    _installed(monkeypatch, tmp_path, "torch", "spandrel")
    project = seed_reel(library, source)
    jobs = ExportJobs(library)
    try:
        with pytest.raises(ValueError, match="reeldesk models fetch"):
            jobs.create(project, ExportBackend.LOCAL, Upscaler.REALESRGAN, start=False)
        assert jobs.list() == []
    finally:
        jobs.close()


def _running_ai_job(library, source, tmp_path, monkeypatch) -> str:
    models = tmp_path / "models"
    models.mkdir()
    (models / WEIGHTS_NAME).write_bytes(WEIGHTS)
    monkeypatch.setenv(ai_local.ENV_MODELS, str(models))
    _installed(monkeypatch, tmp_path, "torch", "spandrel")
    project = seed_reel(library, source)
    jobs = ExportJobs(library)
    try:
        uid = jobs.create(project, ExportBackend.LOCAL, Upscaler.REALESRGAN, size=BIG, preset="ultrafast",
                          start=False)
    finally:
        jobs.close()
    assert JobTable(library).claim(uid)
    return uid


def test_the_worker_renders_with_this_computers_upscaler(library, source, tmp_path,
                                                         monkeypatch) -> None:
    uid = _running_ai_job(library, source, tmp_path, monkeypatch)
    model = RecordingModel()
    monkeypatch.setattr(ai_local, "local_upscaler", lambda folder=None: model)
    events: list[tuple[str, dict]] = []
    code = worker.run(uid, library.root, lambda event, **f: events.append((event, f)), threading.Event())
    assert code == worker.EXIT_DONE, events
    done = events[-1]
    assert done[0] == "done" and (done[1]["width"], done[1]["height"]) == BIG
    assert set(model.inputs) == {(320, 180)}  # the crops went through the model at their own pixels
    Path(done[1]["path"]).unlink()


def test_the_worker_says_what_is_missing_on_a_computer_without_the_gpu_path(
        library, source, tmp_path, monkeypatch) -> None:
    uid = _running_ai_job(library, source, tmp_path, monkeypatch)
    _missing(monkeypatch, "torch", "spandrel")  # then uninstalled
    events: list[tuple[str, dict]] = []
    code = worker.run(uid, library.root, lambda event, **f: events.append((event, f)), threading.Event())
    assert code == worker.EXIT_FAILED
    assert events[-1][0] == "error" and "needs torch and spandrel" in events[-1][1]["message"]
    assert not any(p.suffix == ".mp4" for p in library.exports_dir.iterdir())
