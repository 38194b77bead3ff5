"""The one "latest version" helper every reader of working-clip edits goes through."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from core.db.models import WorkingClip, WorkingClipVersion


def latest_versions(*, project_uid: str | None = None, clip_uids: list[str] | None = None) -> Select[Any]:
    """Rows (clip_uid, version, edit_json, gesture_op_id, created_at) of each clip's newest version."""
    V = WorkingClipVersion
    ranked = select(
        V.clip_uid, V.version, V.edit_json, V.gesture_op_id, V.created_at,
        func.row_number().over(partition_by=V.clip_uid, order_by=V.version.desc()).label("rn"),
    )
    if project_uid is not None:
        ranked = ranked.where(V.clip_uid.in_(select(WorkingClip.uid).where(WorkingClip.project_uid == project_uid)))
    if clip_uids is not None:
        ranked = ranked.where(V.clip_uid.in_(clip_uids))
    sub = ranked.subquery()
    return (select(sub.c.clip_uid, sub.c.version, sub.c.edit_json, sub.c.gesture_op_id, sub.c.created_at)
            .where(sub.c.rn == 1))
