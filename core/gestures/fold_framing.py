"""Fold handlers for a working clip's framing: crop keyframes, splits, speeds, trim, rotation, a
new source range, restoring a version, and the patches that undo and restore write."""
from __future__ import annotations

import copy
from typing import Any, Mapping

from core.editmath.segments import FIRST_SEGMENT
from core.gestures import keys
from core.gestures.model import Gesture
from core.gestures.state import EntryWriter, Payload, quantise


def target_clip(w: EntryWriter, g: Gesture) -> str | None:
    """The working clip a clip gesture targets, when this scope knows it."""
    wc = g.entity_uid
    return wc if wc and keys.clip(wc) in w.s.entries else None


def kf_value(p: Mapping[str, Any]) -> dict[str, float]:
    return {"time": quantise(p["time"]), "x": quantise(p["x"]), "y": quantise(p["y"]),
            "width": quantise(p["width"]), "height": quantise(p["height"])}


def add_kf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    snap = p.get("snap")
    target = snap if snap and keys.keyframe(wc, snap) in w.s.entries else p["keyframe"]
    w.set(keys.keyframe(wc, target), kf_value(p))
    w.res.created["keyframe"] = target


def update_kf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    changes: dict[str, Any] = {k: quantise(p[k]) for k in ("time", "x", "y", "width", "height") if k in p}
    w.update(keys.keyframe(wc, p["keyframe"]), changes)


def delete_kf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.delete(keys.keyframe(wc, p["keyframe"]))


def split(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    t = quantise(p["time"])
    src = w.s.entries[keys.clip(wc)]
    if not 0.0 < t < quantise(src["end"] - src["start"]):
        return
    if any(abs(v - t) < 1e-6 for _uid, v in keys.children(w.s.entries, keys.prefix(keys.Head.SPLIT, wc))):
        return  # already split there
    w.set(keys.split(wc, p["split"]), t)
    w.res.created["split"] = p["split"]
    # The new right-hand segment keeps the speed of the segment it was cut from.
    inherit = p.get("inherit")
    if inherit is not None:
        speed = w.s.entries.get(keys.speed(wc, inherit))
        if speed is not None:
            w.set(keys.speed(wc, p["split"]), speed)


def remove_split(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None or not p.get("split"):
        return
    w.delete(keys.split(wc, p["split"]))
    w.delete(keys.speed(wc, p["split"]))  # the merged segment keeps the left speed


def set_speed(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    seg = p["segment"]
    if seg != FIRST_SEGMENT and keys.split(wc, seg) not in w.s.entries:
        w.edit_of_deleted(keys.split(wc, seg))
        return
    w.set(keys.speed(wc, seg), quantise(p["speed"]))


def set_trim(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.set(keys.trim(wc), {"start": quantise(p["start"]), "end": quantise(p["end"])})


def clear_trim(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.delete(keys.trim(wc))


def set_rotation(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.set(keys.rotation(wc), quantise(p["degrees"]))


def apply_patch(w: EntryWriter, patch: Mapping[str, Any]) -> None:
    for path in sorted(patch):
        value = patch[path]
        if value is None:
            w.delete(path)
        else:
            w.set(path, copy.deepcopy(value))


def restore_version(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    # Only entries of this clip: a patch can never reach into another clip or scope.
    apply_patch(w, {k: v for k, v in p["patch"].items() if keys.clip_of_path(k) == wc})


def revert(w: EntryWriter, g: Gesture, p: Payload) -> None:
    apply_patch(w, dict(p["patch"]))


_RESCALED_RANGES = (keys.Head.TRIM.value, keys.Head.REGION.value, keys.Head.TEXT.value)


def use_new_range(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    old = w.s.entries[keys.clip(wc)]
    new = dict(p["source"])
    w.set(keys.clip(wc), new)
    if not p.get("rescale"):
        return
    k = (new["end"] - new["start"]) / (old["end"] - old["start"])
    for path in sorted(x for x in w.s.entries if keys.clip_of_path(x) == wc):
        head = keys.head_of(path)
        v = w.s.entries[path]
        if head in (keys.Head.KF.value, keys.Head.RKF.value):
            w.set(path, {**v, "time": quantise(v["time"] * k)})
        elif head == keys.Head.SPLIT.value:
            w.set(path, quantise(v * k))
        elif head in _RESCALED_RANGES:
            w.set(path, {**v, "start": quantise(v["start"] * k), "end": quantise(v["end"] * k)})
