"""Value rules for the entries a `revert` / `restore_version` patch may write.

A patch sets scope entries directly (path -> value, null = delete), so it must meet the same field
rules as the gestures whose effects it undoes: otherwise one crafted patch puts a dict where the
projection expects a name (an SQL error on every device) or ``../../etc/passwd`` where a media hash
belongs. Each rule here mirrors what `core.gestures.fold` writes at that path.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from core.enums import AspectRatio, OverlayShape, TitleBackground, TransitionType
from core.gestures import keys
from core.editmath.segments import FIRST_SEGMENT
from core.ids import is_uid

Check = Callable[[Any], str | None]


def _record(fields: Mapping[str, Check], *, partial: bool = False) -> Check:
    """An object with exactly these fields (`partial`: any subset of them)."""
    def check(v: Any) -> str | None:
        if not isinstance(v, Mapping):
            return "must be an object"
        extra = set(v) - set(fields)
        missing = set() if partial else set(fields) - set(v)
        if extra or missing:
            return f"must have exactly the fields {', '.join(sorted(fields))}"
        for name, rule in fields.items():
            if name in v and (err := rule(v[name])):
                return f"{name} {err}"
        return None
    return check


def _either(*checks: Check) -> Check:
    def check(v: Any) -> str | None:
        errors = [c(v) for c in checks]
        return None if any(e is None for e in errors) else errors[0]
    return check


def _rules() -> tuple[dict[str, Check], dict[str, tuple[int, Check]]]:
    # Imported here: schema imports this module for its patch field check.
    from core.gestures import schema as s

    kf = _record({"time": s.T, "x": s.PX, "y": s.PX, "width": s.SIZE, "height": s.SIZE})
    style = _record({"color": s._color, "stroke": s._num(0.0, 50.0), "fill_opacity": s._num(0.0, 1.0),
                     "dim": s._num(0.0, 1.0), "shape": s._enum(OverlayShape), "fade_out": s._num(0.0, 5.0)},
                    partial=True)
    # Entries named by one word (project, raw clip, media and game scopes share some names).
    plain: dict[str, Check] = {
        "name": s._text(512), "aspect": s._enum(AspectRatio), "deleted": s._bool,
        "media": _either(s._hash, s._media_list), "start": s.T, "end": s.T, "rating": s._int(0, 5),
        "tags": s._tags, "notes": s._text(10_000), "game": s._uid_or_none, "rev": s._int(0, 1_000_000_000),
        "info": s._media_info,
        "title": _record({"duration": s._num(0.5, 10.0), "background": s._enum(TitleBackground),
                          "color": s._color, "working_clip": s._uid_or_none, "time": s.T,
                          "blur": s._num(0.0, 0.1), "dim": s._num(0.0, 1.0), "elements": s._elements}),
    }
    text_element = _record({"text": s._TEXT.check, **{k: f.check for k, f in s.TEXT_STYLE_FIELDS.items()}})
    # Entries of a working clip: head -> (number of uid segments after the clip, rule).
    H = keys.Head
    by_head: dict[keys.Head, tuple[int, Check]] = {
        H.CLIP: (0, s._source), H.ORDER: (0, s._sort_key),
        H.TRANS: (0, _record({"type": s._enum(TransitionType), "duration": s._num(0.0, s.MAX_TRANSITION)})),
        H.TRIM: (0, _record({"start": s.T, "end": s.T})), H.ROT: (0, s._num(-s.MAX_ROTATION, s.MAX_ROTATION)),
        H.STYLE: (0, style), H.KF: (1, kf), H.SPLIT: (1, s._num(0.0, s.MAX_TIME, lo_open=True)),
        H.SPEED: (1, s._num(s.MIN_SPEED, s.MAX_SPEED)),
        H.REGION: (1, _record({"start": s.T, "end": s.T, "enabled": s._bool})),
        H.RKF: (2, _record({"time": s.T, "x": s.PX, "y": s.PX, "rx": s.SIZE, "ry": s.SIZE})),
        H.RKF_ALIAS: (2, s._uid),  # a keyframe folded into another (the snap) -> the survivor
        H.TEXT: (1, _record({"start": s.T, "end": s.T})),
        H.TEL: (2, text_element),
    }
    return plain, {h.value: rule for h, rule in by_head.items()}


_CACHE: list[tuple[dict[str, Check], dict[str, tuple[int, Check]]]] = []


def check_entry(path: Any, value: Any) -> str | None:
    """Why `value` may not be written at entry `path` (None: it may)."""
    if not _CACHE:
        _CACHE.append(_rules())
    plain, clip = _CACHE[0]
    resolution = keys.parse_resolution(path) if isinstance(path, str) else None
    if resolution is not None:  # a dismissed conflict: two op_ids and the entry they fought over
        loser, winner, inner = resolution
        if not (is_uid(loser) and is_uid(winner)) or keys.parse_resolution(inner) or check_entry(inner, None):
            return f"names an unknown entry {path[:80]!r}"
        return None if value in (None, True) else f"entry {path[:80]!r} must be true"
    if not isinstance(path, str) or len(path) > 200:
        return "has an invalid entry path"
    parts = path.split("/")
    if len(parts) == 1:
        rule = plain.get(path)
    else:
        head, wc, *rest = parts
        extra, rule = clip.get(head, (-1, None))
        ok_segments = len(rest) == extra and is_uid(wc) and all(
            is_uid(seg) or (head == keys.Head.SPEED.value and seg == FIRST_SEGMENT) for seg in rest)
        if not ok_segments:
            rule = None
    if rule is None:
        return f"names an unknown entry {path[:80]!r}"
    if value is None:
        return None  # the entry was absent before: the patch deletes it
    err = rule(value)
    return f"entry {path[:80]!r} {err}" if err else None
