"""The export job table: reads and every write of ``export_jobs`` and ``final_videos``.

Jobs and final videos are device-local bookkeeping, written through ``Library.transaction()``
only (whose SQLite authorizer refuses domain tables). State changes are compare-and-set inside
one write transaction, so several processes on one library (the window and ``reeldesk export``)
never run or finish the same job twice.
"""
from __future__ import annotations

import builtins  # ``list`` below is a method: annotations after it name the type through builtins
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, func, select, update

from core.db import models as m
from core.db.models import utcnow
from core.enums import JobState
from core.export.job_files import partial_files, remove_quietly, safe_file_stem
from core.export.job_states import CHAIN, STAGE_TEXT, JobStateError, check_transition, clean_error
from core.export.worker import staging_path
from core.ids import new_uid
from core.library import Library
from core.reads.jobs import (FinalVideoInfo, Job, final_of, find_job, job_in, read_finals, read_job,
                             read_jobs)

log = logging.getLogger(__name__)

# Tables, not FromClause (how the mapped classes type ``__table__``): insert/update need them.
_J = cast(Table, m.ExportJob.__table__)
_F = cast(Table, m.FinalVideo.__table__)


class JobTable:
    """The rows of one library's export jobs; ``ExportJobs`` adds the backends that run them."""

    def __init__(self, library: Library) -> None:
        self.library = library

    # -- reading ------------------------------------------------------------------------------
    def get(self, uid: str) -> Job:
        return read_job(self.library, uid)

    def find(self, uid_or_prefix: str) -> Job:
        """A job by uid, or by a unique prefix of at least 8 characters (CLI convenience)."""
        return find_job(self.library, uid_or_prefix)

    def list(self, project_uid: str | None = None, limit: int | None = None) -> list[Job]:
        """Jobs, newest first."""
        return read_jobs(self.library, project_uid, limit)

    def finals(self, project_uid: str | None = None) -> builtins.list[FinalVideoInfo]:
        """Final videos (the gallery), newest version first."""
        return read_finals(self.library, project_uid)

    def final_of(self, job_uid: str) -> FinalVideoInfo | None:
        return final_of(self.library, job_uid)

    def staging_path(self, job: Job) -> Path:
        return staging_path(self.library.exports_dir, job.uid, job.output_path)

    # -- state changes (the only writers of export_jobs) --------------------------------------
    def insert(self, project_uid: str, *, backend: str, upscaler: str, spec_json: str,
               output_path: str | None) -> str:
        """Store a new queued job; returns its uid."""
        uid = new_uid()
        now = utcnow()
        with self.library.transaction() as conn:
            conn.execute(_J.insert().values(
                uid=uid, project_uid=project_uid, state=JobState.QUEUED.value, progress=0.0,
                stage=STAGE_TEXT[JobState.QUEUED], eta_s=None, backend=backend,
                upscaler=upscaler, spec_json=spec_json, output_path=output_path,
                r2_key=None, error=None, modal_call_id=None, worker_pid=None, created_at=now,
                updated_at=now,
            ))
        return uid

    @staticmethod
    def _row(conn: Connection, uid: str) -> Job:
        return job_in(conn, uid)

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
        """queued → preparing for this process (or ``owner_pid``), atomically: False when another
        process took the job first or it was cancelled meanwhile. The owner records its end."""
        owner = owner_pid if owner_pid is not None else os.getpid()
        with self.library.transaction() as conn:
            n = conn.execute(update(_J).where(_J.c.uid == uid, _J.c.state == JobState.QUEUED.value)
                             .values(state=JobState.PREPARING.value, stage=stage, progress=0.0,
                                     eta_s=None, error=None,
                                     worker_pid=owner, owner_pid=owner,
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
            if state is not None and state in CHAIN[:-1]:
                here, there = CHAIN.index(job.state), CHAIN.index(state)
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
                        error=text, eta_s=None, worker_pid=None, owner_pid=None)
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
                        eta_s=None, worker_pid=None, owner_pid=None, modal_call_id=None, error=None)
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
                        worker_pid=None, owner_pid=None, r2_key=r2_key or job.r2_key, encoder=encoder)
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

    def set_cancel_pending(self, uid: str, pending: bool) -> None:
        """Whether a cancelled Modal job's remote call still has to be cancelled."""
        with self.library.transaction() as conn:
            self._write(conn, uid, cancel_pending=pending)

    def release(self, uid: str) -> None:
        """The owner is done with a job's process (it exited and its files are gone)."""
        with self.library.transaction() as conn:
            self._write(conn, uid, worker_pid=None, owner_pid=None)

    def sweep(self, job: Job) -> None:
        """Remove a job's unfinished files (render partials and the unrecorded staged output)."""
        folder = self.staging_path(job).parent
        for path in partial_files(folder, job.uid):
            remove_quietly(path)
