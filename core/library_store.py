"""Storage plumbing shared by every part of the library: prebuilt statements, transactions,
settings, folded scope states, scope resolution and log rows."""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, cast, overload

from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import models as m
from core.changes import ChangeSet
from core.db.checkpoint import WalCheckpointer
from core.enums import GestureKind
from core.fair_lock import FairRLock
from core.local_first import LocalFirst
from core.gestures.fold import ScopeState, StepResult
from core.gestures.model import Gesture, ScopeKind, canonical_json
from core.gestures.registry import EntityRule, entity_rule, scope_kind_of

log = logging.getLogger(__name__)


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


# Core tables and statements built once: the hot path binds parameters into cached SQL.
_G = cast(Table, m.GestureRow.__table__)
_S = cast(Table, m.Setting.__table__)
_FS = cast(Table, m.FoldState.__table__)
_P = cast(Table, m.Project.__table__)
_WC = cast(Table, m.WorkingClip.__table__)
_V = cast(Table, m.WorkingClipVersion.__table__)
_C = cast(Table, m.Conflict.__table__)
_RC = cast(Table, m.RawClip.__table__)
_M = cast(Table, m.Media.__table__)
_GA = cast(Table, m.Game.__table__)
_GM = cast(Table, m.GameMedia.__table__)


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
UNFOLDED = "{}"  # the effect a gesture is logged with until its scope is re-folded
_SEL_WC_PROJECT = select(_WC.c.project_uid).where(_WC.c.uid == bindparam("wc"))


class LibraryStore:
    """The state every part of :class:`core.library.Library` shares (set up by its constructor)."""

    root: Path
    engine: Engine
    _bookkeeping: Engine  # bookkeeping writers' pool (core.db.write_guard)
    device_id: str
    _checkpointer: WalCheckpointer
    _lock: FairRLock  # in arrival order: a merge between its chunks lets a waiting apply in
    _local_first: LocalFirst  # a merge pauses its work while a local apply is pending
    _states: dict[str, tuple[int, ScopeState]]  # scope -> (seq, parsed state)
    _listeners: list[Callable[[ChangeSet], None]]

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

    @overload
    def get_setting(self, key: str) -> str | None: ...
    @overload
    def get_setting(self, key: str, default: str) -> str: ...
    @overload
    def get_setting(self, key: str, default: None) -> str | None: ...

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

    def subscribe(self, listener: Callable[[ChangeSet], None]) -> Callable[[], None]:
        """Call ``listener`` with the ChangeSet of every committed change (on the writer's thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _notify(self, changes: ChangeSet) -> None:
        for listener in list(self._listeners):
            try:
                listener(changes)
            except Exception:  # a broken listener must not undo a committed write
                log.exception("change listener failed")

    def _lamport(self, conn: Connection) -> int:
        return int(self._setting(conn, "lamport") or 0)

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
        project: str | None = conn.execute(_SEL_WC_PROJECT, {"wc": wc}).scalar()
        if project is not None:
            return project
        # Not projected yet (its add_clip is still orphaned in a merge): look in the log.
        logged: str | None = conn.execute(select(_G.c.entity_uid).where(
            _G.c.kind == GestureKind.ADD_CLIP.value,
            func.json_extract(_G.c.payload, "$.working_clip") == wc)).scalar()
        return logged

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
                "effect": canonical_json(res.effect) if res is not None else UNFOLDED, "created_at": m.utcnow()}

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

    @staticmethod
    def _latest_version_no(conn: Connection, wc: str) -> int | None:
        """The newest version number of a working clip (None for any other entity)."""
        return conn.execute(_SEL_MAX_VERSION, {"wc": wc}).scalar()
