"""The pure fold: the state of a scope is its gestures applied in (lamport, device, op_id) order.

``step`` is deterministic and total: stale input never raises. What each kind does is its
registry entry's fold handler (core.gestures.registry); the state and its writer live in
core.gestures.state, the entry paths in core.gestures.keys.
"""
from __future__ import annotations

from typing import Iterable

from core.gestures.keys import clip_of_path
from core.gestures.model import Gesture, ScopeKind
from core.gestures.registry import spec
from core.gestures.state import SNAP_FRAMES, EntryWriter, ScopeState, StepResult, region_keyframe_times


def step(state: ScopeState, g: Gesture) -> StepResult:
    """Fold one gesture into ``state`` (in place). Never raises on stale input; an unregistered
    kind raises GestureError (remote gestures are validated against the registry before)."""
    handler = spec(g.kind).fold
    res = StepResult()
    handler(EntryWriter(state, g, res), g, dict(g.payload))
    state.clock = max(state.clock, g.lamport or 0)
    state.last = list(g.order_key)
    return res


def fold(kind: ScopeKind, gestures: Iterable[Gesture]) -> tuple[ScopeState, list[tuple[Gesture, StepResult]]]:
    state = ScopeState(kind)
    results = []
    for g in sorted(gestures, key=lambda x: x.order_key):
        results.append((g, step(state, g)))
    return state, results


__all__ = ["SNAP_FRAMES", "ScopeState", "StepResult", "clip_of_path", "fold", "region_keyframe_times", "step"]
