"""Projections: the rows readers see (projects, working clips and their versions, raw clips,
media, games, conflicts), written from a scope's folded state."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.changes import ChangeBuilder
from core.db import models as m
from core.gestures import keys
from core.gestures.fold import ScopeState, StepResult
from core.gestures.state import ConflictRecord
from core.gestures.model import ScopeKind, canonical_json
from core.gestures.views import clip_doc, clip_order
from core.library_store import (_C, _INSERT_CONFLICT, _INSERT_VERSION, _SEL_LATEST, _UPSERT_PROJECT, _UPSERT_RAW,
                                _UPSERT_WC, _WC, LibraryStore)


class LibraryProjections(LibraryStore):
    # -- projections ---------------------------------------------------------------------------
    def _persist(self, conn: Connection, scope_uid: str, state: ScopeState, touched: set[str], op_id: str,
                 conflicts: Iterable[ConflictRecord], changes: ChangeBuilder, *, refold: bool = False,
                 resolutions: Iterable[str] = ()) -> dict[str, int]:
        self._save_state(conn, scope_uid, state)
        conflicts = list(conflicts)
        resolutions = list(resolutions)
        # A refold rewrites the scope's conflict list, so readers of conflicts look again.
        changes.scope(state.kind, scope_uid, touched, conflicts=refold or bool(conflicts) or bool(resolutions))
        if refold:
            # Resolutions are resolve_conflict gestures folded into the state; a flag set before
            # conflicts were resolved by gesture is kept unless a gesture says otherwise.
            kept = set(conn.execute(select(m.Conflict.loser_op_id, m.Conflict.winner_op_id, m.Conflict.path)
                                    .where(m.Conflict.scope_uid == scope_uid, m.Conflict.resolved)).all())
            now = {t for k in state.entries if (t := keys.parse_resolution(k))}
            ruled = now | {t for k in state.tombs if (t := keys.parse_resolution(k))}
            resolved = now | (kept - ruled)
            conn.execute(delete(m.Conflict).where(m.Conflict.scope_uid == scope_uid))
        else:
            resolved = set()
        if conflicts:  # one statement for all: a refold rewrites every conflict of the scope
            created = m.utcnow()
            conn.execute(_INSERT_CONFLICT, [{
                "scope_uid": scope_uid, "entity_uid": c.entity, "path": c.path, "loser_op_id": c.loser,
                "winner_op_id": c.winner, "resolved": (c.loser, c.winner, c.path) in resolved,
                "created_at": created} for c in conflicts])
        for key in resolutions:
            loser, winner, path = keys.parse_resolution(key) or ("", "", "")
            conn.execute(update(_C).where(_C.c.scope_uid == scope_uid, _C.c.loser_op_id == loser,
                                          _C.c.winner_op_id == winner, _C.c.path == path)
                         .values(resolved=key in state.entries))
        project = _PROJECTORS[state.kind]
        return project(self, conn, scope_uid, state, touched, op_id)

    def _project_project(self, conn: Connection, uid: str, state: ScopeState, touched: set[str],
                         op_id: str) -> dict[str, int]:
        e = state.entries
        now = m.utcnow()
        conn.execute(_UPSERT_PROJECT, {"uid": uid, "created_at": now, "name": e.get("name", ""),
                                       "aspect": e.get("aspect", "9:16"), "updated_at": now,
                                       "deleted": bool(e.get("deleted", "name" not in e))})
        versions: dict[str, int] = {}
        members = set(clip_order(e))
        for wc in sorted(touched):
            src = e.get(keys.clip(wc))
            if src is None:  # its add_clip was undone: no longer in the reel
                conn.execute(update(_WC).where(_WC.c.uid == wc).values(removed=True))
                continue
            conn.execute(_UPSERT_WC, {"uid": wc, "project_uid": uid, "raw_clip_uid": src["raw_clip"],
                                      "sort_key": e.get(keys.order(wc), ""),
                                      "removed": wc not in members,
                                      "raw_clip_rev": src["rev"],
                                      "transition_json": canonical_json(e.get(keys.transition(wc)))})
            doc = canonical_json(clip_doc(e, wc))
            latest = conn.execute(_SEL_LATEST, {"wc": wc}).first()
            if latest is not None and latest.edit_json == doc:
                continue
            n = 1 if latest is None else latest.version + 1
            conn.execute(_INSERT_VERSION, {"clip_uid": wc, "version": n, "edit_json": doc, "gesture_op_id": op_id,
                                           "created_at": now})
            versions[wc] = n
        return versions

    def _project_raw_clip(self, conn: Connection, uid: str, state: ScopeState, touched: set[str],
                          op_id: str) -> dict[str, int]:
        e = state.entries
        if "media" not in e:
            return {}
        now = m.utcnow()
        conn.execute(_UPSERT_RAW, {
            "uid": uid, "created_at": now, "media_hash": e["media"], "game_uid": e.get("game"), "start": e["start"],
            "end": e["end"], "rating": e.get("rating", 0), "tags_json": canonical_json(e.get("tags", [])),
            "notes": e.get("notes", ""), "name": e.get("name", ""), "boundaries_rev": e.get("rev", 0),
            "deleted": bool(e.get("deleted")), "updated_at": now})
        return {}

    def _project_media(self, conn: Connection, uid: str, state: ScopeState, touched: set[str],
                       op_id: str) -> dict[str, int]:
        info = state.entries.get("info")
        if info is None:
            return {}
        keys = ("duration", "fps_num", "fps_den", "vfr", "width", "height", "rotation", "has_audio")
        values = {k: info[k] for k in keys}
        values.update(video_codec=info.get("video_codec", ""), audio_codec=info.get("audio_codec"),
                      container=info.get("container", ""), size_bytes=int(info.get("size_bytes", 0)),
                      name=state.entries.get("name", ""))
        stmt = sqlite_insert(m.Media).values(hash=uid, created_at=m.utcnow(), **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["hash"], set_=values))
        return {}

    def _project_game(self, conn: Connection, uid: str, state: ScopeState, touched: set[str],
                      op_id: str) -> dict[str, int]:
        e = state.entries
        if "name" not in e:  # never created here, or its creation was undone
            conn.execute(update(m.Game).where(m.Game.uid == uid).values(deleted=True))
            conn.execute(delete(m.GameMedia).where(m.GameMedia.game_uid == uid))
            return {}
        stmt = sqlite_insert(m.Game).values(uid=uid, name=e["name"], created_at=m.utcnow())
        conn.execute(stmt.on_conflict_do_update(index_elements=["uid"], set_={"name": e["name"], "deleted": False}))
        conn.execute(delete(m.GameMedia).where(m.GameMedia.game_uid == uid))
        for i, h in enumerate(e.get("media", [])):
            conn.execute(insert(m.GameMedia).values(game_uid=uid, media_hash=h, position=i))
        return {}


_PROJECTORS = {
    ScopeKind.PROJECT: LibraryProjections._project_project,
    ScopeKind.RAW_CLIP: LibraryProjections._project_raw_clip,
    ScopeKind.MEDIA: LibraryProjections._project_media,
    ScopeKind.GAME: LibraryProjections._project_game,
}



def resolution_keys(res: StepResult) -> list[str]:
    """The conflict-resolution entries a step wrote (resolve_conflict gestures)."""
    return [k for k in res.effect if keys.parse_resolution(k)]
