"""A scope's folded state and the writer that applies one gesture's entry changes.

A scope's state is a flat map of entry paths to JSON values (absent = not there), e.g.
``kf/<wc>/<keyframe>`` -> ``{"time", "x", "y", "width", "height"}``. Flat entries make the three
hard parts small: the effect of a gesture (old values of the entries it changed) is what undo
restores; conflicts are two concurrent writers of the same entry; and the canonical JSON is
built from entries alone.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from core.gestures import keys
from core.gestures.model import Gesture, ScopeKind

# A writer is [lamport, device_id, op_id, base_version]: enough to tell concurrency later.
Writer = list[Any]
Payload = dict[str, Any]


@dataclass
class ScopeState:
    kind: ScopeKind
    entries: dict[str, Any] = field(default_factory=dict)
    writers: dict[str, Writer] = field(default_factory=dict)
    tombs: dict[str, Writer] = field(default_factory=dict)
    clock: int = 0  # the highest lamport folded: what a local gesture's base_version is
    last: list[Any] | None = None  # order key of the last folded gesture

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "entries": self.entries, "writers": self.writers,
                "tombs": self.tombs, "clock": self.clock, "last": self.last}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ScopeState":
        return cls(kind=ScopeKind(data["kind"]), entries=data["entries"], writers=data["writers"],
                   tombs=data["tombs"], clock=data["clock"], last=data["last"])

    def copy(self) -> "ScopeState":
        return ScopeState(self.kind, dict(self.entries), dict(self.writers), dict(self.tombs), self.clock,
                          None if self.last is None else list(self.last))


@dataclass(frozen=True)
class ConflictRecord:
    loser: str
    winner: str
    path: str
    entity: str


@dataclass
class StepResult:
    effect: dict[str, Any] = field(default_factory=dict)  # path -> old value (None = was absent)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)

    @property
    def touched_clips(self) -> set[str]:
        return {wc for p in self.effect if (wc := keys.clip_of_path(p))}


# Keyframes this close (in frames) to an existing one of the same track update it instead.
SNAP_FRAMES = 10


def quantise(v: float) -> float:
    # Quantise what the fold stores so every device writes the same digits.
    return round(float(v), 6)


class EntryWriter:
    """Applies one gesture's entry changes, recording effect and conflicts."""

    def __init__(self, state: ScopeState, g: Gesture, result: StepResult) -> None:
        self.s, self.g, self.res = state, g, result
        self.me: Writer = [g.lamport, g.device_id, g.op_id, g.base_version or 0]

    def _concurrent(self, other: Writer) -> bool:
        # `other` was not seen by g (its lamport is above what g's author had folded) and g was
        # not seen by other's author: both edited the entry without knowing of the other.
        return bool(other[1] != self.me[1] and other[0] > self.me[3] and self.me[0] > other[3])

    def _touch(self, path: str) -> None:
        if path not in self.res.effect:
            old = self.s.entries.get(path)
            self.res.effect[path] = copy.deepcopy(old)
        prev = self.s.writers.get(path) or self.s.tombs.get(path)
        if prev is not None and prev[2] != self.me[2] and self._concurrent(prev):
            self.res.conflicts.append(ConflictRecord(prev[2], self.me[2], path, self.g.entity_uid or ""))

    def set(self, path: str, value: Any) -> None:
        if self.s.entries.get(path) == value and path in self.s.entries:
            return
        self._touch(path)
        self.s.entries[path] = value
        self.s.writers[path] = self.me
        self.s.tombs.pop(path, None)

    def delete(self, path: str) -> None:
        if path not in self.s.entries:
            return
        self._touch(path)
        del self.s.entries[path]
        self.s.writers.pop(path, None)
        self.s.tombs[path] = self.me

    def edit_of_deleted(self, path: str) -> None:
        """g edits an entry that a concurrent gesture deleted: g loses, visibly."""
        tomb = self.s.tombs.get(path)
        if tomb is not None and self._concurrent(tomb):
            self.res.conflicts.append(ConflictRecord(self.me[2], tomb[2], path, self.g.entity_uid or ""))

    def update(self, path: str, changes: dict[str, Any]) -> bool:
        """Merge ``changes`` into an existing dict entry; an absent entry is left alone."""
        cur = self.s.entries.get(path)
        if cur is None:
            self.edit_of_deleted(path)
            return False
        new = dict(cur)
        new.update(changes)
        self.set(path, new)
        return True


# What a fold handler is: (writer, gesture, a copy of its payload) -> None. It never raises on
# stale input (a target deleted meanwhile is a no-op or a recorded conflict).
Handler = Callable[[EntryWriter, Gesture, Payload], None]


def region_keyframe_times(entries: Mapping[str, Any], wc: str, region: str) -> list[tuple[str, float]]:
    """(uid, time) of a spotlight region's keyframes, in a stable order."""
    return sorted((uid, v["time"]) for uid, v in keys.children(entries, keys.prefix(keys.Head.RKF, wc, region)))


