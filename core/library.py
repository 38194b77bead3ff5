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
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import platformdirs
from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import identity
from core.db import models as m
from core.db.checkpoint import WalCheckpointer
from core.db.engine import open_engine
from core.db.latest import latest_versions
from core.db.write_guard import guarded_engine
from core.enums import GestureKind
from core.gestures import keys
from core.gestures.fold import ScopeState, StepResult, clip_of_path, step
from core.gestures.model import ClockAhead, Gesture, GestureError, ScopeKind, canonical_json
from core.gestures.normalize import Lookups
from core.gestures.registry import EntityRule, entity_rule, normalize, scope_kind_of, validate_payload
from core.gestures.views import clip_doc, clip_order, project_doc
from core.ids import is_media_hash, is_uid, new_uid
from core.undo import check_not_stale

log = logging.getLogger(__name__)

DB_NAME = "library.sqlite"
# How far a remote clock may run ahead of ours (plus one per gesture merged): every later local
# gesture takes max+1, so adopting a forged huge lamport would break every device's sync.
MAX_LAMPORT_JUMP = 1_000_000
ENV_HOME = "REELDESK_HOME"


def default_library_dir() -> Path:
    """``REELDESK_HOME`` if set, else the per-user data folder."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("ReelDesk", "ReelDesk")) / "Library"


@dataclass(frozen=True)
class ApplyResult:
    op_id: str
    entity: str
    kind: GestureKind
    version: int | None  # the target working clip's version after the gesture
    versions: dict[str, int] = field(default_factory=dict)  # every working clip that changed
    created: dict[str, str] = field(default_factory=dict)
    duplicate: bool = False  # the op_id was already applied: nothing changed

    def to_json(self) -> dict[str, Any]:
        return {"op_id": self.op_id, "entity": self.entity, "kind": self.kind.value,
                "version": self.version, "versions": self.versions, "created": self.created,
                "duplicate": self.duplicate}


@dataclass(frozen=True)
class MergeResult:
    applied: int
    duplicates: int
    refolded_scopes: int


@dataclass(frozen=True)
class ChangeEvent:
    scopes: frozenset[str]
    kinds: frozenset[GestureKind]
    remote: bool


# Core tables and statements built once: the hot path binds parameters into cached SQL.
_G = m.GestureRow.__table__
_S = m.Setting.__table__
_FS = m.FoldState.__table__
_P = m.Project.__table__
_WC = m.WorkingClip.__table__
_V = m.WorkingClipVersion.__table__
_C = m.Conflict.__table__
_RC = m.RawClip.__table__
_M = m.Media.__table__
_GA = m.Game.__table__
_GM = m.GameMedia.__table__


def _upsert(table: Any, key: str, columns: Iterable[str]) -> Any:
    stmt = sqlite_insert(table)
    return stmt.on_conflict_do_update(index_elements=[key], set_={c: stmt.excluded[c] for c in columns})


_SEL_SETTING = select(_S.c.value).where(_S.c.key == bindparam("key"))
_UPSERT_SETTING = _upsert(_S, "key", ["value"])
_SEL_SEQ = select(_FS.c.seq).where(_FS.c.scope_uid == bindparam("scope"))
_SEL_STATE = select(_FS.c.state_json, _FS.c.seq).where(_FS.c.scope_uid == bindparam("scope"))
_UPSERT_STATE = _upsert(_FS, "scope_uid", ["state_json", "seq"])
_INSERT_LOG = insert(_G)
_SEL_OP = select(_G.c.kind, _G.c.entity_uid, _G.c.scope_uid).where(_G.c.op_id == bindparam("op"))
_UPSERT_PROJECT = _upsert(_P, "uid", ["name", "aspect", "deleted", "updated_at"])
_UPSERT_WC = _upsert(_WC, "uid", ["project_uid", "raw_clip_uid", "sort_key", "removed", "raw_clip_rev",
                                  "transition_json"])
_SEL_LATEST = (select(_V.c.version, _V.c.edit_json).where(_V.c.clip_uid == bindparam("wc"))
               .order_by(_V.c.version.desc()).limit(1))
_SEL_MAX_VERSION = select(func.max(_V.c.version)).where(_V.c.clip_uid == bindparam("wc"))
_INSERT_VERSION = insert(_V)
_INSERT_CONFLICT = sqlite_insert(_C).on_conflict_do_nothing()
_UPSERT_RAW = _upsert(_RC, "uid", ["media_hash", "game_uid", "start", "end", "rating", "tags_json", "notes",
                                   "name", "boundaries_rev", "deleted", "updated_at"])
_SEL_WC_PROJECT = select(_WC.c.project_uid).where(_WC.c.uid == bindparam("wc"))


class Library:
    def __init__(self, root: Path):
        self.root = Path(root)
        for sub in ("media", "cache", "exports"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.engine = open_engine(self.root / DB_NAME)
        # Bookkeeping writers' own pool: its connections refuse domain writes (core.db.write_guard).
        self._bookkeeping = guarded_engine(self.root / DB_NAME)
        self._checkpointer = WalCheckpointer(self.engine)
        self._lock = threading.RLock()
        self._states: dict[str, tuple[int, ScopeState]] = {}  # scope -> (seq, parsed state)
        self._listeners: list[Callable[[ChangeEvent], None]] = []
        with self._write() as conn:
            self.device_id = identity.ensure_identity(conn, self.root)
            if self._setting(conn, "library_uid") is None:
                self._init_setting(conn, "library_uid", new_uid())

    @property
    def library_uid(self) -> str:
        """Shared by every device of this library (the sync adopts the bucket's on joining)."""
        return self.get_setting("library_uid") or ""

    @classmethod
    def open(cls, root: Path | None = None) -> "Library":
        return cls(root or default_library_dir())

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

    # -- settings (local, never secrets) -------------------------------------------------------
    @staticmethod
    def _setting(conn: Connection, key: str) -> str | None:
        return conn.execute(_SEL_SETTING, {"key": key}).scalar()

    @staticmethod
    def _init_setting(conn: Connection, key: str, value: str) -> str:
        conn.execute(_UPSERT_SETTING, {"key": key, "value": value})
        return value

    @staticmethod
    def _put_setting(conn: Connection, key: str, value: str) -> None:
        conn.execute(_UPSERT_SETTING, {"key": key, "value": value})

    put_setting_in = _put_setting  # for bookkeeping written inside a caller's transaction

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self.engine.connect() as conn:
            value = self._setting(conn, key)
        return default if value is None else value

    def set_setting(self, key: str, value: str) -> None:
        """Local, non-domain settings (remote endpoint, watch folder…). Never secrets."""
        with self.transaction() as conn:
            self._put_setting(conn, key, value)

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def _write(self, engine: Engine | None = None) -> Iterator[Connection]:
        with self._lock, (engine or self.engine).connect().execution_options(write=True) as conn:
            try:
                with conn.begin():
                    yield conn
            except BaseException:
                self._states.clear()  # folded in memory but rolled back on disk
                raise
        self._checkpointer.poke()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction for local bookkeeping tables (sync cursors, export jobs).

        Domain tables are written by apply/merge_remote only: SQLite refuses them here.
        """
        with self._write(self._bookkeeping) as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def subscribe(self, listener: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        """Call ``listener`` after every committed change (on the writer's thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, event: ChangeEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not undo a committed write
                log.exception("change listener failed")

    # -- the write path ------------------------------------------------------------------------
    def apply(self, gesture: Gesture) -> ApplyResult:
        """Validate, fold and log one local gesture in one transaction."""
        if not isinstance(gesture.kind, GestureKind):
            raise GestureError("unknown gesture kind")
        validate_payload(gesture.kind, gesture.payload, normalized=False)
        if gesture.op_id is not None and not is_uid(gesture.op_id):
            raise GestureError("op_id must be a uuid")
        with self._write() as conn:
            if gesture.op_id is not None:
                existing = self._result_of(conn, gesture.op_id)
                if existing is not None:
                    return existing
            result, scope = self._apply_local(conn, gesture)
        self._notify(ChangeEvent(frozenset([scope]), frozenset([gesture.kind]), remote=False))
        return result

    def _apply_local(self, conn: Connection, g: Gesture) -> tuple[ApplyResult, str]:
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
        versions = self._persist(conn, scope_uid, state, res.touched_clips, full.op_id, res.conflicts,
                                 resolutions=_resolution_keys(res))
        return ApplyResult(op_id, entity, g.kind, self._latest_version_no(conn, entity), versions,
                           res.created), scope_uid

    def _local_entity(self, conn: Connection, g: Gesture) -> str:
        rule = entity_rule(g.kind)
        entity = g.entity_uid
        if rule is EntityRule.NEW:
            entity = entity or new_uid()
            if not is_uid(entity):
                raise GestureError("target must be a uuid")
            return entity
        if rule is EntityRule.HASH:
            if not is_media_hash(entity):
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

    def _lamport(self, conn: Connection) -> int:
        return int(self._setting(conn, "lamport") or 0)

    def _lookups(self, conn: Connection) -> Lookups:
        def raw_clip(uid: str) -> dict | None:
            row = conn.execute(select(m.RawClip).where(m.RawClip.uid == uid)).mappings().first()
            if row is None:
                return None
            return {"media": row["media_hash"], "start": row["start"], "end": row["end"],
                    "rev": row["boundaries_rev"], "deleted": row["deleted"]}

        def media(h: str) -> dict | None:
            row = conn.execute(select(m.Media).where(m.Media.hash == h)).mappings().first()
            return None if row is None else dict(row)

        def version(wc: str, n: int) -> dict | None:
            doc = conn.execute(select(m.WorkingClipVersion.edit_json).where(
                m.WorkingClipVersion.clip_uid == wc, m.WorkingClipVersion.version == n)).scalar()
            return None if doc is None else json.loads(doc)

        return Lookups(raw_clip=raw_clip, media=media, version=version)

    # -- scopes --------------------------------------------------------------------------------
    def _resolve_scope(self, conn: Connection, kind: GestureKind, entity: str,
                       undoes: str | None = None) -> tuple[ScopeKind, str | None]:
        rule = entity_rule(kind)
        if rule is EntityRule.WORKING_CLIP:
            return ScopeKind.PROJECT, self._project_of_clip(conn, entity)
        if rule is EntityRule.SCOPE:
            return self._scope_of_entity(conn, entity)
        if rule is not EntityRule.ANY:
            return scope_kind_of(kind), entity
        # A revert lives in the scope of the gesture it undoes.
        if undoes:
            row = conn.execute(select(_G.c.scope_uid, _G.c.kind, _G.c.entity_uid).where(_G.c.op_id == undoes)).first()
            if row is not None and row.scope_uid is not None:
                return self._resolve_scope(conn, GestureKind(row.kind), row.entity_uid)
        return self._scope_of_entity(conn, entity)

    def _scope_of_entity(self, conn: Connection, entity: str) -> tuple[ScopeKind, str | None]:
        row = conn.execute(select(m.FoldState.scope_kind).where(m.FoldState.scope_uid == entity)).scalar()
        if row is not None:
            return ScopeKind(row), entity
        project = self._project_of_clip(conn, entity)
        return (ScopeKind.PROJECT, project) if project else (ScopeKind.PROJECT, None)

    def _project_of_clip(self, conn: Connection, wc: str) -> str | None:
        project = conn.execute(_SEL_WC_PROJECT, {"wc": wc}).scalar()
        if project is not None:
            return project
        # Not projected yet (its add_clip is still orphaned in a merge): look in the log.
        return conn.execute(select(_G.c.entity_uid).where(
            _G.c.kind == GestureKind.ADD_CLIP.value,
            func.json_extract(_G.c.payload, "$.working_clip") == wc)).scalar()

    def _load_state(self, conn: Connection, scope_uid: str, kind: ScopeKind) -> ScopeState:
        """The folded state of a scope; the caller mutates it and saves it in the same transaction."""
        cached = self._states.get(scope_uid)
        if cached is not None:
            seq = conn.execute(_SEL_SEQ, {"scope": scope_uid}).scalar()
            if seq == cached[0]:
                return cached[1]
        row = conn.execute(_SEL_STATE, {"scope": scope_uid}).first()
        if row is None:
            return ScopeState(kind)
        state = ScopeState.from_json(json.loads(row.state_json))
        self._states[scope_uid] = (row.seq, state)
        return state

    def _save_state(self, conn: Connection, scope_uid: str, state: ScopeState) -> None:
        seq = (conn.execute(_SEL_SEQ, {"scope": scope_uid}).scalar() or 0) + 1
        doc = json.dumps(state.to_json(), separators=(",", ":"))
        conn.execute(_UPSERT_STATE, {"scope_uid": scope_uid, "scope_kind": state.kind.value, "state_json": doc,
                                     "seq": seq})
        self._states[scope_uid] = (seq, state)

    # -- log -----------------------------------------------------------------------------------
    @staticmethod
    def _log_row(g: Gesture, scope_uid: str | None, res: StepResult | None) -> dict[str, Any]:
        return {"op_id": g.op_id, "device_id": g.device_id, "lamport": g.lamport, "kind": g.kind.value,
                "entity_uid": g.entity_uid, "scope_uid": scope_uid, "payload": canonical_json(dict(g.payload)),
                "base_version": g.base_version or 0, "undoes": g.undoes, "pushed_batch": None,
                "effect": canonical_json(res.effect) if res is not None else "{}", "created_at": m.utcnow()}

    def _result_of(self, conn: Connection, op_id: str) -> ApplyResult | None:
        row = conn.execute(_SEL_OP, {"op": op_id}).first()
        if row is None:
            return None
        kind = GestureKind(row.kind)
        return ApplyResult(op_id, row.entity_uid, kind, self._latest_version_no(conn, row.entity_uid), {}, {},
                           duplicate=True)

    @staticmethod
    def _row_to_gesture(row: Any) -> Gesture:
        return Gesture(kind=GestureKind(row.kind), entity_uid=row.entity_uid, payload=json.loads(row.payload),
                       op_id=row.op_id, device_id=row.device_id, lamport=row.lamport,
                       base_version=row.base_version, undoes=row.undoes)

    # -- projections ---------------------------------------------------------------------------
    def _persist(self, conn: Connection, scope_uid: str, state: ScopeState, touched: set[str], op_id: str,
                 conflicts: Iterable[Any], *, refold: bool = False, resolutions: Iterable[str] = ()) -> dict[str, int]:
        self._save_state(conn, scope_uid, state)
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
        for c in conflicts:
            conn.execute(_INSERT_CONFLICT, {
                "scope_uid": scope_uid, "entity_uid": c.entity, "path": c.path, "loser_op_id": c.loser,
                "winner_op_id": c.winner, "resolved": (c.loser, c.winner, c.path) in resolved,
                "created_at": m.utcnow()})
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

    @staticmethod
    def _latest_version_no(conn: Connection, wc: str) -> int | None:
        """The newest version number of a working clip (None for any other entity)."""
        return conn.execute(_SEL_MAX_VERSION, {"wc": wc}).scalar()

    # -- remote gestures -----------------------------------------------------------------------
    def merge_remote(self, gestures: Iterable[Gesture | Mapping[str, Any]],
                     in_transaction: Callable[[Connection], None] | None = None) -> MergeResult:
        """Apply other devices' gestures; idempotent by op_id; convergent in any arrival order.

        Every gesture is validated before anything is written; one bad gesture rejects the whole
        call (the sync quarantines that batch). ``in_transaction`` runs inside the same
        transaction (the sync advances its cursor there).
        """
        parsed = [validate_remote(g if isinstance(g, Gesture) else Gesture.from_wire(g)) for g in gestures]
        parsed.sort(key=lambda g: g.order_key)
        with self._write() as conn:
            result, scopes, kinds = self._merge(conn, parsed)
            if in_transaction is not None:
                in_transaction(conn)
        if scopes:
            self._notify(ChangeEvent(frozenset(scopes), frozenset(kinds), remote=True))
        return result

    def _merge(self, conn: Connection, gestures: list[Gesture]) -> tuple[MergeResult, set[str], set[GestureKind]]:
        known = set()
        ids = [g.op_id for g in gestures]
        for i in range(0, len(ids), 500):
            known.update(conn.execute(select(_G.c.op_id).where(_G.c.op_id.in_(ids[i:i + 500]))).scalars())
        new = []
        seen_ids: set[str] = set()
        for g in gestures:
            if g.op_id in known or g.op_id in seen_ids:
                continue
            seen_ids.add(g.op_id)
            new.append(g)
        if not new:
            return MergeResult(0, len(gestures), 0), set(), set()
        local = self._lamport(conn)
        highest = max(g.lamport for g in new)
        if highest > local + len(new) + MAX_LAMPORT_JUMP:
            raise ClockAhead(f"gesture clock {highest} is too far ahead of this library's ({local})")
        lamport = max(local, highest)
        self._put_setting(conn, "lamport", str(lamport))

        # Resolve every gesture's scope in total order; add_clips and undone gestures in this
        # same batch count, so a batch never depends on its own rows being written first.
        batch_clips: dict[str, str] = {}  # working clip -> project, from add_clips in this batch
        batch_scopes: dict[str, tuple[ScopeKind, str | None]] = {}
        plan: dict[str, tuple[ScopeKind, list[Gesture]]] = {}
        orphans: list[Gesture] = []
        for g in new:
            if g.kind is GestureKind.ADD_CLIP:
                kind, scope = ScopeKind.PROJECT, g.entity_uid
                batch_clips[g.payload["working_clip"]] = g.entity_uid
            elif entity_rule(g.kind) is EntityRule.WORKING_CLIP and g.entity_uid in batch_clips:
                kind, scope = ScopeKind.PROJECT, batch_clips[g.entity_uid]
            elif entity_rule(g.kind) is EntityRule.SCOPE:
                kind, scope = self._scope_of_entity(conn, g.entity_uid)
                if scope is None and g.entity_uid in plan:  # a scope created earlier in this same batch
                    kind, scope = plan[g.entity_uid][0], g.entity_uid
            elif g.undoes is not None and g.undoes in batch_scopes:
                kind, scope = batch_scopes[g.undoes]
            else:
                kind, scope = self._resolve_scope(conn, g.kind, g.entity_uid, g.undoes)
                if scope is None and g.kind is GestureKind.REVERT:
                    kind, scope = self._scope_from_patch(conn, g, batch_clips)
            batch_scopes[g.op_id] = (kind, scope)
            if scope is None:
                orphans.append(g)  # its working clip's add_clip has not arrived yet
            else:
                plan.setdefault(scope, (kind, []))[1].append(g)
        if orphans:
            conn.execute(_INSERT_LOG, [self._log_row(g, None, None) for g in orphans])
        # Earlier orphans of the clips added now join their scope, which then re-folds.
        refold: set[str] = set()
        for wc, project in batch_clips.items():
            n = conn.execute(update(_G).where(_G.c.entity_uid == wc, _G.c.scope_uid.is_(None))
                             .values(scope_uid=project)).rowcount
            if n:
                refold.add(project)
        for scope, (kind, items) in sorted(plan.items()):
            state = self._load_state(conn, scope, kind)
            if scope not in refold and (state.last is None or tuple(items[0].order_key) > tuple(state.last)):
                touched: set[str] = set()
                conflicts = []
                rows = []
                resolutions: set[str] = set()
                for g in items:
                    res = step(state, g)
                    touched |= res.touched_clips
                    conflicts += res.conflicts
                    resolutions.update(_resolution_keys(res))
                    rows.append(self._log_row(g, scope, res))
                conn.execute(_INSERT_LOG, rows)
                self._persist(conn, scope, state, touched, items[-1].op_id, conflicts, resolutions=resolutions)
            else:
                conn.execute(_INSERT_LOG, [self._log_row(g, scope, None) for g in items])
                refold.add(scope)
        for scope in sorted(refold):
            kind = plan[scope][0] if scope in plan else ScopeKind.PROJECT
            self._refold(conn, scope, kind, plan[scope][1][-1].op_id if scope in plan else new[-1].op_id)
        kinds = {g.kind for g in new}
        return MergeResult(len(new), len(gestures) - len(new), len(refold)), set(plan) | refold, kinds

    def _scope_from_patch(self, conn: Connection, g: Gesture,
                          batch_clips: Mapping[str, str]) -> tuple[ScopeKind, str | None]:
        for path in g.payload.get("patch", {}):
            wc = clip_of_path(path)
            if wc:
                project = batch_clips.get(wc) or self._project_of_clip(conn, wc)
                if project:
                    return ScopeKind.PROJECT, project
        return ScopeKind.PROJECT, None

    def _refold(self, conn: Connection, scope: str, kind: ScopeKind, op_id: str) -> None:
        """Rebuild a scope from its whole gesture list (a gesture arrived out of order)."""
        rows = conn.execute(select(_G).where(_G.c.scope_uid == scope).order_by(
            _G.c.lamport, _G.c.device_id, _G.c.op_id)).all()
        state = ScopeState(kind)
        conflicts = []
        for row in rows:
            g = self._row_to_gesture(row)
            res = step(state, g)
            conflicts += res.conflicts
            effect = canonical_json(res.effect)
            if effect != row.effect:
                conn.execute(update(_G).where(_G.c.id == row.id).values(effect=effect))
        touched = {clip_of_path(p) for p in state.entries if clip_of_path(p)}
        self._persist(conn, scope, state, touched, op_id, conflicts, refold=True)

    @classmethod
    def refold_projects(cls, conn: Connection) -> int:
        """Re-fold every project from its gesture log inside ``conn``'s transaction (a migration
        after a fold rule changed): effects are recomputed for undo, and a working clip gets a new
        version row only where its edit changed. Returns the number of projects re-folded."""
        projector = cls.__new__(cls)  # projections only: no folder, engine or device needed
        projector._states = {}
        scopes = conn.execute(select(_FS.c.scope_uid).where(_FS.c.scope_kind == ScopeKind.PROJECT.value)
                              .order_by(_FS.c.scope_uid)).scalars().all()
        for scope in scopes:
            last = conn.execute(select(_G.c.op_id).where(_G.c.scope_uid == scope).order_by(
                _G.c.lamport.desc(), _G.c.device_id.desc(), _G.c.op_id.desc()).limit(1)).scalar()
            if last is not None:
                projector._refold(conn, scope, ScopeKind.PROJECT, last)
        return len(scopes)

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
        undo, _redo = self.undo_stacks(scope_uid)
        return self._invert(undo[-1]) if undo else None

    def redo(self, scope_uid: str) -> ApplyResult | None:
        _undo, redo = self.undo_stacks(scope_uid)
        return self._invert(redo[-1]) if redo else None

    def _invert(self, op_id: str) -> ApplyResult:
        with self.read() as conn:
            row = conn.execute(select(_G).where(_G.c.op_id == op_id)).first()
        effect = json.loads(row.effect)
        kind = GestureKind(row.kind)
        if kind is GestureKind.SET_ASPECT_RATIO and effect.get("aspect"):
            # Re-fitting crops back is a set_aspect_ratio of its own, not a patch.
            inverse = Gesture(GestureKind.SET_ASPECT_RATIO, row.entity_uid, {"aspect": effect["aspect"]}, undoes=op_id)
        else:
            inverse = Gesture(GestureKind.REVERT, row.entity_uid, {"patch": effect}, undoes=op_id)
        return self.apply(inverse)

    # -- readers -------------------------------------------------------------------------------
    def show_project(self, project_uid: str) -> dict[str, Any]:
        """The canonical latest state of a project (what ``reeldesk show --json`` prints)."""
        with self.read() as conn:
            raw = conn.execute(select(m.FoldState.state_json).where(m.FoldState.scope_uid == project_uid)).scalar()
            if raw is None or conn.execute(select(m.Project.id).where(m.Project.uid == project_uid)).scalar() is None:
                raise GestureError(f"unknown project {project_uid}")
            entries = json.loads(raw)["entries"]
            docs = {r.clip_uid: json.loads(r.edit_json)
                    for r in conn.execute(latest_versions(project_uid=project_uid))}
        return project_doc(project_uid, entries, docs)

    def project_json(self, project_uid: str) -> str:
        return canonical_json(self.show_project(project_uid))

    def history(self, wc: str) -> list[dict[str, Any]]:
        """Versions of a working clip, oldest first, each with the gesture that made it."""
        V = m.WorkingClipVersion
        with self.read() as conn:
            rows = conn.execute(select(V.version, V.edit_json, V.created_at, V.gesture_op_id, _G.c.kind,
                                       _G.c.device_id, _G.c.payload, _G.c.undoes)
                                .join(_G, _G.c.op_id == V.gesture_op_id, isouter=True)
                                .where(V.clip_uid == wc).order_by(V.version)).all()
        if not rows:
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
    def _raw_clip_dict(r: Mapping[str, Any]) -> dict[str, Any]:
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

    def gesture(self, op_id: str) -> Gesture | None:
        with self.read() as conn:
            row = conn.execute(select(_G).where(_G.c.op_id == op_id)).first()
        return None if row is None else self._row_to_gesture(row)

    def gesture_count(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(_G)).scalar()

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
            return conn.execute(q).scalar()

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
            return conn.execute(text("PRAGMA integrity_check")).scalar()


_PROJECTORS = {
    ScopeKind.PROJECT: Library._project_project,
    ScopeKind.RAW_CLIP: Library._project_raw_clip,
    ScopeKind.MEDIA: Library._project_media,
    ScopeKind.GAME: Library._project_game,
}


def _resolution_keys(res: StepResult) -> list[str]:
    return [k for k in res.effect if keys.parse_resolution(k)]


def validate_remote(g: Gesture) -> Gesture:
    """Strict checks for a gesture from another device (before anything is written)."""
    if not is_uid(g.op_id) or not is_uid(g.device_id):
        raise GestureError("gesture op_id and device_id must be uuids")
    if not isinstance(g.lamport, int) or isinstance(g.lamport, bool) or not 0 < g.lamport < 2**53:
        raise GestureError("gesture lamport must be a positive integer")
    if not isinstance(g.base_version, int) or isinstance(g.base_version, bool) or not 0 <= g.base_version < 2**53:
        raise GestureError("gesture base_version must be a non-negative integer")
    if g.undoes is not None and not is_uid(g.undoes):
        raise GestureError("gesture undoes must be a uuid or null")
    if not (is_uid(g.entity_uid) or is_media_hash(g.entity_uid)):
        raise GestureError("gesture entity must be a uuid or media hash")
    if entity_rule(g.kind) is EntityRule.HASH and not is_media_hash(g.entity_uid):
        raise GestureError("import_media entity must be a media hash")
    validate_payload(g.kind, g.payload, normalized=True)
    return g
