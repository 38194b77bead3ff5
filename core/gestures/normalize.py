"""Turning what the user did into a self-contained, logged payload (on the originating device).

The device that makes a gesture resolves everything that depends on its current state — minted
uids, which keyframe a new one snaps to, which segment a time falls in, the source snapshot of an
added clip — and writes the answer into the payload. Every other device then folds the same
payload to the same result, whatever else it has seen. State-dependent range checks for local
input are done here too: they raise GestureError, the fold never does.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping

from core.editmath.crop import find_snap_keyframe
from core.editmath.segments import segment_key_at
from core.enums import AspectRatio, TitleBackground
from core.gestures import keys
from core.gestures.model import GestureError
from core.gestures.state import SNAP_FRAMES, Payload, region_keyframe_times
from core.gestures.sortkey import key_at
from core.gestures.views import clip_order
from core.ids import new_uid

_EPS = 1e-6
Entries = Mapping[str, Any]


@dataclass
class Lookups:
    """Read-only access the normaliser needs beyond the scope's own entries."""

    raw_clip: Callable[[str], Mapping[str, Any] | None]   # uid -> {media, start, end, rev, deleted}
    media: Callable[[str], Mapping[str, Any] | None]  # hash -> {duration, width, height, fps_num, fps_den, rotation}
    version: Callable[[str, int], Mapping[str, Any] | None]  # (wc, n) -> clip doc of that version


def display_size(media: Mapping[str, Any]) -> tuple[int, int]:
    w, h = media["width"], media["height"]
    return (h, w) if media.get("rotation", 0) in (90, 270) else (w, h)


def source_snapshot(raw_uid: str, raw: Mapping[str, Any], media: Mapping[str, Any]) -> dict[str, Any]:
    w, h = display_size(media)
    return {"raw_clip": raw_uid, "media": raw["media"], "start": round(raw["start"], 6),
            "end": round(raw["end"], 6), "width": w, "height": h, "fps_num": media["fps_num"],
            "fps_den": media["fps_den"], "rev": raw["rev"]}


def _need_clip(e: Mapping[str, Any], wc: str) -> dict[str, Any]:
    src = e.get(keys.clip(wc))
    if src is None or keys.order(wc) not in e:
        raise GestureError(f"working clip {wc} is not in this project")
    return dict(src)


def _check_time(t: float, src: Mapping[str, Any], what: str = "time") -> None:
    dur = src["end"] - src["start"]
    if t > dur + _EPS:
        raise GestureError(f"{what} {t:g} s is beyond the clip's end ({dur:g} s)")


def _check_box(p: Mapping[str, Any], src: Mapping[str, Any]) -> None:
    w, h = src["width"], src["height"]
    x, y = p.get("x", 0.0), p.get("y", 0.0)
    if x + p.get("width", 0.0) > w + _EPS or y + p.get("height", 0.0) > h + _EPS:
        raise GestureError(f"crop box must lie inside the {w}x{h} source frame")


def _fps(src: Mapping[str, Any]) -> Fraction:
    return Fraction(src["fps_num"], src["fps_den"])


