"""``reeldesk export``, ``reeldesk jobs``, ``reeldesk cancel`` and ``reeldesk retry``.

``export`` creates an export job and waits for it, with a progress bar on stderr when stderr is a
terminal, then prints ``{"job", "state", "output", "duration", "width", "height"}``. A local job
renders in a child of this process, so the command stays until the job ends; Ctrl+C cancels it
(nothing is left behind) and exits 130. Exit codes: 0 done, 1 the render failed or was cancelled
elsewhere, 2 bad input.

This module also gives the Modal backend its way to R2: a presigner over the sync store (core
cannot import sync), registered when the module is imported — ``desktop.cli`` imports it for
every command and for the window.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.editmath import parse_size
from core.enums import AspectRatio, ExportBackend, JobState, Upscaler, VideoEncoder
from core.export.jobs import ExportJobs, Job
from core.export.local_backend import WORKER_FLAG
from core.export.modal_backend import ModalNotConfigured, register_presigner_factory
from core.export.part_cache import FOLDER as PART_FOLDER
from core.export.part_cache import read_report
from core.export.spec import X264_PRESETS
from core.library import Library

from desktop.cli_common import EXIT_FAILED, CliError, Outcome, error_line

if TYPE_CHECKING:
    from sync.store import RemoteStore

log = logging.getLogger(__name__)

GET_URL_TTL_S = 3 * 3600  # sources are fetched when a GPU container starts
PUT_URL_TTL_S = 12 * 3600  # the render is uploaded at its end: outlive a long render
_BAR_WIDTH = 24


def _crf(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 51")
    return value


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``export``, ``jobs``, ``cancel`` and ``retry`` to the ``reeldesk`` parser."""
    common = list(parents)
    p = subparsers.add_parser("export", parents=common, help="render a project to an MP4 and wait for it",
                              description="Render a project (reel) to an MP4 in the library's exports "
                                          "folder, or FILE, and wait for it.")
    p.add_argument("project", metavar="PROJECT", help="project uid or name")
    p.add_argument("--backend", choices=[b.value for b in ExportBackend], default=ExportBackend.LOCAL.value,
                   help="render on this computer (default) or on Modal cloud GPUs")
    p.add_argument("--upscale", choices=[u.value for u in Upscaler], default=Upscaler.NONE.value,
                   help="upscaler: none (default), lanczos, or realesrgan (AI x4: Modal, or this computer's NVIDIA "
                        "GPU with the ai extra and 'reeldesk models fetch')")
    p.add_argument("--out", type=Path, metavar="FILE", help="write the MP4 here (default: exports/NAME-vN.mp4)")
    p.add_argument("--crf", type=_crf, default=20, metavar="N", help="x264 quality, 0-51 (default 20)")
    p.add_argument("--preset", choices=X264_PRESETS, default="medium", metavar="P",
                   help="x264 preset, ultrafast ... veryslow (default medium)")
    p.add_argument("--size", metavar="WxH", help="output size preset of the reel's aspect, e.g. 1440x2560 or "
                                                  "1440 (default: 1080 short side)")
    p.add_argument("--encoder", choices=[e.value for e in VideoEncoder], default=VideoEncoder.X264.value,
                   help="H.264 encoder: x264 (default), auto (a working GPU encoder if any), nvenc, qsv "
                        "or amf; falls back to x264 when the GPU encoder is not usable")

    subparsers.add_parser("jobs", parents=common, help="list export jobs, newest first",
                          description="List export jobs with their state, progress and output.")

    p = subparsers.add_parser("cancel", parents=common, help="cancel an export job",
                              description="Cancel an export job at any stage; nothing partial is left.")
    p.add_argument("job", metavar="JOB", help="job uid (or a unique prefix of 8+ characters)")

    p = subparsers.add_parser("retry", parents=common, help="run a failed or cancelled export job again",
                              description="Run a failed or cancelled export job again (same settings) "
                                          "and wait for it.")
    p.add_argument("job", metavar="JOB", help="job uid (or a unique prefix of 8+ characters)")


# -- helpers -----------------------------------------------------------------------------------
def project_uid(lib: Library, text: str) -> str:
    projects = lib.projects()
    for p in projects:
        if p["uid"] == text:
            return p["uid"]
    for match in (lambda p: p["name"] == text, lambda p: p["name"].casefold() == text.casefold()):
        found = [p for p in projects if match(p)]
        if len(found) == 1:
            return found[0]["uid"]
        if len(found) > 1:
            raise CliError(f"{len(found)} projects are called {text!r}; use the project uid")
    raise CliError(f"unknown project {text}")


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, s = divmod(round(seconds), 60)
    return f"  ETA {m}:{s:02d}"


