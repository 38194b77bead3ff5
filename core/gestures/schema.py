"""Static validation of gesture payloads: types, finite numbers, ranges, sizes.

State-dependent checks (a time inside the clip, a known target) live in the normaliser;
the fold itself never raises. ``normalized`` payloads (from the log of another device) must
carry the fields the originating device resolved (minted uids, sort keys, source snapshots).
"""
from __future__ import annotations

import re
from enum import Enum
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from core.editmath.segments import FIRST_SEGMENT
from core.enums import (
    TextAlign, TextAnchor, TextFont, TitleBackground,
)
from core.gestures.model import finite
from core.gestures.patch_rules import check_entry
from core.ids import is_media_hash, is_uid

MAX_PAYLOAD_BYTES = 16 * 1024
MAX_PATCH_PAYLOAD_BYTES = 512 * 1024
MAX_TIME = 24 * 3600.0
MAX_PIXELS = 16384.0
MIN_SPEED, MAX_SPEED = 0.1, 10.0
MAX_ROTATION = 20.0
MAX_TRANSITION = 5.0
_COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
_SORT_KEY_RE = re.compile(r"[0-9A-Za-z]{1,64}")


@dataclass(frozen=True)
class Field:
    check: Callable[[Any], str | None]  # returns an error text or None
    required: bool = False
    normalized: bool = False  # required in a normalized (logged) payload


def _num(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not finite(v):
            return "must be a finite number"
        if v < lo or (lo_open and v == lo):
            return f"must be {'>' if lo_open else '>='} {lo:g}"
        if v > hi:
            return f"must be <= {hi:g}"
        return None
    return check


def _int(lo: int, hi: int) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, int) or isinstance(v, bool):
            return "must be an integer"
        if not lo <= v <= hi:
            return f"must be between {lo} and {hi}"
        return None
    return check


def _text(max_len: int, *, min_len: int = 0) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return "must be a string"
        if len(v) > max_len:
            return f"must be at most {max_len} characters"
        if len(v.strip()) < min_len:
            return "must not be empty"
        return None
    return check


def _uid(v: Any) -> str | None:
    return None if is_uid(v) else "must be a uuid"


def _uid_or_none(v: Any) -> str | None:
    return None if v is None or is_uid(v) else "must be a uuid or null"


def _hash(v: Any) -> str | None:
    return None if is_media_hash(v) else "must be a 64-character BLAKE3 hex digest"


def _bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "must be true or false"


def _enum(enum: type[Enum]) -> Callable[[Any], str | None]:
    values = [str(e.value) for e in enum]

    def check(v: Any) -> str | None:
        return None if v in values else f"must be one of {', '.join(values)}"
    return check


def _tags(v: Any) -> str | None:
    if not isinstance(v, list) or len(v) > 32:
        return "must be a list of at most 32 tags"
    for t in v:
        if not isinstance(t, str) or not t.strip() or len(t) > 64:
            return "each tag must be a non-empty string of at most 64 characters"
    return None


def _segment(v: Any) -> str | None:
    return None if v == FIRST_SEGMENT or is_uid(v) else f"must be '{FIRST_SEGMENT}' or a split uid"


def _sort_key(v: Any) -> str | None:
    return None if isinstance(v, str) and _SORT_KEY_RE.fullmatch(v) else "must be a fractional sort key"


def _color(v: Any) -> str | None:
    return None if isinstance(v, str) and _COLOR_RE.fullmatch(v) else "must be a colour like #FFD400"


def _media_info(v: Any) -> str | None:
    if not isinstance(v, Mapping):
        return "must be an object"
    checks = {
        "duration": _num(0.0, MAX_TIME, lo_open=True),
        "fps_num": _int(1, 1_000_000), "fps_den": _int(1, 1_000_000),
        "width": _int(1, int(MAX_PIXELS)), "height": _int(1, int(MAX_PIXELS)),
        "rotation": lambda r: None if r in (0, 90, 180, 270) else "must be 0, 90, 180 or 270",
        "has_audio": _bool, "vfr": _bool,
    }
    for name, check in checks.items():
        if name not in v:
            return f"lacks {name}"
        err = check(v[name])
        if err:
            return f"{name} {err}"
    optional = {"video_codec": _text(64), "container": _text(64), "size_bytes": _int(0, 2**53),
                "audio_codec": lambda c: None if c is None else _text(64)(c)}
    for name, check in optional.items():
        if name in v and (err := check(v[name])):
            return f"{name} {err}"
    return None


def _source(v: Any) -> str | None:
    """The snapshot of a raw clip that a working clip is framed against."""
    if not isinstance(v, Mapping):
        return "must be an object"
    checks = {
        "raw_clip": _uid, "media": _hash,
        "start": _num(0.0, MAX_TIME), "end": _num(0.0, MAX_TIME),
        "width": _int(1, int(MAX_PIXELS)), "height": _int(1, int(MAX_PIXELS)),
        "fps_num": _int(1, 1_000_000), "fps_den": _int(1, 1_000_000), "rev": _int(0, 1_000_000_000),
    }
    for name, check in checks.items():
        if name not in v:
            return f"lacks {name}"
        err = check(v[name])
        if err:
            return f"{name} {err}"
    if v["end"] <= v["start"]:
        return "end must be after start"
    return None


