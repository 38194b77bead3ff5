"""Fold handlers for what is drawn over a working clip: spotlight regions with their keyframes and
style, a tracking run, and text regions with their elements."""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from core.editmath.crop import find_snap_keyframe
from core.gestures import keys
from core.gestures.fold_framing import kf_value, target_clip
from core.gestures.model import Gesture
from core.gestures.schema import TEXT_DEFAULTS, TEXT_FIELDS
from core.gestures.state import SNAP_FRAMES, EntryWriter, Payload, quantise, region_keyframe_times

_RKF_FIELDS = ("time", "x", "y", "rx", "ry")


def add_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    rg = p["region"]
    w.set(keys.region(wc, rg), {"start": quantise(p["start"]), "end": quantise(p["end"]), "enabled": True})
    w.res.created["region"] = rg
    if all(k in p for k in ("x", "y", "rx", "ry")) and p.get("keyframe"):
        w.set(keys.region_keyframe(wc, rg, p["keyframe"]),
              {"time": quantise(p["start"]), **{k: quantise(p[k]) for k in _RKF_FIELDS[1:]}})
        w.res.created["keyframe"] = p["keyframe"]


def _retime(w: EntryWriter, path: str, p: Payload) -> None:
    """New start and/or end of a time-ranged entry (spotlight or text region); a range that
    would end before it starts is ignored, an edit of a deleted entry is recorded."""
    cur = w.s.entries.get(path)
    if cur is None:
        w.edit_of_deleted(path)
        return
    start, end = quantise(p.get("start", cur["start"])), quantise(p.get("end", cur["end"]))
    if end > start:
        w.update(path, {"start": start, "end": end})


def _delete_with_children(w: EntryWriter, entry: str, *children: str) -> None:
    """Delete a region's own entries (keyframes, elements: paths under ``children``), then it."""
    for path in sorted(k for k in w.s.entries if k.startswith(children)):
        w.delete(path)
    w.delete(entry)


def update_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        _retime(w, keys.region(wc, p["region"]), p)


def delete_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    rg = p["region"]
    _delete_with_children(w, keys.region(wc, rg), keys.prefix(keys.Head.RKF, wc, rg),
                          keys.prefix(keys.Head.RKF_ALIAS, wc, rg))


def toggle_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.update(keys.region(wc, p["region"]), {"enabled": bool(p["enabled"])})


def _rkf_path(w: EntryWriter, wc: str, region: str, keyframe: str) -> str:
    """A region keyframe's entry; a keyframe folded into another (legacy snap) names the survivor."""
    survivor = w.s.entries.get(keys.region_keyframe_alias(wc, region, keyframe), keyframe)
    return keys.region_keyframe(wc, region, survivor)


def add_rkf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    rg = p["region"]
    if keys.region(wc, rg) not in w.s.entries:
        w.edit_of_deleted(keys.region(wc, rg))
        return
    if "snap" in p:  # resolved by the device that made it, like crop keyframes
        snap = p["snap"]
    else:
        # Logged before spotlight keyframes snapped: snap here, the same on every device, and let
        # later edits naming this keyframe reach the one it was folded into.
        src = w.s.entries[keys.clip(wc)]
        snap = find_snap_keyframe(region_keyframe_times(w.s.entries, wc, rg), quantise(p["time"]),
                                  Fraction(src["fps_num"], src["fps_den"]), SNAP_FRAMES)
        if snap is not None:
            w.set(keys.region_keyframe_alias(wc, rg, p["keyframe"]), snap)
    target = snap if snap and keys.region_keyframe(wc, rg, snap) in w.s.entries else p["keyframe"]
    w.set(keys.region_keyframe(wc, rg, target), {k: quantise(p[k]) for k in _RKF_FIELDS})
    w.res.created["keyframe"] = target


def update_rkf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.update(_rkf_path(w, wc, p["region"], p["keyframe"]), {k: quantise(p[k]) for k in _RKF_FIELDS if k in p})


def delete_rkf(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.delete(_rkf_path(w, wc, p["region"], p["keyframe"]))


def set_style(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    style = dict(w.s.entries.get(keys.style(wc), {}))
    style.update({k: (quantise(v) if isinstance(v, float) else v) for k, v in p.items()})
    w.set(keys.style(wc), style)


def apply_track(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    rg = p["region"]
    w.set(keys.region(wc, rg), {"start": quantise(p["start"]), "end": quantise(p["end"]), "enabled": True})
    # Keyframes without a uid (never logged so; only a malformed remote payload) are skipped.
    for k in p["keyframes"]:
        if k.get("keyframe"):
            w.set(keys.region_keyframe(wc, rg, k["keyframe"]), {x: quantise(k[x]) for x in _RKF_FIELDS})
    for uid in p.get("replace_crop", []):
        w.delete(keys.keyframe(wc, uid))
    for k in p.get("crop_keyframes", []):
        if k.get("keyframe"):
            w.set(keys.keyframe(wc, k["keyframe"]), kf_value(k))
    w.res.created["region"] = rg


def text_value(p: Mapping[str, Any]) -> dict[str, Any]:
    """The element fields a text gesture names (numbers quantised like every stored value)."""
    return {k: (quantise(p[k]) if isinstance(p[k], (int, float)) and not isinstance(p[k], bool) else p[k])
            for k in TEXT_FIELDS if k in p}


def add_text_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.set(keys.text_region(wc, p["text_region"]), {"start": quantise(p["start"]), "end": quantise(p["end"])})
        w.res.created["text_region"] = p["text_region"]


def update_text_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        _retime(w, keys.text_region(wc, p["text_region"]), p)


def delete_text_region(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    rg = p["text_region"]
    _delete_with_children(w, keys.text_region(wc, rg), keys.prefix(keys.Head.TEL, wc, rg))


def add_text_element(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is None:
        return
    region = keys.text_region(wc, p["text_region"])
    if region not in w.s.entries:
        w.edit_of_deleted(region)
        return
    w.set(keys.text_element(wc, p["text_region"], p["text_element"]), {**TEXT_DEFAULTS, **text_value(p)})
    w.res.created["text_element"] = p["text_element"]


def update_text_element(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.update(keys.text_element(wc, p["text_region"], p["text_element"]), text_value(p))


def delete_text_element(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = target_clip(w, g)
    if wc is not None:
        w.delete(keys.text_element(wc, p["text_region"], p["text_element"]))
