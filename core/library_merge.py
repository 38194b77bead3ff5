"""Other devices' gestures: validated as a whole, merged idempotently, re-folded when one sorts
before gestures already folded in its scope."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, bindparam, select, update

from core.changes import ChangeBuilder, Initiator
from core.enums import GestureKind
from core.gestures.fold import ScopeState, clip_of_path, step
from core.gestures.state import ConflictRecord
from core.gestures.model import ClockAhead, Gesture, GestureError, OrderKey, ScopeKind, canonical_json
from core.gestures.registry import EntityRule, entity_rule, validate_payload
from core.ids import is_media_hash, is_uid
from core.library_projections import LibraryProjections, resolution_keys
from core.library_store import _FS, _G, _INSERT_LOG, _SEL_SEQ, UNFOLDED, MergeResult
from core.merge_chunks import CHUNK_BUDGET_S, PieceCost, Runs, next_piece

# How far a remote clock may run ahead of ours (plus one per gesture merged): every later local
# gesture takes max+1, so adopting a forged huge lamport would break every device's sync.
MAX_LAMPORT_JUMP = 1_000_000
# Between pauses for local applies (core.local_first) a merge parses, plans or folds this many
# gestures: a few milliseconds.
PAUSE_EVERY = 32


_UPDATE_EFFECT = update(_G).where(_G.c.op_id == bindparam("op")).values(effect=bindparam("effect"))


@dataclass(frozen=True)
class Refolded:
    """A scope folded again from its log (and gestures about to be logged)."""

    scope: str
    seq: int | None  # the scope's saved-state version it was folded from
    ops: frozenset[str]  # the gestures not logged yet that it includes
    state: ScopeState
    conflicts: list[ConflictRecord]
    effects: dict[str, str]  # op_id -> effect, where it differs from the logged one


class _ScopeRuns(Runs[str | None, Gesture]):
    """A merge's runs (keyed by scope; None: orphans, duplicates) that know which piece sorts
    before gestures already logged in its scope, so that merging it folds the scope again."""

    def __init__(self, runs: Iterable[tuple[str | None, Sequence[Gesture]]], lasts: dict[str, OrderKey]) -> None:
        super().__init__(runs)
        self._lasts = lasts  # scope -> order key of its last logged gesture

    def refolding(self) -> str | None:
        """The scope of the next piece, where merging it re-folds that scope."""
        scope = None if self.done else self.key()
        if scope is None or scope not in self._lasts or self.peek(1)[0].order_key > self._lasts[scope]:
            return None
        return scope

    def take(self, n: int) -> list[Gesture]:
        scope = self.key()
        piece = super().take(n)
        if scope is not None:
            self._lasts[scope] = max(self._lasts.get(scope, piece[-1].order_key), piece[-1].order_key)
        return piece


def _op(g: Gesture) -> str:
    return g.order_key[2]  # a validated remote gesture has every field of its order key


def _lamport(g: Gesture) -> int:
    return g.order_key[0]


def _entity(g: Gesture) -> str:
    assert g.entity_uid is not None  # validate_remote checked it
    return g.entity_uid


class LibraryMerge(LibraryProjections):
    # What a merge times its pieces with (tests pass a fake clock's); perf_counter, as
    # time.monotonic ticks every 15.6 ms on Windows before Python 3.13.
    merge_timer: Callable[[], float] = staticmethod(time.perf_counter)

    # -- remote gestures -----------------------------------------------------------------------
    def merge_remote(self, gestures: Iterable[Gesture | Mapping[str, Any]],
                     in_transaction: Callable[[Connection], None] | None = None, *,
                     chunk_size: int | None = None) -> MergeResult:
        """Apply other devices' gestures; idempotent by op_id; convergent in any arrival order.

        Every gesture is validated before anything is written; one bad gesture rejects the whole
        call (the sync quarantines that batch). The gestures are then written scope after scope in
        chunks, one transaction each, that end before they hold the write lock longer than
        ``CHUNK_BUDGET_S`` (core.merge_chunks), or of ``chunk_size`` gestures; the lock is fair,
        so a local apply waits for one chunk at most. Each chunk publishes its ChangeSet. A crash
        between chunks leaves the earlier chunks merged, which is the state of having received
        the batch in parts: merging it again skips them by op_id and completes it.
        ``in_transaction`` runs inside the last chunk's transaction (the sync advances its cursor
        there, so a cursor never moves past a partly merged batch).
        """
        parsed = []
        for i, g in enumerate(gestures):
            if i % PAUSE_EVERY == 0:
                self._let_applies_go()
            parsed.append(validate_remote(g if isinstance(g, Gesture) else Gesture.from_wire(g)))
        parsed.sort(key=lambda g: g.order_key)
        with self.read() as conn:
            new = self._unknown(conn, parsed)
            self._check_clock(conn, new)
            plan, orphans = self._plan(conn, new)
            lasts: dict[str, OrderKey] = {}
            for i, planned in enumerate(plan):
                if i % PAUSE_EVERY == 0:
                    self._let_applies_go()
                if (key := self._last_logged(conn, planned)) is not None:
                    lasts[planned] = key
        # Scope after scope (each in total order): a chunk then touches few reels, and each reel's
        # state and projection are written about once per merge instead of once per chunk.
        # Scopes fold independently, so their relative order does not change the result.
        placed = {id(g) for _kind, items in plan.values() for g in items} | {id(g) for g in orphans}
        duplicates = [g for g in parsed if id(g) not in placed]  # counted, not written
        runs = _ScopeRuns([(None, orphans), *((scope, items) for scope, (_kind, items) in sorted(plan.items())),
                           (None, duplicates)], lasts)
        cost = PieceCost()
        total = MergeResult(0, 0, 0)
        while True:
            self._let_applies_go()
            folded = None
            if chunk_size is None and (scope := runs.refolding()) is not None:
                # Re-folding a reel from its log takes longer than a chunk may hold the lock: fold
                # before taking it, so the chunk only writes the result (if nothing changed since).
                piece = runs.peek(next_piece(cost, runs.rest(), CHUNK_BUDGET_S, started=False))
                with self.read() as conn:
                    folded = self._fold_log(conn, scope, plan[scope][0], piece, pause=self._let_applies_go)
                self._let_applies_go()
            changes = ChangeBuilder()
            with self._write() as conn:
                began = self.merge_timer()
                taken = 0
                while n := self._piece_size(runs, cost, chunk_size, folded, taken, began):
                    piece_began = self.merge_timer()
                    result = self._merge(conn, runs.take(n), changes, folded)
                    cost.learn(n, self.merge_timer() - piece_began)  # a re-folded piece: its writes
                    total = MergeResult(total.applied + result.applied, total.duplicates + result.duplicates,
                                        total.refolded_scopes + result.refolded_scopes)
                    taken += n
                last = runs.done
                if last and in_transaction is not None:
                    in_transaction(conn)
            if not changes.empty:
                self._notify(changes.build(Initiator.REMOTE_MERGE))
            if last:
                return total

    def _let_applies_go(self) -> None:
        """A pause between pieces of the merge's work: wait while a local apply is pending (core.local_first),
        except inside a hold of the write lock (there the apply waits for this thread)."""
        if not self._lock.held():
            self._local_first.pause()

    def _piece_size(self, runs: _ScopeRuns, cost: PieceCost, chunk_size: int | None, folded: Refolded | None,
                    taken: int, began: float) -> int:
        """How many gestures the chunk merges next (0: it commits now)."""
        if runs.done:
            return 0
        if folded is not None:
            return 0 if taken else len(folded.ops)  # a re-folded piece is a chunk of its own
        if chunk_size is not None:
            return min(runs.rest(), chunk_size - taken)
        if taken and runs.refolding() is not None:
            return 0  # the next chunk folds it before taking the lock
        return next_piece(cost, runs.rest(), CHUNK_BUDGET_S - (self.merge_timer() - began), taken > 0)

    def _last_logged(self, conn: Connection, scope: str) -> OrderKey | None:
        row = conn.execute(select(_G.c.lamport, _G.c.device_id, _G.c.op_id).where(_G.c.scope_uid == scope)
                           .order_by(_G.c.lamport.desc(), _G.c.device_id.desc(), _G.c.op_id.desc()).limit(1)).first()
        return None if row is None else (row.lamport, row.device_id, row.op_id)

    def _unknown(self, conn: Connection, gestures: list[Gesture]) -> list[Gesture]:
        """The gestures not in the log yet, each op_id once, in the given order."""
        known: set[str] = set()
        ids = [_op(g) for g in gestures]
        for i in range(0, len(ids), 500):
            self._let_applies_go()
            known.update(conn.execute(select(_G.c.op_id).where(_G.c.op_id.in_(ids[i:i + 500]))).scalars())
        new = []
        for g in gestures:
            if _op(g) not in known:
                known.add(_op(g))
                new.append(g)
        return new

    def _check_clock(self, conn: Connection, new: list[Gesture]) -> None:
        if not new:
            return
        local = self._lamport(conn)
        highest = max(_lamport(g) for g in new)
        if highest > local + len(new) + MAX_LAMPORT_JUMP:
            raise ClockAhead(f"gesture clock {highest} is too far ahead of this library's ({local})")

    def _merge(self, conn: Connection, gestures: list[Gesture], changes: ChangeBuilder,
               folded: Refolded | None = None) -> MergeResult:
        """Merge ``gestures`` in ``conn``'s transaction; ``folded``: a refold of their scope made
        before the write lock, used where the scope has not changed since."""
        new = self._unknown(conn, gestures)
        if not new:
            return MergeResult(0, len(gestures), 0)
        changes.kinds.update(g.kind for g in new)
        self._put_setting(conn, "lamport", str(max(self._lamport(conn), max(_lamport(g) for g in new))))

        plan, orphans = self._plan(conn, new)
        if orphans:
            conn.execute(_INSERT_LOG, [self._log_row(g, None, None) for g in orphans])
        batch_clips = {g.payload["working_clip"]: _entity(g) for g in new if g.kind is GestureKind.ADD_CLIP}
        # Earlier orphans of the clips added now join their scope, which then re-folds.
        refold: set[str] = set()
        for wc, project in batch_clips.items():
            n = conn.execute(update(_G).where(_G.c.entity_uid == wc, _G.c.scope_uid.is_(None))
                             .values(scope_uid=project)).rowcount
            if n:
                refold.add(project)
        adopted = set(refold)
        for scope, (kind, items) in sorted(plan.items()):
            state = self._load_state(conn, scope, kind)
            if scope not in refold and (state.last is None or tuple(items[0].order_key) > tuple(state.last)):
                touched: set[str] = set()
                conflicts: list[ConflictRecord] = []
                rows = []
                resolutions: list[str] = []
                for g in items:
                    res = step(state, g)
                    touched |= res.touched_clips
                    conflicts += res.conflicts
                    resolutions += resolution_keys(res)
                    rows.append(self._log_row(g, scope, res))
                conn.execute(_INSERT_LOG, rows)
                self._persist(conn, scope, state, touched, _op(items[-1]), conflicts, changes,
                              resolutions=resolutions)
            else:
                conn.execute(_INSERT_LOG, [self._log_row(g, scope, None) for g in items])
                refold.add(scope)
        for scope in sorted(refold):
            kind = plan[scope][0] if scope in plan else ScopeKind.PROJECT
            op_id = _op(plan[scope][1][-1] if scope in plan else new[-1])
            if (folded is not None and folded.scope == scope and scope not in adopted
                    and folded.ops == {_op(g) for g in plan[scope][1]}
                    and folded.seq == conn.execute(_SEL_SEQ, {"scope": scope}).scalar()):
                self._write_refold(conn, scope, folded, op_id, changes)  # nothing changed since it was folded
            else:
                self._refold(conn, scope, kind, op_id, changes)
        return MergeResult(len(new), len(gestures) - len(new), len(refold))

    def _plan(self, conn: Connection, new: list[Gesture]
              ) -> tuple[dict[str, tuple[ScopeKind, list[Gesture]]], list[Gesture]]:
        """Every gesture's scope, resolved in total order (add_clips and undone gestures of the
        same batch count, so a batch never depends on its own rows being written first); the
        gestures whose working clip's add_clip has not arrived yet are orphans."""
        batch_clips: dict[str, str] = {}  # working clip -> project, from add_clips in this batch
        batch_scopes: dict[str, tuple[ScopeKind, str | None]] = {}
        plan: dict[str, tuple[ScopeKind, list[Gesture]]] = {}
        orphans: list[Gesture] = []
        for i, g in enumerate(new):
            if i % PAUSE_EVERY == 0:
                self._let_applies_go()
            entity = _entity(g)
            scope: str | None
            if g.kind is GestureKind.ADD_CLIP:
                kind, scope = ScopeKind.PROJECT, entity
                batch_clips[g.payload["working_clip"]] = entity
            elif entity_rule(g.kind) is EntityRule.WORKING_CLIP and entity in batch_clips:
                kind, scope = ScopeKind.PROJECT, batch_clips[entity]
            elif entity_rule(g.kind) is EntityRule.SCOPE:
                kind, scope = self._scope_of_entity(conn, entity)
                if scope is None and entity in plan:  # a scope created earlier in this same batch
                    kind, scope = plan[entity][0], entity
            elif g.undoes is not None and g.undoes in batch_scopes:
                kind, scope = batch_scopes[g.undoes]
            else:
                kind, scope = self._resolve_scope(conn, g.kind, entity, g.undoes)
                if scope is None and g.kind is GestureKind.REVERT:
                    kind, scope = self._scope_from_patch(conn, g, batch_clips)
            batch_scopes[_op(g)] = (kind, scope)
            if scope is None:
                orphans.append(g)  # its working clip's add_clip has not arrived yet
            else:
                plan.setdefault(scope, (kind, []))[1].append(g)
        return plan, orphans

    def _scope_from_patch(self, conn: Connection, g: Gesture,
                          batch_clips: Mapping[str, str]) -> tuple[ScopeKind, str | None]:
        for path in g.payload.get("patch", {}):
            wc = clip_of_path(path)
            if wc:
                project = batch_clips.get(wc) or self._project_of_clip(conn, wc)
                if project:
                    return ScopeKind.PROJECT, project
        return ScopeKind.PROJECT, None

    def _refold(self, conn: Connection, scope: str, kind: ScopeKind, op_id: str, changes: ChangeBuilder) -> None:
        """Rebuild a scope from its whole gesture list (a gesture arrived out of order)."""
        self._write_refold(conn, scope, self._fold_log(conn, scope, kind), op_id, changes)

    def _fold_log(self, conn: Connection, scope: str, kind: ScopeKind, new: Sequence[Gesture] = (),
                  pause: Callable[[], None] | None = None) -> Refolded:
        """Fold a scope's logged gestures, with ``new`` ones not logged yet, in total order; reads only.
        ``pause``: called every few gestures (a merge folding before it takes the write lock)."""
        rows = conn.execute(select(_G).where(_G.c.scope_uid == scope).order_by(
            _G.c.lamport, _G.c.device_id, _G.c.op_id)).all()
        seq = conn.execute(_SEL_SEQ, {"scope": scope}).scalar()
        items = [(self._row_to_gesture(row), row.effect) for row in rows]
        if new:
            items = sorted(items + [(g, UNFOLDED) for g in new], key=lambda item: item[0].order_key)
        state = ScopeState(kind)
        conflicts: list[ConflictRecord] = []
        effects: dict[str, str] = {}
        for i, (g, logged) in enumerate(items):
            if pause is not None and i % PAUSE_EVERY == 0:
                pause()
            res = step(state, g)
            conflicts += res.conflicts
            effect = canonical_json(res.effect)
            if effect != logged:
                effects[_op(g)] = effect
        return Refolded(scope, seq, frozenset(_op(g) for g in new), state, conflicts, effects)

    def _write_refold(self, conn: Connection, scope: str, folded: Refolded, op_id: str,
                      changes: ChangeBuilder) -> None:
        if folded.effects:
            conn.execute(_UPDATE_EFFECT, [{"op": op, "effect": effect} for op, effect in folded.effects.items()])
        touched = {wc for wc in map(clip_of_path, folded.state.entries) if wc}
        self._persist(conn, scope, folded.state, touched, op_id, folded.conflicts, changes, refold=True)

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
                projector._refold(conn, scope, ScopeKind.PROJECT, last, ChangeBuilder())
        return len(scopes)


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