def _patch(v: Any) -> str | None:
    if not isinstance(v, Mapping) or len(v) > 20_000:
        return "must be an object of entry paths"
    for path, value in v.items():
        err = check_entry(path, value)
        if err:
            return err
    return None


def _media_list(v: Any) -> str | None:
    if not isinstance(v, list) or not 1 <= len(v) <= 16 or any(_hash(h) for h in v):
        return "must be a list of 1 to 16 media hashes"
    return None


def _fraction_or_none(v: Any) -> str | None:
    return None if v is None else _num(0.0, 1.0)(v)


T = _num(0.0, MAX_TIME)
PX = _num(0.0, MAX_PIXELS)
SIZE = _num(0.0, MAX_PIXELS, lo_open=True)
MAX_TRACK_KEYFRAMES = 2000


def _track_keyframes(props: tuple[str, ...]) -> Callable[[Any], str | None]:
    """A list of keyframes {keyframe (uid, minted when applied), time, *props}."""
    def check(v: Any) -> str | None:
        if not isinstance(v, list) or len(v) > MAX_TRACK_KEYFRAMES:
            return f"must be a list of at most {MAX_TRACK_KEYFRAMES} keyframes"
        for kf in v:
            if not isinstance(kf, Mapping) or set(kf) - {"keyframe", "time", *props}:
                return f"must hold keyframes with time, {', '.join(props)} (and keyframe)"
            if "keyframe" in kf and _uid(kf["keyframe"]):
                return "has a keyframe uid that is not a uuid"
            if T(kf.get("time")):
                return "has a keyframe time that is not a time"
            if any((PX if p in ("x", "y") else SIZE)(kf.get(p)) for p in props):
                return "has a keyframe value out of range"
        return None
    return check


def _uid_list(v: Any) -> str | None:
    if not isinstance(v, list) or len(v) > MAX_TRACK_KEYFRAMES or any(_uid(u) for u in v):
        return "must be a list of uuids"
    return None


# A text element's look; sizes are fractions of the output height (outline and shadow: of the
# text size), positions and widths fractions of the output, fades seconds of clip time.
TEXT_STYLE_FIELDS: dict[str, Field] = {
    "font": Field(_enum(TextFont)), "size": Field(_num(0.0, 0.5, lo_open=True)), "color": Field(_color),
    "align": Field(_enum(TextAlign)), "preset": Field(_enum(TextAnchor)),
    "x": Field(_fraction_or_none), "y": Field(_fraction_or_none), "max_width": Field(_num(0.05, 1.0)),
    "outline": Field(_num(0.0, 0.25)), "outline_color": Field(_color),
    "shadow": Field(_num(0.0, 0.25)), "shadow_color": Field(_color),
    "fade_in": Field(_num(0.0, 10.0)), "fade_out": Field(_num(0.0, 10.0)),
}
TEXT_FIELDS = ("text", *TEXT_STYLE_FIELDS)
# What an added element holds for each field it does not name (x/y null: placed by its preset).
TEXT_DEFAULTS: dict[str, Any] = {
    "font": TextFont.SANS.value, "size": 0.06, "color": "#FFFFFF", "align": TextAlign.CENTER.value,
    "preset": TextAnchor.BOTTOM_CENTER.value, "x": None, "y": None, "max_width": 0.9,
    "outline": 0.0, "outline_color": "#000000", "shadow": 0.0, "shadow_color": "#000000",
    "fade_in": 0.0, "fade_out": 0.0,
}
# A title card's fields when first set (blur: a fraction of the output height).
TITLE_DEFAULTS: dict[str, Any] = {
    "duration": 3.0, "background": TitleBackground.COLOR.value, "color": "#101010", "working_clip": None,
    "time": 0.0, "blur": 0.02, "dim": 0.5, "elements": [],
}
_TEXT = Field(_text(500, min_len=1))
MAX_TITLE_ELEMENTS = 8


def _elements(v: Any) -> str | None:
    """A title card's text elements: objects with a text and any element style fields."""
    if not isinstance(v, list) or len(v) > MAX_TITLE_ELEMENTS:
        return f"must be a list of at most {MAX_TITLE_ELEMENTS} text elements"
    for i, el in enumerate(v):
        if not isinstance(el, Mapping):
            return f"[{i}] must be an object"
        unknown = set(el) - set(TEXT_FIELDS)
        if unknown:
            return f"[{i}] has unknown field(s): {', '.join(sorted(unknown))}"
        if "text" not in el:
            return f"[{i}] lacks 'text'"
        for name in TEXT_FIELDS:
            err = (_TEXT if name == "text" else TEXT_STYLE_FIELDS[name]).check(el[name]) if name in el else None
            if err:
                return f"[{i}] {name} {err}"
    return None
