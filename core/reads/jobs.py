"""Export jobs and final videos as read by the job store, the CLI and the export panel."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, select

from core.db import models as m
from core.enums import ExportBackend, JobState, Upscaler
from core.export.spec import RenderSpec
from core.library import Library

# Tables, not FromClause (how the mapped classes type ``__table__``): insert/update need them.
_J = cast(Table, m.ExportJob.__table__)
_F = cast(Table, m.FinalVideo.__table__)


class JobNotFound(ValueError):
    """No export job with that uid in this library."""


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
    owner_pid: int | None = None  # the process that started the render and records its end

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


def job_from_row(row: Any) -> Job:
    return Job(
        uid=row.uid, project_uid=row.project_uid, state=JobState(row.state),
        progress=float(row.progress or 0.0), stage=row.stage or "", eta_s=row.eta_s,
        backend=ExportBackend(row.backend), upscaler=Upscaler(row.upscaler or "none"),
        spec_json=row.spec_json, output_path=row.output_path, r2_key=row.r2_key, error=row.error,
        modal_call_id=row.modal_call_id, worker_pid=row.worker_pid, created_at=row.created_at,
        updated_at=row.updated_at, encoder=row.encoder, cancel_pending=bool(row.cancel_pending),
        owner_pid=row.owner_pid,
    )


def final_from_row(row: Any) -> FinalVideoInfo:
    return FinalVideoInfo(row.uid, row.job_uid, row.project_uid, row.version, row.path, row.r2_key,
                          float(row.duration), int(row.width), int(row.height), int(row.size_bytes))


def job_in(conn: Connection, uid: str) -> Job:
    """One job read inside the caller's transaction (the store's compare-and-set reads)."""
    row = conn.execute(select(_J).where(_J.c.uid == uid)).first()
    if row is None:
        raise JobNotFound(f"unknown export job {uid}")
    return job_from_row(row)


def read_job(library: Library, uid: str) -> Job:
    with library.read() as conn:
        return job_in(conn, uid)


def find_job(library: Library, uid_or_prefix: str) -> Job:
    """A job by uid, or by a unique prefix of at least 8 characters (CLI convenience)."""
    text = uid_or_prefix.strip().lower()
    with library.read() as conn:
        row = conn.execute(select(_J).where(_J.c.uid == text)).first()
        if row is None and len(text) >= 8:
            rows = conn.execute(select(_J).where(_J.c.uid.startswith(text, autoescape=True)).limit(2)).all()
            row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise JobNotFound(f"unknown export job {uid_or_prefix}")
    return job_from_row(row)


def read_jobs(library: Library, project_uid: str | None = None, limit: int | None = None) -> list[Job]:
    """Jobs, newest first."""
    q = select(_J).order_by(_J.c.created_at.desc(), _J.c.id.desc())
    if project_uid:
        q = q.where(_J.c.project_uid == project_uid)
    if limit:
        q = q.limit(limit)
    with library.read() as conn:
        return [job_from_row(r) for r in conn.execute(q)]


def read_finals(library: Library, project_uid: str | None = None) -> list[FinalVideoInfo]:
    """Final videos, newest version first."""
    q = select(_F).order_by(_F.c.created_at.desc(), _F.c.id.desc())
    if project_uid:
        q = q.where(_F.c.project_uid == project_uid)
    with library.read() as conn:
        return [final_from_row(r) for r in conn.execute(q)]


def final_of(library: Library, job_uid: str) -> FinalVideoInfo | None:
    with library.read() as conn:
        row = conn.execute(select(_F).where(_F.c.job_uid == job_uid).order_by(_F.c.id.desc()).limit(1)).first()
    return None if row is None else final_from_row(row)
