"""The gesture: one named user action, the unit of saving, undo and sync."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Mapping

from core.enums import GestureKind


class GestureError(ValueError):
    """A gesture that cannot be applied as given (malformed, out of range, unknown target)."""


class ClockAhead(GestureError):
    """A remote gesture's lamport is implausibly far ahead of this library's clock."""


class ScopeKind(str, Enum):
    """The fold unit a gesture belongs to. Working-clip gestures fold with their project."""

    PROJECT = "project"
    RAW_CLIP = "raw_clip"
    MEDIA = "media"
    GAME = "game"


OrderKey = tuple[int, str, str]


@dataclass(frozen=True)
class Gesture:
    kind: GestureKind
    entity_uid: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)
    op_id: str | None = None
    device_id: str | None = None
    lamport: int | None = None
    base_version: int | None = None
    undoes: str | None = None

    @property
    def order_key(self) -> OrderKey:
        """The total order every device folds gestures in."""
        assert self.lamport is not None and self.device_id and self.op_id
        return (self.lamport, self.device_id, self.op_id)

    def with_(self, **changes: Any) -> "Gesture":
        return replace(self, **changes)

    def to_wire(self) -> dict[str, Any]:
        return {
            "op_id": self.op_id,
            "device_id": self.device_id,
            "lamport": self.lamport,
            "kind": self.kind.value,
            "entity": self.entity_uid,
            "payload": dict(self.payload),
            "base_version": self.base_version,
            "undoes": self.undoes,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> "Gesture":
        """Parse a gesture from the log format; the caller validates it (validate_remote)."""
        if not isinstance(data, Mapping):
            raise GestureError("gesture must be an object")
        try:
            kind = GestureKind(data.get("kind"))
        except ValueError:
            raise GestureError(f"unknown gesture kind {data.get('kind')!r}") from None
        payload = data.get("payload")
        if not isinstance(payload, Mapping):
            raise GestureError("gesture payload must be an object")
        return cls(
            kind=kind,
            entity_uid=data.get("entity"),
            payload=dict(payload),
            op_id=data.get("op_id"),
            device_id=data.get("device_id"),
            lamport=data.get("lamport"),
            base_version=data.get("base_version"),
            undoes=data.get("undoes"),
        )

    @classmethod
    def from_user(cls, data: Mapping[str, Any]) -> "Gesture":
        """Parse ``{"kind", "target", "payload"}`` as typed by a user or a script."""
        if not isinstance(data, Mapping):
            raise GestureError("gesture must be a JSON object with kind, target and payload")
        unknown = set(data) - {"kind", "target", "payload", "op_id", "base_version"}
        if unknown:
            raise GestureError(f"unknown gesture field(s): {', '.join(sorted(unknown))}")
        try:
            kind = GestureKind(data.get("kind"))
        except ValueError:
            raise GestureError(f"unknown gesture kind {data.get('kind')!r}") from None
        payload = data.get("payload", {})
        if not isinstance(payload, Mapping):
            raise GestureError("payload must be a JSON object")
        target = data.get("target")
        if target is not None and not isinstance(target, str):
            raise GestureError("target must be a string uid")
        base = data.get("base_version")
        if base is not None and (not isinstance(base, int) or isinstance(base, bool) or base < 0):
            raise GestureError("base_version must be a non-negative integer")
        return cls(kind=kind, entity_uid=target, payload=dict(payload), op_id=data.get("op_id"),
                   base_version=base)


def canonical_json(value: Any) -> str:
    """Byte-stable JSON: sorted keys, no spaces, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
