"""Frozen dataclasses <-> JSON, strictly: the RenderSpec's document format. ``plain`` writes float
fields as floats (a spec and its JSON round trip serialise to the same bytes); ``build`` checks
every type on the way in (no bool for int, no float for int, no unknown or missing fields) and
names the place in the document that is wrong."""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import Any

__all__ = ["SpecError", "build", "plain"]


class SpecError(ValueError):
    """A RenderSpec (or its JSON) is malformed; the message says where and why."""



def plain(value: Any, tp: Any = None) -> Any:
    """JSON-ready value; float fields are written as floats even when built from ints, so a
    spec and its JSON round trip serialise to the same bytes."""
    if typing.get_origin(tp) in (types.UnionType, typing.Union):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = typing.get_type_hints(type(value))
        return {
            f.name: plain(getattr(value, f.name), hints[f.name]) for f in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        args = typing.get_args(tp)
        if args and args[-1] is Ellipsis:
            return [plain(v, args[0]) for v in value]
        if len(args) == len(value):
            return [plain(v, a) for v, a in zip(value, args, strict=True)]
        return [plain(v) for v in value]
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def build(tp: Any, data: Any, where: str) -> Any:
    """Turn parsed JSON into ``tp``, checking types strictly (no bool for int, no float for int)."""
    origin = typing.get_origin(tp)
    if origin is types.UnionType or origin is typing.Union:
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return build(inner, data, where)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise SpecError(f"{where}: expected a list, got {type(data).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(build(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(data) != len(args):
            raise SpecError(f"{where}: expected {len(args)} items, got {len(data)}")
        return tuple(build(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise SpecError(f"{where}: expected an object, got {type(data).__name__}")
        hints = typing.get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise SpecError(f"{where}: unknown field(s) {', '.join(unknown)}")
        missing = sorted(
            name for name, f in fields.items()
            if name not in data
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        )
        if missing:
            raise SpecError(f"{where}: missing field(s) {', '.join(missing)}")
        kwargs = {name: build(hints[name], v, f"{where}.{name}") for name, v in data.items()}
        make = typing.cast(Callable[..., Any], tp)  # a dataclass type; is_dataclass narrowed it to instances too
        try:
            return make(**kwargs)
        except SpecError as e:
            raise SpecError(f"{where}: {e}") from None
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(data)
        except (ValueError, TypeError):
            allowed = ", ".join(repr(m.value) for m in tp)
            raise SpecError(f"{where}: {data!r} is not one of {allowed}") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise SpecError(f"{where}: expected true or false, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise SpecError(f"{where}: expected an integer, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise SpecError(f"{where}: expected a number, got {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise SpecError(f"{where}: expected a string, got {data!r}")
        return data
    raise TypeError(f"RenderSpec field type {tp!r} has no JSON mapping")  # a bug, not bad input
