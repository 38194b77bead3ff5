"""Export jobs: durable rows with a state machine, run by the local or the Modal backend (docs/ARCHITECTURE.md, "Export").

A job stores the RenderSpec built when it was created, so edits made later never change it.

    queued → preparing → rendering → finishing → done
       └──────────┴───────────┴───────────┴──────→ failed | cancelled

Decisions:

* **Retry resets the same row** (failed/cancelled → queued), keeping its stored spec: the job list
  shows one line per export the user asked for, and a retry renders exactly what was asked. A fresh
  export of the project picks up newer edits.
* **Restart, not resume.** A render is one pass with no intermediate files, so a local job
  interrupted by a crash or a quit restarts from the first frame (``recover``). A Modal job keeps
  running in the cloud and is re-attached by its call id.
* Jobs and final videos are device-local bookkeeping, written through ``Library.transaction()``
  only. State changes are compare-and-set inside one write transaction, so several processes on one
  library (the window and ``reeldesk export``) never run or finish the same job twice.
* ``worker_pid`` names the process that owns a running local job: the owning app while it
  prepares, then its render child. A job whose owner is gone is restarted by ``recover``.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, func, select, update

from core.db import models as m
from core.db.models import utcnow
from core.enums import ExportBackend, JobState, Upscaler, VideoEncoder
from core.export.build import build_spec
from core.export.destination import check_writable
from core.export.spec import RenderSpec
from core.export.worker import STAGED_PREFIX, probe, staging_path
from core.ids import new_uid
from core.library import Library
from core.redact import redact

if TYPE_CHECKING:
    from core.export.local_backend import LocalBackend
    from core.export.modal_backend import ModalBackend

__all__ = [
    "ACTIVE_STATES",
    "TRANSITIONS",
    "ExportJobs",
    "FinalVideoInfo",
    "Job",
    "JobNotFound",
    "JobRunner",
    "JobStateError",
    "check_transition",
    "partial_files",
    "pid_alive",
    "safe_file_stem",
    "staging_path",
]

log = logging.getLogger(__name__)

_J = m.ExportJob.__table__
_F = m.FinalVideo.__table__

ACTIVE_STATES = (JobState.QUEUED, JobState.PREPARING, JobState.RENDERING, JobState.FINISHING)
# The forward chain a job walks while it runs; failing and cancelling may leave it at any stage.
_CHAIN = (JobState.QUEUED, JobState.PREPARING, JobState.RENDERING, JobState.FINISHING, JobState.DONE)

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.PREPARING, JobState.FAILED, JobState.CANCELLED}),
    # → queued: ``recover`` restarts a job whose process died.
    JobState.PREPARING: frozenset({JobState.RENDERING, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.RENDERING: frozenset({JobState.FINISHING, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.FINISHING: frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.DONE: frozenset(),
    # → queued: ``retry``.
    JobState.FAILED: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}

STAGE_TEXT = {
    JobState.QUEUED: "queued",
    JobState.PREPARING: "preparing",
    JobState.RENDERING: "rendering",
    JobState.FINISHING: "finishing",
    JobState.DONE: "done",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
}
_MAX_ERROR = 2000


class JobStateError(ValueError):
    """An illegal state change (retry a running job, cancel a finished one...)."""


class JobNotFound(ValueError):
    """No export job with that uid in this library."""


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise JobStateError(f"an export job cannot go from {current.value} to {target.value}")


def clean_error(message: str) -> str:
    """One line for the job row: no secrets (presigned URL signatures, keys, tokens), bounded length."""
    text = redact(" ".join(str(message).split()))
    return text[:_MAX_ERROR] or "unknown error"


@dataclass(frozen=True, slots=True)
class Job:
    uid: str
    project_uid: str
    state: JobState
    progress: float
    stage: str
    eta_s: float | None
    backend: ExportBackend
    upscaler: Upscaler
    spec_json: str
    output_path: str | None
    r2_key: str | None
    error: str | None
    modal_call_id: str | None
    worker_pid: int | None
    created_at: datetime | None
    updated_at: datetime | None
    encoder: str | None = None  # the FFmpeg encoder that wrote the output (libx264, h264_nvenc...)
    cancel_pending: bool = False  # cancelled while offline: Modal still has to be told

    @property
    def spec(self) -> RenderSpec:
        return RenderSpec.from_json(self.spec_json)

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.uid, "project": self.project_uid, "state": self.state.value,
            "progress": round(self.progress, 4), "stage": self.stage, "eta_s": self.eta_s,
            "backend": self.backend.value, "upscaler": self.upscaler.value,
            "output": self.output_path, "r2_key": self.r2_key, "error": self.error,
            "modal_call_id": self.modal_call_id, "encoder": self.encoder,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }


@dataclass(frozen=True, slots=True)
class FinalVideoInfo:
    uid: str
    job_uid: str
    project_uid: str
    version: int
    path: str
    r2_key: str | None
    duration: float
    width: int
    height: int
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"uid": self.uid, "job": self.job_uid, "project": self.project_uid,
                "version": self.version, "path": self.path, "r2_key": self.r2_key,
                "duration": self.duration, "width": self.width, "height": self.height,
                "size_bytes": self.size_bytes}


def _job(row: Any) -> Job:
    return Job(
        uid=row.uid, project_uid=row.project_uid, state=JobState(row.state),
        progress=float(row.progress or 0.0), stage=row.stage or "", eta_s=row.eta_s,
        backend=ExportBackend(row.backend), upscaler=Upscaler(row.upscaler or "none"),
        spec_json=row.spec_json, output_path=row.output_path, r2_key=row.r2_key, error=row.error,
        modal_call_id=row.modal_call_id, worker_pid=row.worker_pid, created_at=row.created_at,
        updated_at=row.updated_at, encoder=row.encoder, cancel_pending=bool(row.cancel_pending),
    )


def _final(row: Any) -> FinalVideoInfo:
    return FinalVideoInfo(row.uid, row.job_uid, row.project_uid, row.version, row.path, row.r2_key,
                          float(row.duration), int(row.width), int(row.height), int(row.size_bytes))


# -- files ------------------------------------------------------------------------------------

_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_file_stem(name: str, fallback: str = "reel") -> str:
    """A project name usable as a file name on Windows too (no reserved names or characters)."""
    stem = _BAD_CHARS.sub("_", name).strip().rstrip(". ")
    stem = " ".join(stem.split())[:100].rstrip(". ")
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = f"{stem}_" if stem else fallback
    return stem


def partial_files(folder: Path, job_uid: str | None = None) -> list[Path]:
    """Unfinished renders in ``folder``: ``render()``'s ``.<name>.<hex>.partial.mp4`` files and
    staged outputs never recorded, of one job or of all."""
    if not folder.is_dir():
        return []
    pattern = f"*{job_uid}*" if job_uid else ".*"
    found = []
    for path in folder.glob(pattern):
        name = path.name
        if not name.startswith("."):
            continue
        if name.endswith(".partial.mp4") or (name.startswith(STAGED_PREFIX) and name.endswith(".mp4")):
            found.append(path)
    return found


def _job_of_file(name: str) -> str | None:
    match = re.search(r"\.reeldesk-([0-9a-f-]{36})", name)
    return match.group(1) if match else None


def remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # still open on Windows: the next start-up sweeps it
        log.warning("could not remove %s: %s", path, exc)


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` is running (a zombie counts as gone)."""
    if not pid or pid <= 0:
        return False
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # Linux: an exited child nobody reaped yet is still "there" for kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _pid_alive_windows(pid: int) -> bool:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    kernel32.OpenProcess.restype = wintypes.HANDLE
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