def create_project(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    p.setdefault("aspect", AspectRatio.PORTRAIT.value)


def mark(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    media = look.media(p["media"])
    if media is None:
        raise GestureError(f"unknown media {p['media']}")
    if p["end"] > media["duration"] + _EPS:
        raise GestureError(f"end {p['end']:g} s is beyond the media's duration ({media['duration']:g} s)")


def update_clip(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    if "media" not in e:
        raise GestureError(f"unknown clip {entity}")
    start = float(p["start"] if "start" in p else e["start"])
    end = float(p["end"] if "end" in p else e["end"])
    if end <= start:
        raise GestureError("end must be after start")
    media = look.media(e["media"])
    if media is not None and end > media["duration"] + _EPS:
        raise GestureError(f"end {end:g} s is beyond the media's duration ({media['duration']:g} s)")


def add_clip(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    raw = look.raw_clip(p["raw_clip"])
    if raw is None or raw.get("deleted"):
        raise GestureError(f"unknown clip {p['raw_clip']}")
    media = look.media(raw["media"])
    if media is None:
        raise GestureError(f"the media of clip {p['raw_clip']} is not in the library")
    p.setdefault("working_clip", new_uid())
    if keys.clip(p["working_clip"]) in e:
        raise GestureError(f"working clip {p['working_clip']} already exists")
    order = [e[keys.order(wc)] for wc in clip_order(e)]
    p["sort_key"] = key_at(order, p.pop("position", None))
    p["source"] = source_snapshot(p["raw_clip"], raw, media)


def remove_clip(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, p["working_clip"])


def move_clip(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    wc = p["working_clip"]
    _need_clip(e, wc)
    others = [e[keys.order(c)] for c in clip_order(e) if c != wc]
    p["sort_key"] = key_at(others, p.pop("position", None))


def set_transition(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, p["working_clip"])


def add_kf(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _check_time(p["time"], src)
    _check_box(p, src)
    p.setdefault("keyframe", new_uid())
    if "snap" not in p:
        existing = [(uid, v["time"]) for uid, v in keys.children(e, keys.prefix(keys.Head.KF, entity))]
        p["snap"] = find_snap_keyframe(existing, p["time"], _fps(src), SNAP_FRAMES)


def update_kf(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    cur = e.get(keys.keyframe(entity, p["keyframe"]))
    if cur is None:
        return  # editing an absent keyframe is a recorded no-op, not an error
    if "time" in p:
        _check_time(p["time"], src)
    _check_box({**cur, **p}, src)


def split(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    if p["time"] >= src["end"] - src["start"] - _EPS:
        raise GestureError(f"split time {p['time']:g} s must be inside the clip (0, {src['end'] - src['start']:g})")
    p.setdefault("split", new_uid())
    p["inherit"] = segment_key_at(_splits(e, entity), p["time"])


def _splits(e: Mapping[str, Any], wc: str) -> list[tuple[str, float]]:
    return keys.children(e, keys.prefix(keys.Head.SPLIT, wc))


def remove_split(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    if "split" in p:
        return
    tol = 0.5 / float(_fps(src))  # half a frame: the split drawn at that frame
    near = [(abs(t - p["time"]), uid) for uid, t in _splits(e, entity) if abs(t - p["time"]) <= tol]
    p["split"] = min(near)[1] if near else None


def set_speed(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    if "segment" not in p:
        _check_time(p["time"], src)
        p["segment"] = segment_key_at(_splits(e, entity), p.pop("time"))
    else:
        p.pop("time", None)


def set_trim(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "trim end")


def any_clip(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, entity)


def restore_version(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, entity)
    doc = look.version(entity, p["version"])
    if doc is None:
        raise GestureError(f"working clip {entity} has no version {p['version']}")
    target = entries_of_clip_doc(entity, doc)
    # The clip's place and transition belong to the project, not to a version.
    kept = (keys.Head.ORDER.value, keys.Head.TRANS.value)
    current = {k: v for k, v in e.items() if keys.clip_of_path(k) == entity and keys.head_of(k) not in kept}
    patch: dict[str, Any] = {k: None for k in current if k not in target}
    patch.update({k: v for k, v in target.items() if current.get(k) != v})
    p["patch"] = patch


def entries_of_clip_doc(wc: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of views.clip_doc (for the entries a version holds)."""
    out: dict[str, Any] = {}
    src = {k: v for k, v in doc["source"].items() if k != "duration"}
    out[keys.clip(wc)] = src
    ed = doc["edit"]
    for kf in ed["crop_keyframes"]:
        out[keys.keyframe(wc, kf["uid"])] = {k: kf[k] for k in ("time", "x", "y", "width", "height")}
    for s in ed["splits"]:
        out[keys.split(wc, s["uid"])] = s["time"]
    for s in ed["speeds"]:
        if s["speed"] != 1.0:
            out[keys.speed(wc, s["segment"])] = s["speed"]
    if ed["trim"] is not None:
        out[keys.trim(wc)] = ed["trim"]
    if ed["rotation"]:
        out[keys.rotation(wc)] = ed["rotation"]
    for r in ed["regions"]:
        out[keys.region(wc, r["uid"])] = {"start": r["start"], "end": r["end"], "enabled": r["enabled"]}
        for k in r["keyframes"]:
            out[keys.region_keyframe(wc, r["uid"], k["uid"])] = {x: k[x] for x in ("time", "x", "y", "rx", "ry")}
    for r in ed.get("text_regions", []):  # versions written before text overlays have none
        out[keys.text_region(wc, r["uid"])] = {"start": r["start"], "end": r["end"]}
        for el in r["elements"]:
            out[keys.text_element(wc, r["uid"], el["uid"])] = {k: v for k, v in el.items() if k != "uid"}
    return out


def use_new_range(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    raw = look.raw_clip(src["raw_clip"])
    media = look.media(src["media"])
    if raw is None or media is None:
        raise GestureError("the clip's raw clip or media is missing")
    p["source"] = source_snapshot(src["raw_clip"], raw, media)
    p.setdefault("rescale", True)


def add_region(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "region end")
    p.setdefault("region", new_uid())
    if all(k in p for k in ("x", "y", "rx", "ry")):
        p.setdefault("keyframe", new_uid())


def _region_exists(p: Payload, entity: str, e: Entries) -> None:
    if keys.region(entity, p["region"]) not in e:
        raise GestureError(f"unknown spotlight region {p['region']}")


def toggle_region(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, entity)
    cur = e.get(keys.region(entity, p["region"]))
    if cur is None:
        raise GestureError(f"unknown spotlight region {p['region']}")
    p.setdefault("enabled", not cur["enabled"])


def add_rkf(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _region_exists(p, entity, e)
    _check_time(p["time"], src)
    p.setdefault("keyframe", new_uid())
    if "snap" not in p:
        p["snap"] = find_snap_keyframe(region_keyframe_times(e, entity, p["region"]), p["time"], _fps(src),
                                       SNAP_FRAMES)


def apply_track(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "track end")
    p.setdefault("region", new_uid())
    if keys.region(entity, p["region"]) in e:
        raise GestureError(f"spotlight region {p['region']} already exists")
    spot = [{**k, "keyframe": k.get("keyframe") or new_uid()} for k in p["keyframes"]]
    crops = [{**k, "keyframe": k.get("keyframe") or new_uid()} for k in p.get("crop_keyframes", [])]
    for k in spot + crops:
        _check_time(k["time"], src)
    for k in crops:
        _check_box(k, src)
    p["keyframes"] = spot
    if crops:
        p["crop_keyframes"] = crops
        # The new camera path owns its span: crop keyframes there (and within snapping distance
        # of its ends) give way, as a keyframe added next to one updates it.
        reach = SNAP_FRAMES / float(_fps(src)) + _EPS
        lo, hi = crops[0]["time"] - reach, crops[-1]["time"] + reach
        p.setdefault("replace_crop", sorted(uid for uid, v in keys.children(e, keys.prefix(keys.Head.KF, entity))
                                            if lo <= v["time"] <= hi))


def add_text_region(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "text region end")
    p.setdefault("text_region", new_uid())


def text_region_exists(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    _need_clip(e, entity)
    if keys.text_region(entity, p["text_region"]) not in e:
        raise GestureError(f"unknown text region {p['text_region']}")


def add_text_element(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    text_region_exists(p, entity, e, look)
    p.setdefault("text_element", new_uid())


def set_title_card(p: Payload, entity: str, e: Entries, look: Lookups) -> None:
    wc = p.get("working_clip", (e.get("title") or {}).get("working_clip"))
    if wc is not None:
        src = _need_clip(e, wc)
        _check_time(p.get("time", (e.get("title") or {}).get("time", 0.0)), src, "title card frame time")
    elif p.get("background") == TitleBackground.FRAME.value:
        raise GestureError("a frame background needs the working_clip to take the frame from")
