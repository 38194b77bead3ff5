"""A ReelDesk library: one folder with ``library.sqlite``, ``media/``, ``cache/`` and ``exports/``.

``Library.apply(gesture)`` is the single write path for domain data: in one SQLite transaction it
validates the gesture, folds it into its scope, writes the projections (projects, working clips,
new version rows, raw clips, media, games), records conflicts and appends the gesture to the log.
``merge_remote`` takes other devices' gestures and re-folds a scope when one sorts before
gestures already folded there.
"""
from __future__ import annotations
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from sqlalchemy import Connection, select

from core import identity
from core.db import models as m
from core.changes import ChangeBuilder, ChangeSet, EntityKind, Initiator
from core.db.checkpoint import WalCheckpointer
from core.db.engine import open_engine
from core.enums import GestureKind
from core.fair_lock import FairRLock
from core.local_first import LocalFirst
from core.gestures.fold import ScopeState, step
from core.gestures.model import Gesture, GestureError
from core.gestures.normalize import Lookups
from core.gestures.registry import EntityRule, entity_rule, normalize, validate_payload
from core.db.write_guard import guarded_engine
from core.ids import is_media_hash, is_uid, new_uid
from core.library_dir import ENV_HOME, default_library_dir
from core.library_merge import MAX_LAMPORT_JUMP, LibraryMerge, validate_remote
from core.library_projections import resolution_keys
from core.library_reads import LibraryReads
from core.library_store import _C, _G, _INSERT_LOG, ApplyResult, MergeResult
from core.undo import check_not_stale

__all__ = ["DB_NAME", "ENV_HOME", "MAX_LAMPORT_JUMP", "ApplyResult", "ChangeSet", "EntityKind", "Initiator", "Library",
           "MergeResult", "default_library_dir", "validate_remote"]

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"


