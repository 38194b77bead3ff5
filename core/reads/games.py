"""Games (long footage) with their media files in playing order."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.db import models as m
from core.library import Library


@dataclass(frozen=True, slots=True)
class GameSummary:
    uid: str
    name: str
    media: tuple[str, ...]  # media hashes, first half first


def read_games(library: Library) -> list[GameSummary]:
    """Games that are not deleted, oldest first, each with its media hashes in order."""
    with library.read() as conn:
        games = conn.execute(select(m.Game.uid, m.Game.name).where(m.Game.deleted.is_(False))
                             .order_by(m.Game.created_at, m.Game.uid)).all()
        links = conn.execute(select(m.GameMedia.game_uid, m.GameMedia.media_hash)
                             .order_by(m.GameMedia.game_uid, m.GameMedia.position)).all()
    media: dict[str, list[str]] = {}
    for link in links:
        media.setdefault(link.game_uid, []).append(link.media_hash)
    return [GameSummary(g.uid, g.name, tuple(media.get(g.uid, ()))) for g in games]
