"""Read-only queries of a library: projects, clips, media, history, the gesture log and the
sync bookkeeping over it."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, RowMapping, and_, func, or_, select, text, update

from core import identity
from core.db import models as m
from core.db.latest import latest_versions
from core.gestures.model import Gesture, GestureError, canonical_json
from core.gestures.views import clip_order, project_doc
from core.library_store import _G, _P, _WC, LibraryStore


class LibraryReads(LibraryStore):
    # -- readers -------------------------------------------------------------------------------
    def show_project(self, project_uid: str, known: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The canonical latest state of a project (what ``reeldesk show --json`` prints).

        ``known``: working clip documents (``source``, ``edit``, ``output_duration``) the caller
        knows are current (a change set named no change to them): only the other clips are read."""
        with self.read() as conn:
            raw = conn.execute(select(m.FoldState.state_json).where(m.FoldState.scope_uid == project_uid)).scalar()
            if raw is None or conn.execute(select(m.Project.id).where(m.Project.uid == project_uid)).scalar() is None:
                raise GestureError(f"unknown project {project_uid}")
            entries = json.loads(raw)["entries"]
            if known is None:
                query = latest_versions(project_uid=project_uid)
            else:
                query = latest_versions(clip_uids=[wc for wc in clip_order(entries) if wc not in known])
            docs = {**(known or {}), **{r.clip_uid: json.loads(r.edit_json) for r in conn.execute(query)}}
        return project_doc(project_uid, entries, docs)

    def project_json(self, project_uid: str) -> str:
        return canonical_json(self.show_project(project_uid))

    def history(self, wc: str, after: int = 0) -> list[dict[str, Any]]:
        """Versions of a working clip, oldest first, each with the gesture that made it; with
        ``after``, only the versions newer than that one (versions are immutable, so a reader that
        listed them up to ``after`` adds these), possibly none."""
        V = m.WorkingClipVersion
        with self.read() as conn:
            rows = conn.execute(select(V.version, V.edit_json, V.created_at, V.gesture_op_id, _G.c.kind,
                                       _G.c.device_id, _G.c.payload, _G.c.undoes)
                                .join(_G, _G.c.op_id == V.gesture_op_id, isouter=True)
                                .where(V.clip_uid == wc, V.version > after).order_by(V.version)).all()
        if not rows and not after:
            raise GestureError(f"unknown working clip {wc}")
        return [{"version": r.version, "created_at": r.created_at.isoformat() if r.created_at else None,
                 "gesture": {"op_id": r.gesture_op_id, "kind": r.kind, "device_id": r.device_id,
                             "payload": json.loads(r.payload) if r.payload else None, "undoes": r.undoes},
                 "edit": json.loads(r.edit_json)} for r in rows]

    # Every listing is ordered by a key all devices share (never a local row id or arrival time).
    def projects(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.read() as conn:
            q = select(m.Project.uid, m.Project.name, m.Project.aspect, m.Project.deleted).order_by(m.Project.uid)
            if not include_deleted:
                q = q.where(m.Project.deleted.is_(False))
            return [dict(r._mapping) for r in conn.execute(q)]

    @staticmethod
    def _raw_clip_dict(r: RowMapping) -> dict[str, Any]:
        d = {k: r[k] for k in ("uid", "media_hash", "game_uid", "start", "end", "rating", "notes", "name",
                               "boundaries_rev", "deleted")}
        d["tags"] = json.loads(r["tags_json"])
        return d

    def raw_clips(self, media_hash: str | None = None, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self.read() as conn:
            q = select(m.RawClip).order_by(m.RawClip.media_hash, m.RawClip.start, m.RawClip.uid)
            if media_hash:
                q = q.where(m.RawClip.media_hash == media_hash)
            if not include_deleted:
                q = q.where(m.RawClip.deleted.is_(False))
            return [self._raw_clip_dict(r) for r in conn.execute(q).mappings()]

    def raw_clip(self, uid: str) -> dict[str, Any] | None:
        """One raw clip (deleted ones too), or None."""
        with self.read() as conn:
            row = conn.execute(select(m.RawClip).where(m.RawClip.uid == uid)).mappings().first()
        return None if row is None else self._raw_clip_dict(row)

    def raw_clip_names(self, uids: Iterable[str]) -> dict[str, str]:
        """Names of these raw clips (deleted ones too), in one query."""
        wanted = list(set(uids))
        with self.read() as conn:
            return {r.uid: r.name for i in range(0, len(wanted), 500)
                    for r in conn.execute(select(m.RawClip.uid, m.RawClip.name)
                                          .where(m.RawClip.uid.in_(wanted[i:i + 500])))}

    def working_clip(self, wc: str) -> dict[str, Any] | None:
        """The latest edit document of a working clip with its project's uid and aspect, or None
        (unknown, or no longer in its project)."""
        with self.read() as conn:
            row = conn.execute(select(_WC.c.project_uid, _WC.c.removed, _P.c.aspect)
                               .join(_P, _P.c.uid == _WC.c.project_uid).where(_WC.c.uid == wc)).first()
            if row is None or row.removed:
                return None
            doc = conn.execute(latest_versions(clip_uids=[wc])).first()
        return None if doc is None else {"project": row.project_uid, "aspect": row.aspect,
                                         **json.loads(doc.edit_json)}

    def media(self, media_hash: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(select(m.Media).where(m.Media.hash == media_hash)).mappings().first()
            return None if row is None else {k: v for k, v in row.items() if k not in ("id",)}

    def media_list(self) -> list[dict[str, Any]]:
        with self.read() as conn:
            return [dict(r) for r in conn.execute(select(m.Media).order_by(m.Media.name, m.Media.hash)).mappings()]

    def gesture(self, op_id: str) -> Gesture | None:
        with self.read() as conn:
            row = conn.execute(select(_G).where(_G.c.op_id == op_id)).first()
        return None if row is None else self._row_to_gesture(row)

    def gesture_count(self) -> int:
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(_G)).scalar_one())

    def gestures(self, after_id: int = 0, limit: int | None = None) -> list[Gesture]:
        with self.read() as conn:
            q = select(_G).where(_G.c.id > after_id).order_by(_G.c.id)
            if limit:
                q = q.limit(limit)
            return [self._row_to_gesture(r) for r in conn.execute(q)]

    # -- sync bookkeeping ----------------------------------------------------------------------
    def pending_gestures(self, limit: int = 500) -> list[Gesture]:
        """This device's gestures not pushed yet, in the order they were applied."""
        with self.read() as conn:
            rows = conn.execute(select(_G).where(self._pending_clause()).order_by(_G.c.id).limit(limit)).all()
        return [self._row_to_gesture(r) for r in rows]

    def known_op_ids(self, op_ids: list[str]) -> set[str]:
        with self.read() as conn:
            return {x for i in range(0, len(op_ids), 500)
                    for x in conn.execute(select(_G.c.op_id).where(_G.c.op_id.in_(op_ids[i:i + 500]))).scalars()}

    def pending_count(self, older_than_s: float | None = None) -> int:
        q = select(func.count()).select_from(_G).where(self._pending_clause())
        if older_than_s is not None:
            q = q.where(_G.c.created_at < m.utcnow() - timedelta(seconds=older_than_s))
        with self.read() as conn:
            return int(conn.execute(q).scalar_one())

    def former_device_ids(self) -> list[dict[str, str]]:
        """Ids this library had before it found it was a copy (each with why it changed)."""
        with self.read() as conn:
            return identity.former_ids(conn)

    def _pending_clause(self) -> Any:
        # Ours and not pushed, or made under a former id of this library and waiting to be relayed.
        return or_(and_(_G.c.device_id == self.device_id, _G.c.pushed_batch.is_(None)),
                   _G.c.pushed_batch == identity.RELAY)

    @staticmethod
    def mark_pushed(conn: Connection, op_ids: Iterable[str], batch: int) -> None:
        """Record (inside the caller's transaction) that these gestures went up in ``batch``."""
        ids = list(op_ids)
        for i in range(0, len(ids), 500):
            conn.execute(update(_G).where(_G.c.op_id.in_(ids[i:i + 500])).values(pushed_batch=batch))

    def integrity_check(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA integrity_check")).scalar_one())