class Library(LibraryMerge, LibraryReads):
    def __init__(self, root: Path, initiator: Initiator = Initiator.LOCAL_UI):
        self.root = Path(root)
        self.initiator = initiator  # who this process's applies are published as (see core.changes)
        for sub in ("media", "cache", "exports"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.engine = open_engine(self.root / DB_NAME)
        # Bookkeeping writers' own pool: its connections refuse domain writes (core.db.write_guard).
        self._bookkeeping = guarded_engine(self.root / DB_NAME)
        self._checkpointer = WalCheckpointer(self.engine)
        self._lock = FairRLock()
        self._local_first = LocalFirst()
        self._states = {}
        self._listeners = []
        with self._write() as conn:
            self.device_id = identity.ensure_identity(conn, self.root)
            if self._setting(conn, "library_uid") is None:
                self._init_setting(conn, "library_uid", new_uid())

    @property
    def library_uid(self) -> str:
        """Shared by every device of this library (the sync adopts the bucket's on joining)."""
        return self.get_setting("library_uid") or ""

    @classmethod
    def open(cls, root: Path | None = None, initiator: Initiator = Initiator.LOCAL_UI) -> "Library":
        return cls(root or default_library_dir(), initiator)

    def close(self) -> None:
        self._checkpointer.stop()
        self.engine.dispose()
        self._bookkeeping.dispose()

    # -- folders -------------------------------------------------------------------------------
    @property
    def media_dir(self) -> Path:
        return self.root / "media"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"

    def media_path(self, media_hash: str) -> Path:
        """The one place media paths are built: only a BLAKE3 hex digest names a file, so no value
        from a gesture or the bucket can point outside the library folder."""
        if not is_media_hash(media_hash):
            raise GestureError(f"not a media hash: {str(media_hash)[:80]!r}")
        return self.media_dir / media_hash

    def remint_device(self, reason: str) -> str:
        """Become a new device (this library is a copy or a restored backup); see core.identity."""
        with self.transaction() as conn:  # bookkeeping: marks unpushed gestures for relay, nothing more
            self.device_id = identity.remint(conn, self.device_id, reason)
        return self.device_id

    # -- the write path ------------------------------------------------------------------------
    def apply(self, gesture: Gesture, initiator: Initiator | None = None) -> ApplyResult:
        """Validate, fold and log one local gesture in one transaction, then publish its ChangeSet
        (made by ``initiator``, by default this library's)."""
        with self._local_first.applying():  # a merge on another thread pauses until this is done
            return self._apply_now(gesture, initiator)

    def _apply_now(self, gesture: Gesture, initiator: Initiator | None) -> ApplyResult:
        if not isinstance(gesture.kind, GestureKind):
            raise GestureError("unknown gesture kind")
        validate_payload(gesture.kind, gesture.payload, normalized=False)
        if gesture.op_id is not None and not is_uid(gesture.op_id):
            raise GestureError("op_id must be a uuid")
        changes = ChangeBuilder(kinds={gesture.kind})
        with self._write() as conn:
            if gesture.op_id is not None:
                existing = self._result_of(conn, gesture.op_id)
                if existing is not None:
                    return existing
            result = self._apply_local(conn, gesture, changes)
        self._notify(changes.build(initiator or self.initiator))
        return result

    def _apply_local(self, conn: Connection, g: Gesture, changes: ChangeBuilder) -> ApplyResult:
        op_id = g.op_id or new_uid()
        entity = self._local_entity(conn, g)
        scope_kind, scope_uid = self._resolve_scope(conn, g.kind, entity, g.undoes)
        if scope_uid is None:
            raise GestureError(f"unknown target {entity}")
        state = self._load_state(conn, scope_uid, scope_kind)
        if g.kind is not GestureKind.REVERT:
            self._check_target(g.kind, entity, state)
        payload = normalize(g.kind, entity, dict(g.payload), state, self._lookups(conn))
        validate_payload(g.kind, payload, normalized=True)
        lamport = self._lamport(conn) + 1
        full = Gesture(kind=g.kind, entity_uid=entity, payload=payload, op_id=op_id, device_id=self.device_id,
                       lamport=lamport, base_version=state.clock if g.base_version is None else g.base_version,
                       undoes=g.undoes)
        res = step(state, full)
        conn.execute(_INSERT_LOG, self._log_row(full, scope_uid, res))
        self._put_setting(conn, "lamport", str(lamport))
        versions = self._persist(conn, scope_uid, state, res.touched_clips, op_id, res.conflicts, changes,
                                 resolutions=resolution_keys(res))
        return ApplyResult(op_id, entity, g.kind, self._latest_version_no(conn, entity), versions, res.created)

    def _local_entity(self, conn: Connection, g: Gesture) -> str:
        rule = entity_rule(g.kind)
        entity = g.entity_uid
        if rule is EntityRule.NEW:
            entity = entity or new_uid()
            if not is_uid(entity):
                raise GestureError("target must be a uuid")
            return entity
        if rule is EntityRule.HASH:
            if entity is None or not is_media_hash(entity):
                raise GestureError("import_media target must be the media's BLAKE3 hash")
            return entity
        if not entity:
            raise GestureError(f"{g.kind.value} needs a target")
        if not (is_uid(entity) or is_media_hash(entity)):
            raise GestureError(f"target {entity!r} is not a uid")
        return entity

    @staticmethod
    def _check_target(kind: GestureKind, entity: str, state: ScopeState) -> None:
        rule = entity_rule(kind)
        e = state.entries
        if rule is EntityRule.NEW and e:
            raise GestureError(f"{entity} already exists")
        if rule is EntityRule.PROJECT and "name" not in e:
            raise GestureError(f"unknown project {entity}")
        if rule is EntityRule.RAW_CLIP and "media" not in e:
            raise GestureError(f"unknown clip {entity}")

    def _lookups(self, conn: Connection) -> Lookups:
        def raw_clip(uid: str) -> dict[str, Any] | None:
            row = conn.execute(select(m.RawClip).where(m.RawClip.uid == uid)).mappings().first()
            if row is None:
                return None
            return {"media": row["media_hash"], "start": row["start"], "end": row["end"],
                    "rev": row["boundaries_rev"], "deleted": row["deleted"]}

        def media(h: str) -> dict[str, Any] | None:
            row = conn.execute(select(m.Media).where(m.Media.hash == h)).mappings().first()
            return None if row is None else dict(row)

        def version(wc: str, n: int) -> dict[str, Any] | None:
            doc = conn.execute(select(m.WorkingClipVersion.edit_json).where(
                m.WorkingClipVersion.clip_uid == wc, m.WorkingClipVersion.version == n)).scalar()
            return None if doc is None else json.loads(doc)

        return Lookups(raw_clip=raw_clip, media=media, version=version)

    # -- undo / redo ---------------------------------------------------------------------------
    def undo_stacks(self, scope_uid: str) -> tuple[list[str], list[str]]:
        """(undo stack, redo stack) of this device's gestures in a scope, oldest first."""
        with self.read() as conn:
            mine = identity.own_ids(conn, self.device_id)
            rows = conn.execute(select(_G.c.op_id, _G.c.undoes).where(
                _G.c.device_id.in_(mine), _G.c.scope_uid == scope_uid).order_by(_G.c.id)).all()
        undo: list[str] = []
        redo: list[str] = []
        for row in rows:
            if row.undoes is None:
                undo.append(row.op_id)
                redo.clear()
            elif undo and undo[-1] == row.undoes:
                undo.pop()
                redo.append(row.op_id)
            elif redo and redo[-1] == row.undoes:
                redo.pop()
                undo.append(row.op_id)
            else:  # an undo of something no longer on a stack: treat as a new action
                undo.append(row.op_id)
                redo.clear()
        return undo, redo

    def undo_ops(self, op_ids: Sequence[str]) -> list[ApplyResult]:
        """Revert exactly these gestures (an undo step's own), newest first; refused with a
        GestureError, changing nothing, when a later gesture changed what they changed."""
        with self.read() as conn:
            check_not_stale(conn, op_ids)
        return [self._invert(op) for op in reversed(op_ids)]

    def undo(self, scope_uid: str) -> ApplyResult | None:
        """Revert this device's newest gesture in the scope (the CLI's undo; the window undoes its
        own steps by op_id), with the same stale check as ``undo_ops``."""
        undo, _redo = self.undo_stacks(scope_uid)
        return self.undo_ops(undo[-1:])[0] if undo else None

    def redo(self, scope_uid: str) -> ApplyResult | None:
        _undo, redo = self.undo_stacks(scope_uid)
        return self.undo_ops(redo[-1:])[0] if redo else None

    def _invert(self, op_id: str) -> ApplyResult:
        with self.read() as conn:
            row = conn.execute(select(_G).where(_G.c.op_id == op_id)).first()
        if row is None:
            raise GestureError(f"unknown gesture {op_id}")
        effect = json.loads(row.effect)
        kind = GestureKind(row.kind)
        if kind is GestureKind.SET_ASPECT_RATIO and effect.get("aspect"):
            # Re-fitting crops back is a set_aspect_ratio of its own, not a patch.
            inverse = Gesture(GestureKind.SET_ASPECT_RATIO, row.entity_uid, {"aspect": effect["aspect"]}, undoes=op_id)
        else:
            inverse = Gesture(GestureKind.REVERT, row.entity_uid, {"patch": effect}, undoes=op_id)
        return self.apply(inverse)

    def conflicts(self, include_resolved: bool = False) -> list[dict[str, Any]]:
        with self.read() as conn:
            q = select(m.Conflict).order_by(m.Conflict.scope_uid, m.Conflict.path, m.Conflict.loser_op_id,
                                            m.Conflict.winner_op_id)
            if not include_resolved:
                q = q.where(m.Conflict.resolved.is_(False))
            return [{k: r[k] for k in ("scope_uid", "entity_uid", "path", "loser_op_id", "winner_op_id", "resolved")}
                    for r in conn.execute(q).mappings()]

    def resolve_conflict(self, loser_op_id: str, winner_op_id: str, path: str) -> ApplyResult:
        """Mark a conflict as dealt with ("keep theirs", or after "restore mine" re-applied it): a
        gesture, so every device sees it dealt with and it undoes like any edit."""
        return self.apply(self.conflict_gesture(loser_op_id, winner_op_id, path))

    def conflict_gesture(self, loser_op_id: str, winner_op_id: str, path: str) -> Gesture:
        """The resolve_conflict gesture for one listed conflict (GestureError when it is not listed)."""
        with self.read() as conn:
            scope = conn.execute(select(_C.c.scope_uid).where(
                _C.c.loser_op_id == loser_op_id, _C.c.winner_op_id == winner_op_id, _C.c.path == path)).scalar()
        if scope is None:
            raise GestureError(f"no such conflict ({loser_op_id} lost to {winner_op_id} at {path[:80]})")
        payload = {"loser": loser_op_id, "winner": winner_op_id, "path": path}
        return Gesture(GestureKind.RESOLVE_CONFLICT, scope, payload)
