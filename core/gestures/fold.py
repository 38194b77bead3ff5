"""The pure fold: the state of a scope is its gestures applied in (lamport, device, op_id) order.

A scope's state is a flat map of entry paths to JSON values (absent = not there), e.g.
``kf/<wc>/<keyframe>`` -> ``{"time", "x", "y", "width", "height"}``. Flat entries make the three
hard parts small: the effect of a gesture (old values of the entries it changed) is what undo
restores; conflicts are two concurrent writers of the same entry; and the canonical JSON is
built from entries alone. ``step`` is deterministic and total: stale input never raises.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Iterable

from core.editmath.crop import find_snap_keyframe
from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture, ScopeKind
from core.gestures.schema import TEXT_DEFAULTS, TEXT_FIELDS, TITLE_DEFAULTS

# A writer is [lamport, device_id, op_id, base_version]: enough to tell concurrency later.
Writer = list


@dataclass
class ScopeState:
    kind: ScopeKind
    entries: dict[str, Any] = field(default_factory=dict)
    writers: dict[str, Writer] = field(default_factory=dict)
    tombs: dict[str, Writer] = field(default_factory=dict)
    clock: int = 0  # the highest lamport folded: what a local gesture's base_version is
    last: list | None = None  # order key of the last folded gesture

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
        return {clip_of_path(p) for p in self.effect if clip_of_path(p)}


# Entry path prefixes whose second segment is a working clip uid.
CLIP_PREFIXES = ("clip", "order", "trans", "kf", "split", "speed", "trim", "rot", "region", "rkf", "rkfalias",
                 "style", "text", "tel")


def clip_of_path(path: str) -> str | None:
    head, _, rest = path.partition("/")
    if head in CLIP_PREFIXES and rest:
        return rest.split("/", 1)[0]
    return None


# Keyframes this close (in frames) to an existing one of the same track update it instead.
SNAP_FRAMES = 10


def _r(v: float) -> float:
    # Quantise what the fold stores so every device writes the same digits.
    return round(float(v), 6)


class _Writer:
    """Applies one gesture's entry changes, recording effect and conflicts."""

    def __init__(self, state: ScopeState, g: Gesture, result: StepResult):
        self.s, self.g, self.res = state, g, result
        self.me: Writer = [g.lamport, g.device_id, g.op_id, g.base_version or 0]

    def _concurrent(self, other: Writer) -> bool:
        # `other` was not seen by g (its lamport is above what g's author had folded) and g was
        # not seen by other's author: both edited the entry without knowing of the other.
        return (other[1] != self.me[1] and other[0] > self.me[3] and self.me[0] > other[3])

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


def step(state: ScopeState, g: Gesture) -> StepResult:
    """Fold one gesture into ``state`` (in place). Never raises on stale input."""
    res = StepResult()
    w = _Writer(state, g, res)
    handler = _HANDLERS.get(g.kind)
    if handler is not None:
        handler(w, g, dict(g.payload))
    state.clock = max(state.clock, g.lamport or 0)
    state.last = list(g.order_key)
    return res


def fold(kind: ScopeKind, gestures: Iterable[Gesture]) -> tuple[ScopeState, list[tuple[Gesture, StepResult]]]:
    state = ScopeState(kind)
    results = []
    for g in sorted(gestures, key=lambda x: x.order_key):
        results.append((g, step(state, g)))
    return state, results


# ---------------------------------------------------------------------------------------------
# handlers: (writer, gesture, payload) -> None