# -- backends ---------------------------------------------------------------------------------


class Backend(Protocol):
    def bind(self, jobs: ExportJobs) -> None: ...
    def start(self, uid: str) -> None: ...
    def cancel(self, uid: str, timeout: float) -> bool: ...
    def owns(self, uid: str) -> bool: ...
    def close(self, timeout: float) -> None: ...


# -- the job store ----------------------------------------------------------------------------


class ExportJobs:
    """The export job store and state machine of one library, with its two backends.

    Nothing here blocks on a render: ``create`` stores the job and hands it to its backend, which
    runs it on its own threads (local: a child process; Modal: a poller). ``wait`` is for callers
    that want to block (the CLI). Call ``recover()`` once at start-up (``JobRunner`` does).
    """

    def __init__(self, library: Library, *, local: LocalBackend | None = None,
                 modal: ModalBackend | None = None) -> None:
        self.library = library
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
            raise ValueError("Real-ESRGAN upscaling runs on the Modal GPU backend; "
                             "choose --backend modal or another upscaler")
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
        uid = new_uid()
        now = utcnow()
        with self.library.transaction() as conn:
            conn.execute(_J.insert().values(
                uid=uid, project_uid=project_uid, state=JobState.QUEUED.value, progress=0.0,
                stage=STAGE_TEXT[JobState.QUEUED], eta_s=None, backend=backend.value,
                upscaler=upscaler.value, spec_json=spec.to_json(), output_path=output_path,
                r2_key=None, error=None, modal_call_id=None, worker_pid=None, created_at=now,
                updated_at=now,
            ))
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

    # -- reading ------------------------------------------------------------------------------
    def get(self, uid: str) -> Job:
        with self.library.read() as conn:
            row = conn.execute(select(_J).where(_J.c.uid == uid)).first()
        if row is None:
            raise JobNotFound(f"unknown export job {uid}")
        return _job(row)

    def find(self, uid_or_prefix: str) -> Job:
        """A job by uid, or by a unique prefix of at least 8 characters (CLI convenience)."""
        text = uid_or_prefix.strip().lower()
        with self.library.read() as conn:
            row = conn.execute(select(_J).where(_J.c.uid == text)).first()
            if row is None and len(text) >= 8:
                rows = conn.execute(select(_J).where(_J.c.uid.startswith(text, autoescape=True))
                                    .limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            raise JobNotFound(f"unknown export job {uid_or_prefix}")
        return _job(row)

    def list(self, project_uid: str | None = None, limit: int | None = None) -> list[Job]:
        """Jobs, newest first."""
        q = select(_J).order_by(_J.c.created_at.desc(), _J.c.id.desc())
        if project_uid:
            q = q.where(_J.c.project_uid == project_uid)
        if limit:
            q = q.limit(limit)
        with self.library.read() as conn:
            return [_job(r) for r in conn.execute(q)]

    def finals(self, project_uid: str | None = None) -> list[FinalVideoInfo]:
        """Final videos (the gallery), newest version first."""
        q = select(_F).order_by(_F.c.created_at.desc(), _F.c.id.desc())
        if project_uid:
            q = q.where(_F.c.project_uid == project_uid)
        with self.library.read() as conn:
            return [_final(r) for r in conn.execute(q)]

    def final_of(self, job_uid: str) -> FinalVideoInfo | None:
        with self.library.read() as conn:
            row = conn.execute(select(_F).where(_F.c.job_uid == job_uid)
                               .order_by(_F.c.id.desc()).limit(1)).first()
        return None if row is None else _final(row)

    def staging_path(self, job: Job) -> Path:
        return staging_path(self.library.exports_dir, job.uid, job.output_path)

    # -- state changes (the only writers of export_jobs) --------------------------------------
    def _row(self, conn: Connection, uid: str) -> Job:
        row = conn.execute(select(_J).where(_J.c.uid == uid)).first()
        if row is None:
            raise JobNotFound(f"unknown export job {uid}")
        return _job(row)

    @staticmethod
    def _write(conn: Connection, uid: str, **values: Any) -> None:
        values["updated_at"] = utcnow()
        conn.execute(update(_J).where(_J.c.uid == uid).values(**values))

    def transition(self, uid: str, target: JobState, *, expect: Iterable[JobState] | None = None,
                   **values: Any) -> Job:
        """Move a job to ``target`` (JobStateError if the state machine forbids it, or if
        ``expect`` is given and the job is in none of those states)."""
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if expect is not None and job.state not in tuple(expect):
                raise JobStateError(f"export job {uid} is {job.state.value}")
            check_transition(job.state, target)
            values.setdefault("stage", STAGE_TEXT[target])
            self._write(conn, uid, state=target.value, **values)
            return self._row(conn, uid)

    def claim(self, uid: str, owner_pid: int | None = None, stage: str = "preparing") -> bool:
        """queued → preparing for this process, atomically: False when another process took the
        job first or it was cancelled meanwhile."""
        with self.library.transaction() as conn:
            n = conn.execute(update(_J).where(_J.c.uid == uid, _J.c.state == JobState.QUEUED.value)
                             .values(state=JobState.PREPARING.value, stage=stage, progress=0.0,
                                     eta_s=None, error=None,
                                     worker_pid=owner_pid if owner_pid is not None else os.getpid(),
                                     updated_at=utcnow())).rowcount
        return n == 1

    def set_fields(self, uid: str, **values: Any) -> bool:
        """Update bookkeeping fields of an active job (pid, call id, stage...). False when the
        job is finished (e.g. cancelled meanwhile): the caller should stop."""
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if job.state.finished:
                return False
            self._write(conn, uid, **values)
            return True

    def report(self, uid: str, *, state: JobState | None = None, fraction: float | None = None,
               stage: str | None = None, eta_s: float | None = None) -> bool:
        """Progress of a running job: moves it forward along the chain (never back), keeps the
        progress monotonic. Returns False when the job is no longer active (stop working)."""
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if job.state.finished or job.state is JobState.QUEUED:
                return False
            values: dict[str, Any] = {}
            if state is not None and state in _CHAIN[:-1]:
                here, there = _CHAIN.index(job.state), _CHAIN.index(state)
                if there > here:
                    values["state"] = state.value
            if fraction is not None:
                values["progress"] = max(job.progress, min(max(float(fraction), 0.0), 0.999))
            if stage is not None:
                values["stage"] = stage[:200]
            values["eta_s"] = None if eta_s is None else max(0.0, float(eta_s))
            self._write(conn, uid, **values)
            return True

    def fail(self, uid: str, message: str) -> bool:
        """Active → failed with a clear message; False if it had already finished."""
        text = clean_error(message)
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if job.state.finished:
                return False
            self._write(conn, uid, state=JobState.FAILED.value, stage=STAGE_TEXT[JobState.FAILED],
                        error=text, eta_s=None, worker_pid=None)
        log.info("export job %s failed: %s", uid, text)
        return True

    def requeue(self, uid: str, stage: str) -> bool:
        """An interrupted active job goes back to queued (restart from the first frame)."""
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if job.state.finished:
                return False
            if job.state is not JobState.QUEUED:
                check_transition(job.state, JobState.QUEUED)
            self._write(conn, uid, state=JobState.QUEUED.value, stage=stage, progress=0.0,
                        eta_s=None, worker_pid=None, modal_call_id=None, error=None)
            return True

    def finalize(self, uid: str, staged: Path, *, duration: float, width: int, height: int,
                 r2_key: str | None = None, encoder: str | None = None) -> FinalVideoInfo | None:
        """Record a finished render: move the staged file to its final name and add the final
        video (version = the project's count + 1), in one transaction with done. Returns None
        (and deletes the file) when the job was cancelled meanwhile."""
        with self.library.transaction() as conn:
            job = self._row(conn, uid)
            if job.state.finished:
                remove_quietly(staged)
                return None
            count = conn.execute(select(func.count()).select_from(_F)
                                 .where(_F.c.project_uid == job.project_uid)).scalar() or 0
            version = int(count) + 1
            target = (Path(job.output_path) if job.output_path
                      else self._versioned_path(conn, job.project_uid, version))
            size = staged.stat().st_size
            os.replace(staged, target)
            final_uid = new_uid()
            conn.execute(_F.insert().values(
                uid=final_uid, job_uid=uid, project_uid=job.project_uid, version=version,
                path=str(target), r2_key=r2_key, duration=float(duration), width=int(width),
                height=int(height), size_bytes=int(size), created_at=utcnow(),
            ))
            self._write(conn, uid, state=JobState.DONE.value, stage=STAGE_TEXT[JobState.DONE],
                        progress=1.0, eta_s=0.0, output_path=str(target), error=None,
                        worker_pid=None, r2_key=r2_key or job.r2_key, encoder=encoder)
        log.info("export job %s done: %s (version %d)", uid, target, version)
        return FinalVideoInfo(final_uid, uid, job.project_uid, version, str(target), r2_key,
                              float(duration), int(width), int(height), int(size))

    def _versioned_path(self, conn: Connection, project_uid: str, version: int) -> Path:
        name = conn.execute(select(m.Project.name).where(m.Project.uid == project_uid)).scalar()
        stem = f"{safe_file_stem(name or 'reel')}-v{version}"
        folder = self.library.exports_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{stem}.mp4"
        n = 2
        while target.exists():  # a file the user put there, or an orphan: never overwrite it
            target = folder / f"{stem} ({n}).mp4"
            n += 1
        return target

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

    def set_cancel_pending(self, uid: str, pending: bool) -> None:
        """Whether a cancelled Modal job's remote call still has to be cancelled."""
        with self.library.transaction() as conn:
            self._write(conn, uid, cancel_pending=pending)

    def release(self, uid: str) -> None:
        """The owner is done with a job's process (it exited and its files are gone)."""
        with self.library.transaction() as conn:
            self._write(conn, uid, worker_pid=None)

    def retry(self, uid: str, *, start: bool = True) -> str:
        """A failed or cancelled job goes back to queued (same row, same spec) and starts."""
        job = self.find(uid)
        uid = job.uid
        if job.state not in (JobState.FAILED, JobState.CANCELLED):
            raise JobStateError(f"export job {uid} is {job.state.value}; only failed or cancelled "
                                "jobs can be retried")
        self.transition(uid, JobState.QUEUED, expect=(JobState.FAILED, JobState.CANCELLED),
                        stage="queued (retry)", progress=0.0, eta_s=None, error=None,
                        worker_pid=None, modal_call_id=None, cancel_pending=False)
        self.sweep(job)
        if start:
            self.start(uid)
        return uid

    def sweep(self, job: Job) -> None:
        """Remove a job's unfinished files (render partials and the unrecorded staged output)."""
        folder = self.staging_path(job).parent
        for path in partial_files(folder, job.uid):
            remove_quietly(path)

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
                    and job.worker_pid != os.getpid()
                    and not pid_alive(job.worker_pid)):
                self.sweep(job)
                if self.fail(job.uid, "interrupted: the process rendering it is gone"):
                    failed.append(job.uid)
        return failed

    def _recover_local(self, job: Job) -> bool:
        if self.local.owns(job.uid):
            return False
        if job.state is not JobState.QUEUED:
            if job.worker_pid == os.getpid() or pid_alive(job.worker_pid):
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
            owner = _job_of_file(path.name)
            if owner is not None:
                job = active.get(owner)
                if job is not None and (self.local.owns(owner) or pid_alive(job.worker_pid)):
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

