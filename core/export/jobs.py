"""Export jobs: durable rows with a state machine (``job_states``), run by the local or the Modal
backend (docs/ARCHITECTURE.md, "Export"). The rows themselves are ``job_table.JobTable``.

A job stores the RenderSpec built when it was created, so edits made later never change it.

Decisions:

* **Retry resets the same row** (failed/cancelled → queued), keeping its stored spec: the job list
  shows one line per export the user asked for, and a retry renders exactly what was asked. A fresh
  export of the project picks up newer edits.
* **Restart, not resume.** A render is one pass with no intermediate files, so a local job
  interrupted by a crash or a quit restarts from the first frame (``recover``). A Modal job keeps
  running in the cloud and is re-attached by its call id.
* ``worker_pid`` names the process that owns a running local job: the owning app while it
  prepares, then its render child. A job whose owner is gone is restarted by ``recover``.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.enums import ExportBackend, JobState, Upscaler, VideoEncoder
from core.export.ai_local import local_ai_problem
from core.export.backend import Backend
from core.export.build import build_spec
from core.export.destination import check_writable
from core.export.job_files import job_of_file, partial_files, pid_alive, remove_quietly, safe_file_stem
from core.export.job_states import (ACTIVE_STATES, STAGE_TEXT, TRANSITIONS, JobStateError, check_transition,
                                    clean_error)
from core.export.job_table import JobTable
from core.export.worker import probe, staging_path
from core.library import Library
from core.reads.jobs import FinalVideoInfo, Job, JobNotFound

if TYPE_CHECKING:
    from core.export.local_backend import LocalBackend
    from core.export.modal_backend import ModalBackend

# The names callers (CLI, backends, tests) have always imported from here.
__all__ = [
    "ACTIVE_STATES",
    "STAGE_TEXT",
    "TRANSITIONS",
    "ExportJobs",
    "FinalVideoInfo",
    "Job",
    "JobNotFound",
    "JobRunner",
    "JobStateError",
    "check_transition",
    "clean_error",
    "partial_files",
    "pid_alive",
    "remove_quietly",
    "safe_file_stem",
    "staging_path",
]

log = logging.getLogger(__name__)


def running_elsewhere(job: Job) -> bool:
    """Whether a live process still has this job's render in hand: its owner (the window or CLI
    that started it, which records the end after the child exits) or the render child itself.
    This process counts as live: another ExportJobs in it may own the job."""
    return any(pid == os.getpid() or pid_alive(pid) for pid in (job.owner_pid, job.worker_pid) if pid)


class ExportJobs(JobTable):
    """The export job store and state machine of one library, with its two backends.

    Nothing here blocks on a render: ``create`` stores the job and hands it to its backend, which
    runs it on its own threads (local: a child process; Modal: a poller). ``wait`` is for callers
    that want to block (the CLI). Call ``recover()`` once at start-up (``JobRunner`` does).
    """

    def __init__(self, library: Library, *, local: LocalBackend | None = None,
                 modal: ModalBackend | None = None) -> None:
        super().__init__(library)
        self._lock = threading.Lock()
        self._local = local
        self._modal = modal
        for backend in (local, modal):
            if backend is not None:
                backend.bind(self)
        self._closed = False

    # -- backends (created on first use: listing jobs starts nothing) -------------------------
    @property
    def local(self) -> LocalBackend:
        with self._lock:
            if self._local is None:
                from core.export.local_backend import LocalBackend

                self._local = LocalBackend()
                self._local.bind(self)
            return self._local

    @property
    def modal(self) -> ModalBackend:
        with self._lock:
            if self._modal is None:
                from core.export.modal_backend import ModalBackend

                self._modal = ModalBackend()
                self._modal.bind(self)
            return self._modal

    def backend(self, kind: ExportBackend) -> Backend:
        return self.modal if kind is ExportBackend.MODAL else self.local

    def modal_available(self) -> tuple[bool, str]:
        """Whether Modal credentials and the R2 remote are set up (no network call)."""
        from core.export.modal_backend import modal_setup_problem

        problem = modal_setup_problem(self.library)
        return (problem is None, problem or "")

    # -- create -------------------------------------------------------------------------------
    def create(
        self,
        project_uid: str,
        backend: ExportBackend | str = ExportBackend.LOCAL,
        upscaler: Upscaler | str = Upscaler.NONE,
        *,
        out: Path | str | None = None,
        crf: int = 20,
        preset: str = "medium",
        audio: bool = True,
        fps: Fraction | None = None,
        size: tuple[int, int] | None = None,
        encoder: VideoEncoder | str = VideoEncoder.X264,
        start: bool = True,
    ) -> str:
        """Store a queued job with the project's RenderSpec as of now; start it unless
        ``start=False``. Raises ValueError (SpecError, GestureError) for bad input."""
        backend, upscaler = ExportBackend(backend), Upscaler(upscaler)
        if upscaler is Upscaler.REALESRGAN and backend is ExportBackend.LOCAL:
            problem = local_ai_problem()
            if problem:
                raise ValueError(problem)
        output_path: str | None = None
        if out is not None:
            target = Path(out).expanduser().absolute()
            if target.suffix.lower() != ".mp4":
                raise ValueError(f"the output file must end in .mp4: {target}")
            if not target.parent.is_dir():
                raise ValueError(f"cannot write {target}: folder {target.parent} does not exist")
            if target.is_dir():
                raise ValueError(f"cannot write {target}: it is a folder")
            output_path = str(target)
        # Before any job or worker exists: a read-only folder is bad input, not a failed render.
        check_writable(Path(output_path).parent if output_path else self.library.exports_dir)
        spec = build_spec(self.library, project_uid, upscaler=upscaler, crf=crf, preset=preset,
                          audio=audio, fps=fps, size=size, encoder=VideoEncoder(encoder))
        uid = self.insert(project_uid, backend=backend.value, upscaler=upscaler.value,
                          spec_json=spec.to_json(), output_path=output_path)
        log.info("export job %s queued for project %s (%s, %s)", uid, project_uid, backend.value,
                 upscaler.value)
        if start:
            self.start(uid)
        return uid

    def submit(self, project_uid: str, **options: Any) -> str:
        """``create`` and start (the export panel's entry point)."""
        options.pop("start", None)
        return self.create(project_uid, **options)

    def start(self, uid: str) -> None:
        job = self.get(uid)
        if job.state is not JobState.QUEUED:
            raise JobStateError(f"export job {uid} is {job.state.value}, not queued")
        self.backend(job.backend).start(uid)


    # -- cancel / retry -----------------------------------------------------------------------
    def cancel(self, uid: str, timeout: float = 15.0) -> Job:
        """Cancel a job at any stage; its process stops and no partial file is left. Cancelling
        a cancelled job does nothing; a done or failed one is a JobStateError."""
        job = self.find(uid)
        uid = job.uid
        if job.state is JobState.CANCELLED:
            return job
        if job.state in (JobState.DONE, JobState.FAILED):
            raise JobStateError(f"export job {uid} is already {job.state.value}; nothing to cancel")
        with self.library.transaction() as conn:
            current = self._row(conn, uid)
            if current.state.finished:
                if current.state is JobState.CANCELLED:
                    return current
                raise JobStateError(f"export job {uid} is already {current.state.value}")
            self._write(conn, uid, state=JobState.CANCELLED.value,
                        stage=STAGE_TEXT[JobState.CANCELLED], eta_s=None)
        log.info("export job %s cancelled", uid)
        backend = self.backend(job.backend)
        handled = backend.cancel(uid, timeout)
        if not handled and job.backend is ExportBackend.LOCAL:
            # Another process owns it: it sees the cancelled row, stops its child and clears
            # worker_pid; wait for that (or for the process to be gone), then sweep.
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                pid = self.get(uid).worker_pid
                if pid is None or pid == os.getpid() or not pid_alive(pid):
                    break
                time.sleep(0.1)
            self.sweep(job)
        return self.get(uid)


    def retry(self, uid: str, *, start: bool = True) -> str:
        """A failed or cancelled job goes back to queued (same row, same spec) and starts."""
        job = self.find(uid)
        uid = job.uid
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise JobStateError(f"export job {uid} is {job.state.value}; only failed or cancelled "
                                "jobs can be retried")
        self.transition(uid, JobState.QUEUED, expect=(JobState.FAILED, JobState.CANCELLED),
                        stage="queued (retry)", progress=0.0, eta_s=None, error=None,
                        worker_pid=None, owner_pid=None, modal_call_id=None, cancel_pending=False)
        self.sweep(job)
        if start:
            self.start(uid)
        return uid


    # -- restart ------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """At start-up: restart local jobs whose process is gone (from the first frame: a render
        is one pass), re-attach Modal jobs by call id, remove files of killed renders. Jobs that
        another live process is running are left alone. Returns the uids picked up."""
        picked: list[str] = []
        for job in reversed(self.list()):  # oldest first: the queue keeps its order
            if job.state not in ACTIVE_STATES:
                continue
            try:
                if job.backend is ExportBackend.MODAL:
                    if self._recover_modal(job):
                        picked.append(job.uid)
                elif self._recover_local(job):
                    picked.append(job.uid)
            except Exception:  # one broken row must not stop the others
                log.exception("could not recover export job %s", job.uid)
        if any(j.cancel_pending for j in self.list()):
            self.modal.send_pending_cancels_soon()
        self._sweep_exports()
        return picked

    def fail_orphans(self) -> list[str]:
        """For commands that do not restart jobs (the CLI): a running local job whose process is
        gone fails as interrupted, so ``retry`` can run it again. Returns their uids."""
        failed = []
        for job in self.list():
            if (job.backend is ExportBackend.LOCAL and job.state in ACTIVE_STATES[1:]
                    and not (self._local is not None and self._local.owns(job.uid))
                    and not running_elsewhere(job)):
                self.sweep(job)
                if self.fail(job.uid, "interrupted: the process rendering it is gone"):
                    failed.append(job.uid)
        return failed

    def _recover_local(self, job: Job) -> bool:
        if self.local.owns(job.uid):
            return False
        if job.state is not JobState.QUEUED:
            if running_elsewhere(job):
                return False  # another live process (the CLI, another window) runs it
            staged = self.staging_path(job)
            if job.state is JobState.FINISHING and staged.is_file() and self._adopt(job, staged):
                return True
            self.sweep(job)
            if not self.requeue(job.uid, "restarting after an interruption"):
                return False
            log.info("export job %s restarts: its process is gone", job.uid)
        self.local.start(job.uid)
        return True

    def _adopt(self, job: Job, staged: Path) -> bool:
        """A render that completed but was not recorded (crash in between) is recorded now."""
        try:
            info = probe(staged)
        except Exception:  # noqa: BLE001 - unreadable: render it again
            return False
        return self.finalize(job.uid, staged, **info) is not None

    def _recover_modal(self, job: Job) -> bool:
        if self.modal.owns(job.uid):
            return False
        if job.modal_call_id:
            self.modal.reattach(job.uid)
            return True
        # Died before the call was spawned: nothing runs remotely, start again.
        if job.state is not JobState.QUEUED and not self.requeue(
                job.uid, "restarting after an interruption"):
            return False
        self.modal.start(job.uid)
        return True

    def _sweep_exports(self, min_age_s: float = 300.0) -> None:
        """Partials in exports/ of no running job. Unknown ones only when old: a live render
        (of a tool using render() directly) rewrites its file all the time."""
        active = {j.uid: j for j in self.list() if j.state in ACTIVE_STATES}
        now = time.time()
        for path in partial_files(self.library.exports_dir):
            owner = job_of_file(path.name)
            if owner is not None:
                job = active.get(owner)
                if job is not None and (self.local.owns(owner) or running_elsewhere(job)):
                    continue
            else:
                try:
                    if now - path.stat().st_mtime < min_age_s:
                        continue
                except OSError:
                    continue
            log.info("removing unfinished render %s", path)
            remove_quietly(path)

    # -- waiting ------------------------------------------------------------------------------
    def wait(self, uid: str, timeout: float | None = None, *, poll_s: float = 0.2,
             on_update: Callable[[Job], None] | None = None) -> Job:
        """Block until the job finishes (or ``timeout`` seconds pass); returns its last state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(uid)
            if on_update is not None:
                on_update(job)
            if job.state.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                return job
            time.sleep(poll_s)

    def close(self, timeout: float = 10.0) -> None:
        """Stop this process's work: local renders are stopped and go back to queued (the next
        start-up restarts them); Modal jobs keep running remotely and are re-attached later."""
        if self._closed:
            return
        self._closed = True
        for backend in (self._local, self._modal):
            if backend is not None:
                try:
                    backend.close(timeout)
                except Exception:
                    log.exception("stopping an export backend failed")

    stop = close


class JobRunner(ExportJobs):
    """ExportJobs for the window: recovers interrupted jobs as it starts (the export panel picks
    this class). ``recover`` only reads rows, checks pids and starts threads: UI-thread safe."""

    def __init__(self, library: Library, **backends: Any) -> None:
        super().__init__(library, **backends)
        try:
            self.recover()
        except Exception:  # an export problem must never keep the window from opening
            log.exception("recovering export jobs failed")