def _media(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("info", dict(p["info"]))
    if "name" in p and "name" not in w.s.entries:
        w.set("name", p["name"])  # first name wins: re-imports on other machines keep it


def _game(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("name", p["name"])
    w.set("media", list(p["media"]))


def _mark(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("media", p["media"])
    w.set("start", _r(p["start"]))
    w.set("end", _r(p["end"]))
    w.set("rating", p.get("rating", 0))
    w.set("tags", list(p.get("tags", [])))
    w.set("notes", p.get("notes", ""))
    w.set("name", p.get("name", ""))
    w.set("game", p.get("game"))
    w.set("rev", 0)
    w.set("deleted", False)


def _update_clip(w: _Writer, g: Gesture, p: dict) -> None:
    if "media" not in w.s.entries:
        return
    if w.s.entries.get("deleted"):
        w.edit_of_deleted("deleted")
    start = _r(p.get("start", w.s.entries["start"]))
    end = _r(p.get("end", w.s.entries["end"]))
    if end <= start:
        return  # a stale range (the other bound moved meanwhile): ignore rather than invert
    if (start, end) != (w.s.entries["start"], w.s.entries["end"]):
        w.set("start", start)
        w.set("end", end)
        w.set("rev", int(w.s.entries.get("rev", 0)) + 1)
    for name in ("rating", "tags", "notes", "name"):
        if name in p:
            w.set(name, p[name])


def _delete_clip(w: _Writer, g: Gesture, p: dict) -> None:
    if "media" in w.s.entries:
        w.set("deleted", True)


def _create_project(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("name", p["name"])
    w.set("aspect", p.get("aspect", AspectRatio.PORTRAIT.value))
    w.set("deleted", False)


def _rename(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("name", p["name"])


def _delete_project(w: _Writer, g: Gesture, p: dict) -> None:
    w.set("deleted", True)


def _set_aspect(w: _Writer, g: Gesture, p: dict) -> None:
    from core.editmath.crop import Box, refit_crop

    new = AspectRatio(p["aspect"])
    if w.s.entries.get("aspect") == new.value:
        return
    w.set("aspect", new.value)
    # Re-fit every crop keyframe of every clip around its centre (keeps zoom).
    for path in sorted(k for k in w.s.entries if k.startswith("kf/")):
        wc = path.split("/")[1]
        src = w.s.entries.get(f"clip/{wc}")
        if src is None:
            continue
        kf = w.s.entries[path]
        box = refit_crop(Box(kf["x"], kf["y"], kf["width"], kf["height"]), new, src["width"], src["height"])
        w.set(path, {"time": kf["time"], "x": _r(box.x), "y": _r(box.y), "width": _r(box.width),
                     "height": _r(box.height)})


def _add_clip(w: _Writer, g: Gesture, p: dict) -> None:
    wc = p["working_clip"]
    w.set(f"clip/{wc}", dict(p["source"]))
    w.set(f"order/{wc}", p["sort_key"])
    w.res.created["working_clip"] = wc


def _remove_clip(w: _Writer, g: Gesture, p: dict) -> None:
    w.delete(f"order/{p['working_clip']}")


def _move_clip(w: _Writer, g: Gesture, p: dict) -> None:
    path = f"order/{p['working_clip']}"
    if path in w.s.entries:
        w.set(path, p["sort_key"])
    else:
        w.edit_of_deleted(path)


def _set_transition(w: _Writer, g: Gesture, p: dict) -> None:
    wc = p["working_clip"]
    if f"clip/{wc}" in w.s.entries:
        w.set(f"trans/{wc}", {"type": p["type"], "duration": _r(p.get("duration", 0.0))})


def _wc(w: _Writer, g: Gesture) -> str | None:
    """The working clip a framing gesture targets, when this scope knows it."""
    wc = g.entity_uid
    return wc if wc and f"clip/{wc}" in w.s.entries else None


def _kf_value(p: dict) -> dict:
    return {"time": _r(p["time"]), "x": _r(p["x"]), "y": _r(p["y"]), "width": _r(p["width"]),
            "height": _r(p["height"])}


def _add_kf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    snap = p.get("snap")
    target = snap if snap and f"kf/{wc}/{snap}" in w.s.entries else p["keyframe"]
    w.set(f"kf/{wc}/{target}", _kf_value(p))
    w.res.created["keyframe"] = target


def _update_kf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    changes = {k: _r(p[k]) for k in ("time", "x", "y", "width", "height") if k in p}
    w.update(f"kf/{wc}/{p['keyframe']}", changes)


def _delete_kf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.delete(f"kf/{wc}/{p['keyframe']}")


def _split(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    t = _r(p["time"])
    src = w.s.entries[f"clip/{wc}"]
    if not 0.0 < t < _r(src["end"] - src["start"]):
        return
    prefix = f"split/{wc}/"
    if any(abs(v - t) < 1e-6 for k, v in w.s.entries.items() if k.startswith(prefix)):
        return  # already split there
    w.set(prefix + p["split"], t)
    w.res.created["split"] = p["split"]
    # The new right-hand segment keeps the speed of the segment it was cut from.
    inherit = p.get("inherit")
    if inherit is not None:
        speed = w.s.entries.get(f"speed/{wc}/{inherit}")
        if speed is not None:
            w.set(f"speed/{wc}/{p['split']}", speed)


def _remove_split(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None or not p.get("split"):
        return
    w.delete(f"split/{wc}/{p['split']}")
    w.delete(f"speed/{wc}/{p['split']}")  # the merged segment keeps the left speed


def _set_speed(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    seg = p["segment"]
    if seg != "start" and f"split/{wc}/{seg}" not in w.s.entries:
        w.edit_of_deleted(f"split/{wc}/{seg}")
        return
    w.set(f"speed/{wc}/{seg}", _r(p["speed"]))


def _set_trim(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.set(f"trim/{wc}", {"start": _r(p["start"]), "end": _r(p["end"])})


def _clear_trim(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.delete(f"trim/{wc}")


def _set_rotation(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.set(f"rot/{wc}", _r(p["degrees"]))


def _apply_patch(w: _Writer, patch: dict) -> None:
    for path in sorted(patch):
        value = patch[path]
        if value is None:
            w.delete(path)
        else:
            w.set(path, copy.deepcopy(value))


def _restore_version(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    # Only entries of this clip: a patch can never reach into another clip or scope.
    _apply_patch(w, {k: v for k, v in p["patch"].items() if clip_of_path(k) == wc})


def _use_new_range(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    old = w.s.entries[f"clip/{wc}"]
    new = dict(p["source"])
    w.set(f"clip/{wc}", new)
    if not p.get("rescale"):
        return
    k = (new["end"] - new["start"]) / (old["end"] - old["start"])
    for path in sorted(x for x in w.s.entries if clip_of_path(x) == wc):
        head = path.split("/", 1)[0]
        v = w.s.entries[path]
        if head in ("kf", "rkf"):
            w.set(path, {**v, "time": _r(v["time"] * k)})
        elif head == "split":
            w.set(path, _r(v * k))
        elif head in ("trim", "region", "text"):
            w.set(path, {**v, "start": _r(v["start"] * k), "end": _r(v["end"] * k)})


def _add_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    rg = p["region"]
    w.set(f"region/{wc}/{rg}", {"start": _r(p["start"]), "end": _r(p["end"]), "enabled": True})
    w.res.created["region"] = rg
    if all(k in p for k in ("x", "y", "rx", "ry")) and p.get("keyframe"):
        w.set(f"rkf/{wc}/{rg}/{p['keyframe']}", {"time": _r(p["start"]), "x": _r(p["x"]), "y": _r(p["y"]),
                                                  "rx": _r(p["rx"]), "ry": _r(p["ry"])})
        w.res.created["keyframe"] = p["keyframe"]


def _retime(w: _Writer, path: str, p: dict) -> None:
    """New start and/or end of a time-ranged entry (spotlight or text region); a range that
    would end before it starts is ignored, an edit of a deleted entry is recorded."""
    cur = w.s.entries.get(path)
    if cur is None:
        w.edit_of_deleted(path)
        return
    start, end = _r(p.get("start", cur["start"])), _r(p.get("end", cur["end"]))
    if end > start:
        w.update(path, {"start": start, "end": end})


def _update_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        _retime(w, f"region/{wc}/{p['region']}", p)


def _delete_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    rg = p["region"]
    for path in sorted(k for k in w.s.entries if k.startswith((f"rkf/{wc}/{rg}/", f"rkfalias/{wc}/{rg}/"))):
        w.delete(path)
    w.delete(f"region/{wc}/{rg}")


def _toggle_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.update(f"region/{wc}/{p['region']}", {"enabled": bool(p["enabled"])})


def region_keyframe_times(entries: dict[str, Any], wc: str, region: str) -> list[tuple[str, float]]:
    """(uid, time) of a spotlight region's keyframes, in a stable order."""
    prefix = f"rkf/{wc}/{region}/"
    return sorted((k[len(prefix):], v["time"]) for k, v in entries.items() if k.startswith(prefix))


def _rkf_path(w: _Writer, wc: str, region: str, keyframe: str) -> str:
    """A region keyframe's entry; a keyframe folded into another (legacy snap) names the survivor."""
    return f"rkf/{wc}/{region}/{w.s.entries.get(f'rkfalias/{wc}/{region}/{keyframe}', keyframe)}"


def _add_rkf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    rg = p["region"]
    if f"region/{wc}/{rg}" not in w.s.entries:
        w.edit_of_deleted(f"region/{wc}/{rg}")
        return
    if "snap" in p:  # resolved by the device that made it, like crop keyframes
        snap = p["snap"]
    else:
        # Logged before spotlight keyframes snapped: snap here, the same on every device, and let
        # later edits naming this keyframe reach the one it was folded into.
        src = w.s.entries[f"clip/{wc}"]
        snap = find_snap_keyframe(region_keyframe_times(w.s.entries, wc, rg), _r(p["time"]),
                                  Fraction(src["fps_num"], src["fps_den"]), SNAP_FRAMES)
        if snap is not None:
            w.set(f"rkfalias/{wc}/{rg}/{p['keyframe']}", snap)
    target = snap if snap and f"rkf/{wc}/{rg}/{snap}" in w.s.entries else p["keyframe"]
    w.set(f"rkf/{wc}/{rg}/{target}", {k: _r(p[k]) for k in ("time", "x", "y", "rx", "ry")})
    w.res.created["keyframe"] = target


def _update_rkf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.update(_rkf_path(w, wc, p["region"], p["keyframe"]),
                 {k: _r(p[k]) for k in ("time", "x", "y", "rx", "ry") if k in p})


def _delete_rkf(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.delete(_rkf_path(w, wc, p["region"], p["keyframe"]))


def _set_style(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    style = dict(w.s.entries.get(f"style/{wc}", {}))
    style.update({k: (_r(v) if isinstance(v, float) else v) for k, v in p.items()})
    w.set(f"style/{wc}", style)


def _apply_track(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    rg = p["region"]
    w.set(f"region/{wc}/{rg}", {"start": _r(p["start"]), "end": _r(p["end"]), "enabled": True})
    # Keyframes without a uid (never logged so; only a malformed remote payload) are skipped.
    for k in p["keyframes"]:
        if k.get("keyframe"):
            w.set(f"rkf/{wc}/{rg}/{k['keyframe']}", {x: _r(k[x]) for x in ("time", "x", "y", "rx", "ry")})
    for uid in p.get("replace_crop", []):
        w.delete(f"kf/{wc}/{uid}")
    for k in p.get("crop_keyframes", []):
        if k.get("keyframe"):
            w.set(f"kf/{wc}/{k['keyframe']}", _kf_value(k))
    w.res.created["region"] = rg


def _text_value(p: dict) -> dict:
    """The element fields a text gesture names (numbers quantised like every stored value)."""
    return {k: (_r(p[k]) if isinstance(p[k], (int, float)) and not isinstance(p[k], bool) else p[k])
            for k in TEXT_FIELDS if k in p}


def _add_text_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.set(f"text/{wc}/{p['text_region']}", {"start": _r(p["start"]), "end": _r(p["end"])})
        w.res.created["text_region"] = p["text_region"]


def _update_text_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        _retime(w, f"text/{wc}/{p['text_region']}", p)


def _delete_text_region(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    rg = p["text_region"]
    for path in sorted(k for k in w.s.entries if k.startswith(f"tel/{wc}/{rg}/")):
        w.delete(path)
    w.delete(f"text/{wc}/{rg}")


def _add_text_element(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is None:
        return
    region = f"text/{wc}/{p['text_region']}"
    if region not in w.s.entries:
        w.edit_of_deleted(region)
        return
    w.set(f"tel/{wc}/{p['text_region']}/{p['text_element']}", {**TEXT_DEFAULTS, **_text_value(p)})
    w.res.created["text_element"] = p["text_element"]


def _update_text_element(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.update(f"tel/{wc}/{p['text_region']}/{p['text_element']}", _text_value(p))


def _delete_text_element(w: _Writer, g: Gesture, p: dict) -> None:
    wc = _wc(w, g)
    if wc is not None:
        w.delete(f"tel/{wc}/{p['text_region']}/{p['text_element']}")


def _set_title_card(w: _Writer, g: Gesture, p: dict) -> None:
    card = {**TITLE_DEFAULTS, **w.s.entries.get("title", {})}
    card.update({k: (_r(v) if isinstance(v, float) else v) for k, v in p.items() if k != "elements"})
    if "elements" in p:
        card["elements"] = [{**TEXT_DEFAULTS, **_text_value(el)} for el in p["elements"]]
    w.set("title", card)


def _clear_title_card(w: _Writer, g: Gesture, p: dict) -> None:
    w.delete("title")


def _revert(w: _Writer, g: Gesture, p: dict) -> None:
    _apply_patch(w, dict(p["patch"]))


_HANDLERS = {
    GestureKind.IMPORT_MEDIA: _media,
    GestureKind.CREATE_GAME: _game,
    GestureKind.MARK_CLIP: _mark,
    GestureKind.UPDATE_CLIP: _update_clip,
    GestureKind.DELETE_CLIP: _delete_clip,
    GestureKind.CREATE_PROJECT: _create_project,
    GestureKind.RENAME_PROJECT: _rename,
    GestureKind.SET_ASPECT_RATIO: _set_aspect,
    GestureKind.DELETE_PROJECT: _delete_project,
    GestureKind.ADD_CLIP: _add_clip,
    GestureKind.REMOVE_CLIP: _remove_clip,
    GestureKind.MOVE_CLIP: _move_clip,
    GestureKind.SET_TRANSITION: _set_transition,
    GestureKind.ADD_CROP_KEYFRAME: _add_kf,
    GestureKind.MOVE_CROP_KEYFRAME: _update_kf,
    GestureKind.UPDATE_CROP_KEYFRAME: _update_kf,
    GestureKind.DELETE_CROP_KEYFRAME: _delete_kf,
    GestureKind.SPLIT: _split,
    GestureKind.REMOVE_SPLIT: _remove_split,
    GestureKind.SET_SEGMENT_SPEED: _set_speed,
    GestureKind.SET_TRIM: _set_trim,
    GestureKind.CLEAR_TRIM: _clear_trim,
    GestureKind.SET_ROTATION: _set_rotation,
    GestureKind.RESTORE_VERSION: _restore_version,
    GestureKind.USE_NEW_RANGE: _use_new_range,
    GestureKind.ADD_REGION: _add_region,
    GestureKind.UPDATE_REGION: _update_region,
    GestureKind.DELETE_REGION: _delete_region,
    GestureKind.TOGGLE_REGION: _toggle_region,
    GestureKind.ADD_REGION_KEYFRAME: _add_rkf,
    GestureKind.UPDATE_REGION_KEYFRAME: _update_rkf,
    GestureKind.DELETE_REGION_KEYFRAME: _delete_rkf,
    GestureKind.SET_OVERLAY_STYLE: _set_style,
    GestureKind.APPLY_TRACK: _apply_track,
    GestureKind.ADD_TEXT_REGION: _add_text_region,
    GestureKind.UPDATE_TEXT_REGION: _update_text_region,
    GestureKind.DELETE_TEXT_REGION: _delete_text_region,
    GestureKind.ADD_TEXT_ELEMENT: _add_text_element,
    GestureKind.UPDATE_TEXT_ELEMENT: _update_text_element,
    GestureKind.DELETE_TEXT_ELEMENT: _delete_text_element,
    GestureKind.SET_TITLE_CARD: _set_title_card,
    GestureKind.CLEAR_TITLE_CARD: _clear_title_card,
    GestureKind.REVERT: _revert,
}
