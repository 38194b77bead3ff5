"""Change sets: what one committed write changed, published by ``Library.apply`` and ``merge_remote``.

Readers (panels, caches) look at the entity kinds and ids to refresh only what they show, instead
of reloading everything after every commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Iterable

from core.enums import GestureKind
from core.gestures.model import ScopeKind


class Initiator(str, Enum):
    """Who made a change: a reader may treat its own edits differently from another device's."""

    LOCAL_UI = "local_ui"
    CLI = "cli"
    REMOTE_MERGE = "remote_merge"


class EntityKind(str, Enum):
    PROJECT = "project"
    WORKING_CLIP = "working_clip"
    RAW_CLIP = "raw_clip"
    MEDIA = "media"
    GAME = "game"
    CONFLICT = "conflict"  # ids are the scopes whose conflict list changed


# The entity kind of each fold scope (a scope uid is the id of that entity).
_SCOPE_ENTITY = {ScopeKind.PROJECT: EntityKind.PROJECT, ScopeKind.RAW_CLIP: EntityKind.RAW_CLIP,
                 ScopeKind.MEDIA: EntityKind.MEDIA, ScopeKind.GAME: EntityKind.GAME}


@dataclass(frozen=True)
class ChangeSet:
    """Entities changed by one or more commits, with who made them."""

    initiators: frozenset[Initiator]
    ids: dict[EntityKind, frozenset[str]] = field(default_factory=dict)
    kinds: frozenset[GestureKind] = frozenset()

    def of(self, kind: EntityKind) -> frozenset[str]:
        return self.ids.get(kind, frozenset())

    def touches(self, *kinds: EntityKind) -> bool:
        return any(self.ids.get(k) for k in kinds)

    @property
    def scopes(self) -> frozenset[str]:
        """Every changed fold scope (projects, raw clips, media, games)."""
        return frozenset().union(*(self.of(_SCOPE_ENTITY[k]) for k in ScopeKind))

    @property
    def remote(self) -> bool:
        return Initiator.REMOTE_MERGE in self.initiators

    @property
    def empty(self) -> bool:
        return not any(self.ids.values())

    @staticmethod
    def union(sets: Iterable[ChangeSet]) -> ChangeSet:
        """One set for several commits (a UI coalesces the events of one event-loop turn)."""
        builder = ChangeBuilder()
        initiators: set[Initiator] = set()
        for s in sets:
            initiators |= s.initiators
            builder.kinds |= s.kinds
            for kind, ids in s.ids.items():
                builder.ids.setdefault(kind, set()).update(ids)
        return builder.build(*initiators)


@dataclass
class ChangeBuilder:
    """Collects changes inside a write transaction; built into a ChangeSet after the commit."""

    ids: dict[EntityKind, set[str]] = field(default_factory=dict)
    kinds: set[GestureKind] = field(default_factory=set)

    def add(self, kind: EntityKind, *ids: str) -> None:
        self.ids.setdefault(kind, set()).update(ids)

    def scope(self, kind: ScopeKind, uid: str, clips: Iterable[str] = (), conflicts: bool = False) -> None:
        self.add(_SCOPE_ENTITY[kind], uid)
        self.add(EntityKind.WORKING_CLIP, *clips)
        if conflicts:
            self.add(EntityKind.CONFLICT, uid)

    @property
    def empty(self) -> bool:
        return not any(self.ids.values())

    def build(self, *initiators: Initiator) -> ChangeSet:
        return ChangeSet(frozenset(initiators), {k: frozenset(v) for k, v in self.ids.items() if v},
                         frozenset(self.kinds))
