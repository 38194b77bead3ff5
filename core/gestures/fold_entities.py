"""Fold handlers for whole entities: media, games, raw clips, projects (their clip list, aspect,
transitions and title card) and the conflict resolutions kept in any scope."""
from __future__ import annotations

from core.editmath.crop import Box, refit_crop
from core.enums import AspectRatio
from core.gestures import keys
from core.gestures.model import Gesture
from core.gestures.schema import TEXT_DEFAULTS, TITLE_DEFAULTS
from core.gestures.fold_overlay import text_value
from core.gestures.state import EntryWriter, Payload, quantise


def media(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("info", dict(p["info"]))
    if "name" in p and "name" not in w.s.entries:
        w.set("name", p["name"])  # first name wins: re-imports on other machines keep it


def game(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("name", p["name"])
    w.set("media", list(p["media"]))


def mark(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("media", p["media"])
    w.set("start", quantise(p["start"]))
    w.set("end", quantise(p["end"]))
    w.set("rating", p.get("rating", 0))
    w.set("tags", list(p.get("tags", [])))
    w.set("notes", p.get("notes", ""))
    w.set("name", p.get("name", ""))
    w.set("game", p.get("game"))
    w.set("rev", 0)
    w.set("deleted", False)


def update_clip(w: EntryWriter, g: Gesture, p: Payload) -> None:
    e = w.s.entries
    if "media" not in e:
        return
    if e.get("deleted"):
        w.edit_of_deleted("deleted")
    start = quantise(p.get("start", e["start"]))
    end = quantise(p.get("end", e["end"]))
    if end <= start:
        return  # a stale range (the other bound moved meanwhile): ignore rather than invert
    if (start, end) != (e["start"], e["end"]):
        w.set("start", start)
        w.set("end", end)
        w.set("rev", int(e.get("rev", 0)) + 1)
    for name in ("rating", "tags", "notes", "name"):
        if name in p:
            w.set(name, p[name])


def delete_clip(w: EntryWriter, g: Gesture, p: Payload) -> None:
    if "media" in w.s.entries:
        w.set("deleted", True)


def create_project(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("name", p["name"])
    w.set("aspect", p.get("aspect", AspectRatio.PORTRAIT.value))
    w.set("deleted", False)


def rename(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("name", p["name"])


def delete_project(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.set("deleted", True)


def set_aspect(w: EntryWriter, g: Gesture, p: Payload) -> None:
    new = AspectRatio(p["aspect"])
    if w.s.entries.get("aspect") == new.value:
        return
    w.set("aspect", new.value)
    # Re-fit every crop keyframe of every clip around its centre (keeps zoom).
    for path in sorted(k for k in w.s.entries if keys.head_of(k) == keys.Head.KF.value):
        wc = keys.clip_of_path(path)
        src = w.s.entries.get(keys.clip(wc)) if wc else None
        if src is None:
            continue
        kf = w.s.entries[path]
        box = refit_crop(Box(kf["x"], kf["y"], kf["width"], kf["height"]), new, src["width"], src["height"])
        w.set(path, {"time": kf["time"], "x": quantise(box.x), "y": quantise(box.y), "width": quantise(box.width),
                     "height": quantise(box.height)})


def add_clip(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = p["working_clip"]
    w.set(keys.clip(wc), dict(p["source"]))
    w.set(keys.order(wc), p["sort_key"])
    w.res.created["working_clip"] = wc


def remove_clip(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.delete(keys.order(p["working_clip"]))


def move_clip(w: EntryWriter, g: Gesture, p: Payload) -> None:
    path = keys.order(p["working_clip"])
    if path in w.s.entries:
        w.set(path, p["sort_key"])
    else:
        w.edit_of_deleted(path)


def set_transition(w: EntryWriter, g: Gesture, p: Payload) -> None:
    wc = p["working_clip"]
    if keys.clip(wc) in w.s.entries:
        w.set(keys.transition(wc), {"type": p["type"], "duration": quantise(p.get("duration", 0.0))})


def set_title_card(w: EntryWriter, g: Gesture, p: Payload) -> None:
    card = {**TITLE_DEFAULTS, **w.s.entries.get("title", {})}
    card.update({k: (quantise(v) if isinstance(v, float) else v) for k, v in p.items() if k != "elements"})
    if "elements" in p:
        card["elements"] = [{**TEXT_DEFAULTS, **text_value(el)} for el in p["elements"]]
    w.set("title", card)


def clear_title_card(w: EntryWriter, g: Gesture, p: Payload) -> None:
    w.delete("title")


def resolve_conflict(w: EntryWriter, g: Gesture, p: Payload) -> None:
    # Kept in the scope's state, so every device (and every refold) marks the same conflict dealt with.
    w.set(keys.resolution(p["loser"], p["winner"], p["path"]), True)
