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
from core.enums import AspectRatio, GestureKind
from core.gestures.fold import SNAP_FRAMES, ScopeState, clip_of_path, region_keyframe_times
from core.gestures.model import GestureError
from core.gestures.sortkey import key_at
from core.gestures.views import clip_order
from core.ids import new_uid

_EPS = 1e-6


@dataclass
class Lookups:
    """Read-only access the normaliser needs beyond the scope's own entries."""

    raw_clip: Callable[[str], Mapping[str, Any] | None]   # uid -> {media, start, end, rev, deleted}
    media: Callable[[str], Mapping[str, Any] | None]      # hash -> {duration, width, height, fps_num, fps_den, rotation}
    version: Callable[[str, int], Mapping[str, Any] | None]  # (wc, n) -> clip doc of that version


def display_size(media: Mapping[str, Any]) -> tuple[int, int]:
    w, h = media["width"], media["height"]
    return (h, w) if media.get("rotation", 0) in (90, 270) else (w, h)


def source_snapshot(raw_uid: str, raw: Mapping[str, Any], media: Mapping[str, Any]) -> dict[str, Any]:
    w, h = display_size(media)
    return {"raw_clip": raw_uid, "media": raw["media"], "start": round(raw["start"], 6),
            "end": round(raw["end"], 6), "width": w, "height": h, "fps_num": media["fps_num"],
            "fps_den": media["fps_den"], "rev": raw["rev"]}


def normalize(kind: GestureKind, entity: str, payload: dict[str, Any], state: ScopeState,
              look: Lookups) -> dict[str, Any]:
    """Return the payload to log for a local gesture on ``entity`` in a scope in ``state``."""
    p = dict(payload)
    e = state.entries
    fn = _NORMALIZERS.get(kind)
    if fn is not None:
        fn(p, entity, e, look)
    return p


def _need_clip(e: Mapping[str, Any], wc: str) -> dict[str, Any]:
    src = e.get(f"clip/{wc}")
    if src is None or f"order/{wc}" not in e:
        raise GestureError(f"working clip {wc} is not in this project")
    return src


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


def _create_project(p, entity, e, look) -> None:
    p.setdefault("aspect", AspectRatio.PORTRAIT.value)


def _mark(p, entity, e, look) -> None:
    media = look.media(p["media"])
    if media is None:
        raise GestureError(f"unknown media {p['media']}")
    if p["end"] > media["duration"] + _EPS:
        raise GestureError(f"end {p['end']:g} s is beyond the media's duration ({media['duration']:g} s)")


def _update_clip(p, entity, e, look) -> None:
    if "media" not in e:
        raise GestureError(f"unknown clip {entity}")
    start, end = p.get("start", e["start"]), p.get("end", e["end"])
    if end <= start:
        raise GestureError("end must be after start")
    media = look.media(e["media"])
    if media is not None and end > media["duration"] + _EPS:
        raise GestureError(f"end {end:g} s is beyond the media's duration ({media['duration']:g} s)")


def _add_clip(p, entity, e, look) -> None:
    raw = look.raw_clip(p["raw_clip"])
    if raw is None or raw.get("deleted"):
        raise GestureError(f"unknown clip {p['raw_clip']}")
    media = look.media(raw["media"])
    if media is None:
        raise GestureError(f"the media of clip {p['raw_clip']} is not in the library")
    p.setdefault("working_clip", new_uid())
    if f"clip/{p['working_clip']}" in e:
        raise GestureError(f"working clip {p['working_clip']} already exists")
    keys = [e[f"order/{wc}"] for wc in clip_order(e)]
    p["sort_key"] = key_at(keys, p.pop("position", None))
    p["source"] = source_snapshot(p["raw_clip"], raw, media)


def _remove_clip(p, entity, e, look) -> None:
    _need_clip(e, p["working_clip"])


def _move_clip(p, entity, e, look) -> None:
    wc = p["working_clip"]
    _need_clip(e, wc)
    others = [e[f"order/{c}"] for c in clip_order(e) if c != wc]
    p["sort_key"] = key_at(others, p.pop("position", None))


def _set_transition(p, entity, e, look) -> None:
    _need_clip(e, p["working_clip"])


