"""Undo by identity: which later gestures stand in the way of reverting some named gestures.

An undo step reverts its own gestures (by op_id), never "the newest one here". It is stale when
a gesture after them, from this device or another, changed an entry they changed and still
stands: an edit and its own undo cancel out, so undoing a later step first never blocks an
earlier one.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_

from core.db import models as m
from core.gestures import keys
from core.gestures.model import GestureError

_G = m.GestureRow.__table__


class StaleUndo(GestureError):
    """A later gesture changed what the undo would restore."""


def check_not_stale(conn: Connection, op_ids: Sequence[str]) -> None:
    """Raise GestureError when an op_id is unknown, StaleUndo when a later gesture changed one of
    the entries these gestures changed (and was not undone since)."""
    rows = conn.execute(select(_G.c.op_id, _G.c.scope_uid, _G.c.lamport, _G.c.device_id, _G.c.effect)
                        .where(_G.c.op_id.in_(list(op_ids)))).all()
    missing = set(op_ids) - {r.op_id for r in rows}
    if missing:
        raise GestureError(f"unknown gesture {sorted(missing)[0]}")
    own = set(op_ids)
    by_scope: dict[str, list[Any]] = {}
    for r in rows:
        by_scope.setdefault(r.scope_uid, []).append(r)
    for scope, mine in by_scope.items():
        paths: set[str] = set()
        for r in mine:
            paths |= set(json.loads(r.effect))
        if not paths:
            continue
        first = min((r.lamport, r.device_id, r.op_id) for r in mine)
        later = conn.execute(select(_G.c.op_id, _G.c.undoes, _G.c.effect).where(
            _G.c.scope_uid == scope, tuple_(_G.c.lamport, _G.c.device_id, _G.c.op_id) > tuple_(*first))
            .order_by(_G.c.lamport, _G.c.device_id, _G.c.op_id)).all()
        standing: dict[str, set[str]] = {p: set() for p in paths}
        for g in later:
            if g.op_id in own:
                continue
            for path in paths.intersection(json.loads(g.effect)):
                if g.undoes in standing[path]:
                    standing[path].discard(g.undoes)  # undone since: no longer in the way
                else:
                    standing[path].add(g.op_id)
        blocked = sorted(p for p, ops in standing.items() if ops)
        if blocked:
            raise StaleUndo(f"{_what(blocked[0])} was changed since by a later edit (undo that first)")


def _what(path: str) -> str:
    head = keys.head_of(path)
    return _WHAT.get(head, f"'{head}'")


_WHAT = {keys.Head.KF.value: "a crop keyframe", keys.Head.RKF.value: "a spotlight keyframe",
         keys.Head.REGION.value: "a spotlight", keys.Head.SPLIT.value: "a split",
         keys.Head.SPEED.value: "a segment speed", keys.Head.TRIM.value: "the trim",
         keys.Head.ROT.value: "the rotation", keys.Head.STYLE.value: "the spotlight style",
         keys.Head.TEXT.value: "a text region", keys.Head.TEL.value: "a text element",
         keys.Head.ORDER.value: "the clip order", keys.Head.CLIP.value: "a clip",
         keys.Head.TRANS.value: "a transition", keys.Head.RESOLVED.value: "the conflict"}
