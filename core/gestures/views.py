"""Canonical documents built from folded entries: a working clip's version and a project's show.

Everything here is sorted and rounded the same way on every machine, so the same set of gestures
gives byte-identical JSON anywhere.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from core.editmath.segments import FIRST_SEGMENT, Timeline, reel_starts, transition_overlap
from core.editmath.spotlight import DEFAULT_OVERLAY_STYLE
from core.enums import AspectRatio, TransitionType
from core.gestures import keys

H = keys.Head

DEFAULT_TRANSITION = {"type": TransitionType.CUT.value, "duration": 0.0}


def clip_doc(entries: Mapping[str, Any], wc: str) -> dict[str, Any]:
    """The full versioned state of one working clip: what a version row stores."""
    entries = keys.clip_entries(entries, wc)
    src = dict(entries[keys.clip(wc)])
    duration = round(src["end"] - src["start"], 6)
    kfs = sorted(({"uid": u, **v} for u, v in keys.children(entries, keys.prefix(H.KF, wc))),
                 key=lambda k: (k["time"], k["uid"]))
    splits = sorted(({"uid": u, "time": t} for u, t in keys.children(entries, keys.prefix(H.SPLIT, wc))),
                    key=lambda s: (s["time"], s["uid"]))
    speeds = dict(keys.children(entries, keys.prefix(H.SPEED, wc)))
    trim = entries.get(keys.trim(wc))
    timeline = Timeline(duration, [(s["uid"], s["time"]) for s in splits], speeds,
                        None if trim is None else (trim["start"], trim["end"]))
    # One entry per segment of the untrimmed clip, in order, so a reader sees every speed.
    full = Timeline(duration, [(s["uid"], s["time"]) for s in splits], speeds, None)
    seg_speeds = [{"segment": s.key, "start": round(s.src_start, 6), "end": round(s.src_end, 6),
                   "speed": s.speed} for s in full.segments]
    regions = []
    for uid, reg in keys.children(entries, keys.prefix(H.REGION, wc)):
        rkfs = sorted(({"uid": k, **v} for k, v in keys.children(entries, keys.prefix(H.RKF, wc, uid))),
                      key=lambda k: (k["time"], k["uid"]))
        regions.append({"uid": uid, **reg, "keyframes": rkfs})
    regions.sort(key=lambda r: (r["start"], r["uid"]))
    text_regions = []
    for uid, reg in keys.children(entries, keys.prefix(H.TEXT, wc)):
        # uuid7 uids sort by creation: later elements are drawn on top
        elements = sorted(({"uid": k, **v} for k, v in keys.children(entries, keys.prefix(H.TEL, wc, uid))),
                          key=lambda x: x["uid"])
        text_regions.append({"uid": uid, **reg, "elements": elements})
    text_regions.sort(key=lambda r: (r["start"], r["uid"]))
    style = {**DEFAULT_OVERLAY_STYLE, **entries.get(keys.style(wc), {})}
    return {
        "source": {**src, "duration": duration},
        "edit": {
            "crop_keyframes": kfs,
            "splits": splits,
            "speeds": seg_speeds,
            "trim": trim,
            "rotation": entries.get(keys.rotation(wc), 0.0),
            "regions": regions,
            "overlay_style": style,
            "text_regions": text_regions,
        },
        "output_duration": round(timeline.output_duration, 6),
    }


def clip_order(entries: Mapping[str, Any]) -> list[str]:
    """Working clips in the project, by fractional sort key (uid breaks ties).

    A clip needs both its place (order/) and its source (clip/): concurrent undos can leave one
    without the other, and every device must then agree that the clip is not in the reel.
    """
    return [wc for wc, key in sorted(keys.children(entries, keys.prefix(H.ORDER)), key=lambda x: (x[1], x[0]))
            if keys.clip(wc) in entries]


def project_doc(project_uid: str, entries: Mapping[str, Any],
                clip_docs: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """``reeldesk show``: the project's latest state, clips in project order."""
    aspect = entries.get("aspect", AspectRatio.PORTRAIT.value)
    clips = []
    for wc in clip_order(entries):
        doc = clip_docs.get(wc)
        if doc is None:
            continue
        clips.append({
            "uid": wc,
            "raw_clip": doc["source"]["raw_clip"],
            "media": doc["source"]["media"],
            "source": doc["source"],
            "edit": doc["edit"],
            "transition": entries.get(keys.transition(wc), DEFAULT_TRANSITION),
            "output_duration": doc["output_duration"],
        })
    return {
        "project": {
            "uid": project_uid,
            "name": entries.get("name", ""),
            "aspect": aspect,
            "deleted": bool(entries.get("deleted", "name" not in entries)),
        },
        "clips": clips,
        "title_card": entries.get("title"),
        # Dissolves overlap their neighbours: the same sum the renderer lays clips out with; a
        # title card plays before the first clip.
        "output_duration": round(reel_starts(
            [c["output_duration"] for c in clips],
            [transition_overlap(c["transition"]["type"], c["transition"]["duration"]) for c in clips],
        )[1] + (entries["title"]["duration"] if entries.get("title") else 0.0), 6),
    }


def source_fps(src: Mapping[str, Any]) -> Fraction:
    return Fraction(src["fps_num"], src["fps_den"])


__all__ = ["FIRST_SEGMENT", "clip_doc", "clip_order", "project_doc", "source_fps"]
