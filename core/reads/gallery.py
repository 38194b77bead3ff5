"""The gallery: every finished video, with the name of the reel it came from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.db import models as m
from core.library import Library
from core.reads.jobs import FinalVideoInfo, final_from_row


@dataclass(frozen=True, slots=True)
class GalleryVideo:
    video: FinalVideoInfo
    project_name: str | None  # None when the reel is unknown here (its gestures have not arrived)
    created_at: datetime | None


def read_gallery(library: Library) -> list[GalleryVideo]:
    """Final videos, newest first (every version is kept); deleted reels keep their name."""
    f, p = m.FinalVideo.__table__, m.Project.__table__
    q = (select(f, p.c.name.label("project_name")).outerjoin(p, p.c.uid == f.c.project_uid)
         .order_by(f.c.created_at.desc(), f.c.id.desc()))
    with library.read() as conn:
        rows = conn.execute(q).all()
    return [GalleryVideo(final_from_row(r), r.project_name, r.created_at) for r in rows]
