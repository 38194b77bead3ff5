"""SQLAlchemy 2 models of one library (one SQLite file).

Domain tables are projections written only by the gesture engine (``core.library``); the
gesture log is the source of truth and ``fold_state`` caches each scope's folded entries.
Integer ids never leave the machine: gestures and remote objects name UUIDs or media hashes.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Local key/value settings (device id, Lamport clock, remote config). Never secrets."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Media(Base):
    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(512), default="")
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float] = mapped_column(Float)
    fps_num: Mapped[int] = mapped_column(Integer)
    fps_den: Mapped[int] = mapped_column(Integer)
    vfr: Mapped[bool] = mapped_column(Boolean, default=False)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    has_audio: Mapped[bool] = mapped_column(Boolean, default=False)
    video_codec: Mapped[str] = mapped_column(String(64), default="")
    audio_codec: Mapped[str | None] = mapped_column(String(64), nullable=True)
    container: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Game(Base):
    __tablename__ = "games"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GameMedia(Base):
    """The media files of a game in playing order (e.g. first and second half)."""

    __tablename__ = "game_media"
    __table_args__ = (UniqueConstraint("game_uid", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_uid: Mapped[str] = mapped_column(ForeignKey("games.uid", ondelete="CASCADE"))
    # No FK to media: a remote game can arrive before the media's import gesture.
    media_hash: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)


class RawClip(Base):
    __tablename__ = "raw_clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    media_hash: Mapped[str] = mapped_column(String(64), index=True)
    game_uid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    rating: Mapped[int] = mapped_column(Integer, default=0)
    tags_json: Mapped[str] = mapped_column(Text, default="[]")
    notes: Mapped[str] = mapped_column(Text, default="")
    name: Mapped[str] = mapped_column(String(512), default="")
    boundaries_rev: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(512))
    aspect: Mapped[str] = mapped_column(String(8))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkingClip(Base):
    __tablename__ = "working_clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    project_uid: Mapped[str] = mapped_column(ForeignKey("projects.uid", ondelete="CASCADE"), index=True)
    raw_clip_uid: Mapped[str] = mapped_column(String(36))
    sort_key: Mapped[str] = mapped_column(String(64), default="")
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    raw_clip_rev: Mapped[int] = mapped_column(Integer, default=0)
    transition_json: Mapped[str] = mapped_column(Text, default="null")


class WorkingClipVersion(Base):
    """Immutable: a gesture that changes a clip inserts version n+1; nothing updates a row."""

    __tablename__ = "working_clip_versions"
    __table_args__ = (UniqueConstraint("clip_uid", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clip_uid: Mapped[str] = mapped_column(ForeignKey("working_clips.uid", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    edit_json: Mapped[str] = mapped_column(Text)
    gesture_op_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GestureRow(Base):
    __tablename__ = "gesture_log"
    __table_args__ = (
        Index("ix_gesture_scope_order", "scope_uid", "lamport", "device_id", "op_id"),
        Index("ix_gesture_pending", "pushed_batch", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    op_id: Mapped[str] = mapped_column(String(36), unique=True)
    device_id: Mapped[str] = mapped_column(String(36))
    lamport: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    entity_uid: Mapped[str] = mapped_column(String(64), index=True)
    # The fold unit (a project for framing gestures); null while a remote gesture's
    # working clip is not known yet.
    scope_uid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    base_version: Mapped[int] = mapped_column(Integer, default=0)
    undoes: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Null until the sync pushed it in a batch (local gestures only).
    pushed_batch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Old values of the entries this gesture changed when it was folded (what undo restores).
    effect: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FoldState(Base):
    """Cache of a scope's folded entries and per-entry writers; derivable from the log."""

    __tablename__ = "fold_state"
    scope_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16))
    state_json: Mapped[str] = mapped_column(Text)
    # Bumped on every save: lets a process reuse its parsed copy when nobody else wrote.
    seq: Mapped[int] = mapped_column(Integer, default=0)


class Conflict(Base):
    __tablename__ = "conflicts"
    __table_args__ = (UniqueConstraint("loser_op_id", "winner_op_id", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_uid: Mapped[str] = mapped_column(String(64), index=True)
    entity_uid: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(256))
    loser_op_id: Mapped[str] = mapped_column(String(36))
    winner_op_id: Mapped[str] = mapped_column(String(36))
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExportJob(Base):
    __tablename__ = "export_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    project_uid: Mapped[str] = mapped_column(String(36), index=True)
    state: Mapped[str] = mapped_column(String(16))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(200), default="")
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    backend: Mapped[str] = mapped_column(String(16))
    upscaler: Mapped[str] = mapped_column(String(16), default="none")
    spec_json: Mapped[str] = mapped_column(Text)
    output_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    r2_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    modal_call_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The window or CLI process that started the render: while it lives, it records the end.
    owner_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    encoder: Mapped[str | None] = mapped_column(String(32), nullable=True)  # FFmpeg encoder used
    # A cancelled Modal job whose remote call could not be told yet (offline): sent on reconnect.
    cancel_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FinalVideo(Base):
    __tablename__ = "final_videos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    job_uid: Mapped[str] = mapped_column(String(36))
    project_uid: Mapped[str] = mapped_column(String(36), index=True)
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text)
    r2_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# -- sync bookkeeping (local only; written by the sync through Library.transaction) -------------


class SyncCursor(Base):
    """How far this library has pulled another device's log: its last applied (or skipped) batch."""

    __tablename__ = "sync_cursors"
    device_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    last_batch: Mapped[int] = mapped_column(Integer)
    # The object key of `last_batch`: the `start_after` of the next listing.
    last_key: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncBatch(Base):
    """A batch object this device wrote (recorded in the transaction that marks its gestures pushed)."""

    __tablename__ = "sync_batches"
    batch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(Text)
    op_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SyncQuarantine(Base):
    """A remote object that failed validation: never applied, reported until resolved."""

    __tablename__ = "sync_quarantine"
    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    device_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    batch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MediaTransfer(Base):
    """One media file's transfer to or from the remote; `state_json` resumes a multipart upload."""

    __tablename__ = "media_transfers"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    state_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    bytes_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