class _Bar:
    def __init__(self) -> None:
        from desktop.cli_import import ProgressBar

        self.bar = ProgressBar.for_stderr()

    def __call__(self, job: Job) -> None:
        if self.bar is None:
            return
        filled = int(_BAR_WIDTH * job.progress)
        self.bar.show(f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {job.progress * 100:3.0f}%  "
                      f"{job.stage or job.state.value}{_fmt_eta(job.eta_s)}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _follow(jobs: ExportJobs, uid: str) -> Outcome:
    """Wait for a job (Ctrl+C cancels it), then report it."""
    from desktop.cli_import import cancel_on_ctrl_c

    bar = _Bar()
    try:
        with cancel_on_ctrl_c() as stop:
            def update(job: Job) -> None:
                if stop.is_set() and not job.state.finished:
                    jobs.cancel(uid)
                    raise KeyboardInterrupt
                bar(job)

            job = jobs.wait(uid, on_update=update)
    except KeyboardInterrupt:
        if not jobs.get(uid).state.finished:
            jobs.cancel(uid)
        raise
    finally:
        bar.close()
    return _report(jobs, job)


def _report(jobs: ExportJobs, job: Job) -> Outcome:
    final = jobs.final_of(job.uid) if job.state is JobState.DONE else None
    data: dict[str, Any] = {
        "job": job.uid, "state": job.state.value,
        "output": final.path if final else None,
        "duration": final.duration if final else None,
        "width": final.width if final else None,
        "height": final.height if final else None,
    }
    if final is not None:
        data["version"] = final.version
        data["encoder"] = job.encoder
        # Per clip: rendered now, or its part reused from an earlier export (local backend).
        data["clips"] = read_report(jobs.library.cache_dir / PART_FOLDER, job.uid) or []
        return Outcome(data, f"exported {final.path}  ({final.width}x{final.height}, "
                              f"{final.duration:.2f} s, version {final.version}, {job.encoder})  "
                              f"job {job.uid}")
    data["error"] = job.error or f"the export was {job.state.value}"
    error_line(f"export {job.state.value}: {data['error']} (job {job.uid}; "
                f"'reeldesk retry {job.uid}' runs it again)")
    return Outcome(data, "", EXIT_FAILED)


# -- commands ----------------------------------------------------------------------------------
def _jobs(lib: Library) -> ExportJobs:
    """The job store, with jobs of killed exports (no process left) failed as interrupted."""
    jobs = ExportJobs(lib)
    jobs.fail_orphans()
    return jobs


def cmd_export(lib: Library, args: argparse.Namespace) -> Outcome:
    project = project_uid(lib, args.project)
    size = None
    if args.size:
        size = parse_size(args.size, AspectRatio(lib.show_project(project)["project"]["aspect"]))
    jobs = _jobs(lib)
    try:
        uid = jobs.create(project, ExportBackend(args.backend), Upscaler(args.upscale), out=args.out,
                          crf=args.crf, preset=args.preset, size=size, encoder=args.encoder)
        return _follow(jobs, uid)
    finally:
        jobs.close()


def cmd_retry(lib: Library, args: argparse.Namespace) -> Outcome:
    jobs = _jobs(lib)
    try:
        uid = jobs.retry(args.job)
        return _follow(jobs, uid)
    finally:
        jobs.close()


def cmd_cancel(lib: Library, args: argparse.Namespace) -> Outcome:
    jobs = _jobs(lib)
    try:
        job = jobs.cancel(args.job)
    finally:
        jobs.close()
    return Outcome({"job": job.uid, "state": job.state.value}, f"export job {job.uid} is {job.state.value}")


def cmd_jobs(lib: Library, args: argparse.Namespace) -> Outcome:
    jobs = _jobs(lib)
    names = {p["uid"]: p["name"] for p in lib.projects(include_deleted=True)}
    items = jobs.list()
    data = [{**j.to_json(), "project_name": names.get(j.project_uid)} for j in items]
    lines = []
    for j in items:
        detail = j.output_path if j.state is JobState.DONE else (j.error if j.error else j.stage)
        lines.append(f"{j.uid}  {j.state.value:<9} {j.progress * 100:4.0f}%  {j.backend.value:<5}  "
                     f"{names.get(j.project_uid, '?')}  {detail or ''}".rstrip())
    return Outcome(data, "\n".join(lines) or "no export jobs")


COMMANDS: dict[str, Callable[[Library, argparse.Namespace], Outcome]] = {
    "export": cmd_export, "jobs": cmd_jobs, "cancel": cmd_cancel, "retry": cmd_retry,
}


def run_worker(argv: Sequence[str]) -> int:
    """A frozen app's export worker (``reeldesk --export-worker JOB --library DIR``)."""
    from core.export.worker import main as worker_main

    return worker_main(list(argv))


# -- R2 for the Modal backend ----------------------------------------------------------------
class R2Presigner:
    """Sources and renders through the library's S3/R2 remote: Modal only ever sees
    short-lived presigned URLs, never the keys."""

    def __init__(self, store: RemoteStore, library_uid: str) -> None:
        from sync.layout import Layout

        self.store = store
        self.layout = Layout(library_uid)

    def media_url(self, media_hash: str, local_path: Path) -> str:
        key = self.layout.media_key(media_hash)
        if not self.store.exists(key):
            if not local_path.is_file():
                raise FileNotFoundError(f"source {media_hash[:12]} is neither on this machine nor in R2")
            self.store.upload_file(key, local_path, state=None, on_state=lambda _s: None)
        return self.store.presign_get(key, GET_URL_TTL_S)

    def output_url(self, job_uid: str) -> tuple[str, str]:
        key = f"{self.layout.root}renders/{job_uid}.mp4"
        return key, self.store.presign_put(key, PUT_URL_TTL_S)

    def download(self, key: str, dest: Path) -> None:
        self.store.download_file(key, dest)


def make_presigner(library: Library) -> R2Presigner | None:
    from sync.credentials import CredentialsError, RemoteConfig, RemoteKind, open_store

    config = RemoteConfig.load(library)
    if config is None:
        return None
    if config.kind is not RemoteKind.S3:
        raise ModalNotConfigured("Modal exports need an S3/R2 remote: a folder remote cannot be "
                                 "reached from the cloud")
    try:
        store = open_store(config)
    except CredentialsError as exc:
        raise ModalNotConfigured(f"the R2 remote is not usable: {exc}") from None
    return R2Presigner(store, library.get_setting("library_uid") or library.library_uid)


register_presigner_factory(make_presigner)

__all__ = ["COMMANDS", "WORKER_FLAG", "R2Presigner", "make_presigner", "register", "run_worker"]