def _add_kf(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _check_time(p["time"], src)
    _check_box(p, src)
    p.setdefault("keyframe", new_uid())
    if "snap" not in p:
        prefix = f"kf/{entity}/"
        existing = [(k[len(prefix):], v["time"]) for k, v in e.items() if k.startswith(prefix)]
        p["snap"] = find_snap_keyframe(existing, p["time"], _fps(src), SNAP_FRAMES)


def _update_kf(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    cur = e.get(f"kf/{entity}/{p['keyframe']}")
    if cur is None:
        return  # editing an absent keyframe is a recorded no-op, not an error
    if "time" in p:
        _check_time(p["time"], src)
    _check_box({**cur, **p}, src)


def _split(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    if p["time"] >= src["end"] - src["start"] - _EPS:
        raise GestureError(f"split time {p['time']:g} s must be inside the clip (0, {src['end'] - src['start']:g})")
    p.setdefault("split", new_uid())
    p["inherit"] = segment_key_at(_splits(e, entity), p["time"])


def _splits(e: Mapping[str, Any], wc: str) -> list[tuple[str, float]]:
    prefix = f"split/{wc}/"
    return [(k[len(prefix):], v) for k, v in e.items() if k.startswith(prefix)]


def _remove_split(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    if "split" in p:
        return
    tol = 0.5 / float(_fps(src))  # half a frame: the split drawn at that frame
    near = [(abs(t - p["time"]), uid) for uid, t in _splits(e, entity) if abs(t - p["time"]) <= tol]
    p["split"] = min(near)[1] if near else None


def _set_speed(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    if "segment" not in p:
        _check_time(p["time"], src)
        p["segment"] = segment_key_at(_splits(e, entity), p.pop("time"))
    else:
        p.pop("time", None)


def _set_trim(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "trim end")


def _any_clip(p, entity, e, look) -> None:
    _need_clip(e, entity)


def _restore_version(p, entity, e, look) -> None:
    _need_clip(e, entity)
    doc = look.version(entity, p["version"])
    if doc is None:
        raise GestureError(f"working clip {entity} has no version {p['version']}")
    target = entries_of_clip_doc(entity, doc)
    current = {k: v for k, v in e.items() if clip_of_path(k) == entity and k.split("/")[0] not in ("order", "trans")}
    patch: dict[str, Any] = {k: None for k in current if k not in target}
    patch.update({k: v for k, v in target.items() if current.get(k) != v})
    p["patch"] = patch


def entries_of_clip_doc(wc: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of views.clip_doc (for the entries a version holds)."""
    out: dict[str, Any] = {}
    src = {k: v for k, v in doc["source"].items() if k != "duration"}
    out[f"clip/{wc}"] = src
    ed = doc["edit"]
    for kf in ed["crop_keyframes"]:
        out[f"kf/{wc}/{kf['uid']}"] = {k: kf[k] for k in ("time", "x", "y", "width", "height")}
    for s in ed["splits"]:
        out[f"split/{wc}/{s['uid']}"] = s["time"]
    for s in ed["speeds"]:
        if s["speed"] != 1.0:
            out[f"speed/{wc}/{s['segment']}"] = s["speed"]
    if ed["trim"] is not None:
        out[f"trim/{wc}"] = ed["trim"]
    if ed["rotation"]:
        out[f"rot/{wc}"] = ed["rotation"]
    for r in ed["regions"]:
        out[f"region/{wc}/{r['uid']}"] = {"start": r["start"], "end": r["end"], "enabled": r["enabled"]}
        for k in r["keyframes"]:
            out[f"rkf/{wc}/{r['uid']}/{k['uid']}"] = {x: k[x] for x in ("time", "x", "y", "rx", "ry")}
    for r in ed.get("text_regions", []):  # versions written before text overlays have none
        out[f"text/{wc}/{r['uid']}"] = {"start": r["start"], "end": r["end"]}
        for el in r["elements"]:
            out[f"tel/{wc}/{r['uid']}/{el['uid']}"] = {k: v for k, v in el.items() if k != "uid"}
    return out


def _use_new_range(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    raw = look.raw_clip(src["raw_clip"])
    media = look.media(src["media"])
    if raw is None or media is None:
        raise GestureError("the clip's raw clip or media is missing")
    p["source"] = source_snapshot(src["raw_clip"], raw, media)
    p.setdefault("rescale", True)


def _add_region(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "region end")
    p.setdefault("region", new_uid())
    if all(k in p for k in ("x", "y", "rx", "ry")):
        p.setdefault("keyframe", new_uid())


def _region_exists(p, entity, e) -> None:
    if f"region/{entity}/{p['region']}" not in e:
        raise GestureError(f"unknown spotlight region {p['region']}")


def _toggle_region(p, entity, e, look) -> None:
    _need_clip(e, entity)
    cur = e.get(f"region/{entity}/{p['region']}")
    if cur is None:
        raise GestureError(f"unknown spotlight region {p['region']}")
    p.setdefault("enabled", not cur["enabled"])


def _add_rkf(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _region_exists(p, entity, e)
    _check_time(p["time"], src)
    p.setdefault("keyframe", new_uid())
    if "snap" not in p:
        p["snap"] = find_snap_keyframe(region_keyframe_times(e, entity, p["region"]), p["time"], _fps(src),
                                       SNAP_FRAMES)


def _apply_track(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "track end")
    p.setdefault("region", new_uid())
    if f"region/{entity}/{p['region']}" in e:
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
        prefix = f"kf/{entity}/"
        p.setdefault("replace_crop", sorted(k[len(prefix):] for k, v in e.items()
                                            if k.startswith(prefix) and lo <= v["time"] <= hi))


def _add_text_region(p, entity, e, look) -> None:
    src = _need_clip(e, entity)
    _check_time(p["end"], src, "text region end")
    p.setdefault("text_region", new_uid())


def _text_region_exists(p, entity, e, look) -> None:
    _need_clip(e, entity)
    if f"text/{entity}/{p['text_region']}" not in e:
        raise GestureError(f"unknown text region {p['text_region']}")


def _add_text_element(p, entity, e, look) -> None:
    _text_region_exists(p, entity, e, look)
    p.setdefault("text_element", new_uid())


def _set_title_card(p, entity, e, look) -> None:
    wc = p.get("working_clip", (e.get("title") or {}).get("working_clip"))
    if wc is not None:
        src = _need_clip(e, wc)
        _check_time(p.get("time", (e.get("title") or {}).get("time", 0.0)), src, "title card frame time")
    elif p.get("background") == "frame":
        raise GestureError("a frame background needs the working_clip to take the frame from")


_NORMALIZERS: dict[GestureKind, Callable[..., None]] = {
    GestureKind.CREATE_PROJECT: _create_project,
    GestureKind.MARK_CLIP: _mark,
    GestureKind.UPDATE_CLIP: _update_clip,
    GestureKind.ADD_CLIP: _add_clip,
    GestureKind.REMOVE_CLIP: _remove_clip,
    GestureKind.MOVE_CLIP: _move_clip,
    GestureKind.SET_TRANSITION: _set_transition,
    GestureKind.ADD_CROP_KEYFRAME: _add_kf,
    GestureKind.MOVE_CROP_KEYFRAME: _update_kf,
    GestureKind.UPDATE_CROP_KEYFRAME: _update_kf,
    GestureKind.DELETE_CROP_KEYFRAME: _any_clip,
    GestureKind.SPLIT: _split,
    GestureKind.REMOVE_SPLIT: _remove_split,
    GestureKind.SET_SEGMENT_SPEED: _set_speed,
    GestureKind.SET_TRIM: _set_trim,
    GestureKind.CLEAR_TRIM: _any_clip,
    GestureKind.SET_ROTATION: _any_clip,
    GestureKind.RESTORE_VERSION: _restore_version,
    GestureKind.USE_NEW_RANGE: _use_new_range,
    GestureKind.ADD_REGION: _add_region,
    GestureKind.UPDATE_REGION: _any_clip,
    GestureKind.DELETE_REGION: _any_clip,
    GestureKind.TOGGLE_REGION: _toggle_region,
    GestureKind.ADD_REGION_KEYFRAME: _add_rkf,
    GestureKind.UPDATE_REGION_KEYFRAME: _any_clip,
    GestureKind.DELETE_REGION_KEYFRAME: _any_clip,
    GestureKind.SET_OVERLAY_STYLE: _any_clip,
    GestureKind.APPLY_TRACK: _apply_track,
    GestureKind.ADD_TEXT_REGION: _add_text_region,
    GestureKind.UPDATE_TEXT_REGION: _any_clip,
    GestureKind.DELETE_TEXT_REGION: _any_clip,
    GestureKind.ADD_TEXT_ELEMENT: _add_text_element,
    GestureKind.UPDATE_TEXT_ELEMENT: _any_clip,
    GestureKind.DELETE_TEXT_ELEMENT: _any_clip,
    GestureKind.SET_TITLE_CARD: _set_title_card,
}
