"""The gesture registry: one entry per gesture kind, holding everything the kind is.

An entry names the kind's payload fields, the scope it folds in, how its target is found (the
entity rule), the normaliser that resolves its payload on the device that makes it, the fold
handler every device runs, and the words undo and history show. A kind without a complete entry
is refused at import (see ``_check_complete``); looking up an unregistered kind raises.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping

from core.enums import (
    AspectRatio, GestureKind, OverlayShape, TitleBackground, TransitionType,
)
from core.gestures import fold_entities as E
from core.gestures import fold_framing as F
from core.gestures import fold_overlay as O
from core.gestures import normalize as N
from core.gestures.model import GestureError, ScopeKind, canonical_json
from core.gestures.normalize import Lookups
from core.gestures.patch_rules import check_entry
from core.gestures.schema import (
    _TEXT, MAX_PATCH_PAYLOAD_BYTES, MAX_PAYLOAD_BYTES, MAX_ROTATION, MAX_SPEED, MAX_TIME, MAX_TRANSITION, MIN_SPEED,
    PX, SIZE, TEXT_FIELDS, TEXT_STYLE_FIELDS, T, Field, _bool, _color, _elements, _enum, _hash, _int, _media_info,
    _media_list, _num, _patch, _segment, _sort_key, _source, _tags, _text, _track_keyframes, _uid, _uid_list,
    _uid_or_none,
)
from core.gestures.state import Handler, Payload, ScopeState

# A normaliser completes a local gesture's payload from the state it was made in (in place) and
# raises GestureError for input the state makes invalid: (payload, target, scope entries, lookups).
Normalizer = Callable[[Payload, str, Mapping[str, Any], Lookups], None]


class EntityRule(str, Enum):
    """What a gesture's target is, and so how its scope is found."""

    NEW = "new"  # the gesture creates its entity (the library mints the uid when none is given)
    HASH = "hash"  # a media hash
    RAW_CLIP = "raw_clip"
    PROJECT = "project"
    WORKING_CLIP = "wc"  # folds in the scope of the project holding the working clip
    ANY = "any"  # a revert: the scope of the gesture it undoes
    SCOPE = "scope"  # the target is a scope uid of any kind (conflict resolution)


@dataclass(frozen=True)
class GestureSpec:
    kind: GestureKind
    scope: ScopeKind  # for ANY and SCOPE: the scope kind when nothing else tells
    entity: EntityRule
    fields: Mapping[str, Field]
    fold: Handler
    normalize: Normalizer | None  # None: the payload is logged as given
    label: str  # what the user did, in words (undo menu, history)
    at_least_one: tuple[str, ...] = ()  # the payload must name one of these fields
    ordered: bool = False  # end must be after start
    large: bool = False  # may carry a patch or a track: the larger size limit applies


def _spec(kind: GestureKind, scope: ScopeKind, entity: EntityRule, fields: Mapping[str, Field], *,
          fold: Handler, normalize: Normalizer | None, label: str, at_least_one: tuple[str, ...] = (),
          ordered: bool = False, large: bool = False) -> GestureSpec:
    return GestureSpec(kind, scope, entity, fields, fold, normalize, label, at_least_one, ordered, large)


def _entry_path(v: Any) -> str | None:
    return None if isinstance(v, str) and check_entry(v, None) is None else "must be a state entry path"


K, S, R = GestureKind, ScopeKind, EntityRule

REGISTRY: dict[GestureKind, GestureSpec] = {s.kind: s for s in (
    _spec(K.IMPORT_MEDIA, S.MEDIA, R.HASH, {
        "info": Field(_media_info, required=True), "name": Field(_text(512))},
          fold=E.media, normalize=None, label="Import media"),
    _spec(K.CREATE_GAME, S.GAME, R.NEW, {
        "name": Field(_text(200, min_len=1), required=True), "media": Field(_media_list, required=True)},
          fold=E.game, normalize=None, label="Create game"),
    _spec(K.MARK_CLIP, S.RAW_CLIP, R.NEW, {
        "media": Field(_hash, required=True), "start": Field(T, required=True), "end": Field(T, required=True),
        "rating": Field(_int(0, 5)), "tags": Field(_tags), "notes": Field(_text(10_000)),
        "name": Field(_text(200)), "game": Field(_uid_or_none)},
          fold=E.mark, normalize=N.mark, label="Mark clip", ordered=True),
    _spec(K.UPDATE_CLIP, S.RAW_CLIP, R.RAW_CLIP, {
        "start": Field(T), "end": Field(T), "rating": Field(_int(0, 5)), "tags": Field(_tags),
        "notes": Field(_text(10_000)), "name": Field(_text(200))},
          fold=E.update_clip, normalize=N.update_clip, label="Edit clip",
          at_least_one=("start", "end", "rating", "tags", "notes", "name")),
    _spec(K.DELETE_CLIP, S.RAW_CLIP, R.RAW_CLIP, {},
          fold=E.delete_clip, normalize=None, label="Delete clip"),
    _spec(K.CREATE_PROJECT, S.PROJECT, R.NEW, {
        "name": Field(_text(200, min_len=1), required=True), "aspect": Field(_enum(AspectRatio), normalized=True)},
          fold=E.create_project, normalize=N.create_project, label="Create project"),
    _spec(K.RENAME_PROJECT, S.PROJECT, R.PROJECT, {"name": Field(_text(200, min_len=1), required=True)},
          fold=E.rename, normalize=None, label="Rename project"),
    _spec(K.SET_ASPECT_RATIO, S.PROJECT, R.PROJECT, {"aspect": Field(_enum(AspectRatio), required=True)},
          fold=E.set_aspect, normalize=None, label="Change aspect ratio"),
    _spec(K.DELETE_PROJECT, S.PROJECT, R.PROJECT, {},
          fold=E.delete_project, normalize=None, label="Delete project"),
    _spec(K.ADD_CLIP, S.PROJECT, R.PROJECT, {
        "raw_clip": Field(_uid, required=True), "working_clip": Field(_uid, normalized=True),
        "position": Field(_int(0, 100_000)), "sort_key": Field(_sort_key, normalized=True),
        "source": Field(_source, normalized=True)},
          fold=E.add_clip, normalize=N.add_clip, label="Add clip to project"),
    _spec(K.REMOVE_CLIP, S.PROJECT, R.PROJECT, {"working_clip": Field(_uid, required=True)},
          fold=E.remove_clip, normalize=N.remove_clip, label="Remove clip from project"),
    _spec(K.MOVE_CLIP, S.PROJECT, R.PROJECT, {
        "working_clip": Field(_uid, required=True), "position": Field(_int(0, 100_000)),
        "sort_key": Field(_sort_key, normalized=True)},
          fold=E.move_clip, normalize=N.move_clip, label="Reorder clips"),
    _spec(K.SET_TRANSITION, S.PROJECT, R.PROJECT, {
        "working_clip": Field(_uid, required=True), "type": Field(_enum(TransitionType), required=True),
        "duration": Field(_num(0.0, MAX_TRANSITION))},
          fold=E.set_transition, normalize=N.set_transition, label="Set transition"),
    _spec(K.ADD_CROP_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "time": Field(T, required=True), "x": Field(PX, required=True), "y": Field(PX, required=True),
        "width": Field(SIZE, required=True), "height": Field(SIZE, required=True),
        "keyframe": Field(_uid, normalized=True), "snap": Field(_uid_or_none)},
          fold=F.add_kf, normalize=N.add_kf, label="Add crop keyframe"),
    _spec(K.MOVE_CROP_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "keyframe": Field(_uid, required=True), "time": Field(T, required=True)},
          fold=F.update_kf, normalize=N.update_kf, label="Retime crop keyframe"),
    _spec(K.UPDATE_CROP_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "keyframe": Field(_uid, required=True), "time": Field(T), "x": Field(PX), "y": Field(PX),
        "width": Field(SIZE), "height": Field(SIZE)},
          fold=F.update_kf, normalize=N.update_kf, label="Move crop keyframe",
          at_least_one=("time", "x", "y", "width", "height")),
    _spec(K.DELETE_CROP_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {"keyframe": Field(_uid, required=True)},
          fold=F.delete_kf, normalize=N.any_clip, label="Delete crop keyframe"),
    _spec(K.SPLIT, S.PROJECT, R.WORKING_CLIP, {
        "time": Field(_num(0.0, MAX_TIME, lo_open=True), required=True), "split": Field(_uid, normalized=True),
        "inherit": Field(_segment)},
          fold=F.split, normalize=N.split, label="Split"),
    _spec(K.REMOVE_SPLIT, S.PROJECT, R.WORKING_CLIP, {"time": Field(T), "split": Field(_uid_or_none, normalized=True)},
          fold=F.remove_split, normalize=N.remove_split, label="Remove split", at_least_one=("time", "split")),
    _spec(K.SET_SEGMENT_SPEED, S.PROJECT, R.WORKING_CLIP, {
        "time": Field(T), "speed": Field(_num(MIN_SPEED, MAX_SPEED), required=True),
        "segment": Field(_segment, normalized=True)},
          fold=F.set_speed, normalize=N.set_speed, label="Set speed", at_least_one=("time", "segment")),
    _spec(K.SET_TRIM, S.PROJECT, R.WORKING_CLIP, {"start": Field(T, required=True), "end": Field(T, required=True)},
          fold=F.set_trim, normalize=N.set_trim, label="Trim", ordered=True),
    _spec(K.CLEAR_TRIM, S.PROJECT, R.WORKING_CLIP, {},
          fold=F.clear_trim, normalize=N.any_clip, label="Clear trim"),
    _spec(K.SET_ROTATION, S.PROJECT, R.WORKING_CLIP, {
        "degrees": Field(_num(-MAX_ROTATION, MAX_ROTATION), required=True)},
          fold=F.set_rotation, normalize=N.any_clip, label="Rotate"),
    _spec(K.RESTORE_VERSION, S.PROJECT, R.WORKING_CLIP, {
        "version": Field(_int(1, 10**9), required=True), "patch": Field(_patch, normalized=True)},
          fold=F.restore_version, normalize=N.restore_version, label="Restore version", large=True),
    _spec(K.USE_NEW_RANGE, S.PROJECT, R.WORKING_CLIP, {
        "rescale": Field(_bool), "source": Field(_source, normalized=True)},
          fold=F.use_new_range, normalize=N.use_new_range, label="Use new range"),
    _spec(K.ADD_REGION, S.PROJECT, R.WORKING_CLIP, {
        "start": Field(T, required=True), "end": Field(T, required=True), "region": Field(_uid, normalized=True),
        "x": Field(PX), "y": Field(PX), "rx": Field(SIZE), "ry": Field(SIZE), "keyframe": Field(_uid)},
          fold=O.add_region, normalize=N.add_region, label="Add spotlight", ordered=True),
    _spec(K.UPDATE_REGION, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, required=True), "start": Field(T), "end": Field(T)},
          fold=O.update_region, normalize=N.any_clip, label="Adjust spotlight", at_least_one=("start", "end")),
    _spec(K.DELETE_REGION, S.PROJECT, R.WORKING_CLIP, {"region": Field(_uid, required=True)},
          fold=O.delete_region, normalize=N.any_clip, label="Delete spotlight"),
    _spec(K.TOGGLE_REGION, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, required=True), "enabled": Field(_bool, normalized=True)},
          fold=O.toggle_region, normalize=N.toggle_region, label="Toggle spotlight"),
    _spec(K.ADD_REGION_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, required=True), "time": Field(T, required=True), "x": Field(PX, required=True),
        "y": Field(PX, required=True), "rx": Field(SIZE, required=True), "ry": Field(SIZE, required=True),
        "keyframe": Field(_uid, normalized=True), "snap": Field(_uid_or_none)},
          fold=O.add_rkf, normalize=N.add_rkf, label="Add spotlight keyframe"),
    _spec(K.UPDATE_REGION_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, required=True), "keyframe": Field(_uid, required=True), "time": Field(T),
        "x": Field(PX), "y": Field(PX), "rx": Field(SIZE), "ry": Field(SIZE)},
          fold=O.update_rkf, normalize=N.any_clip, label="Move spotlight", at_least_one=("time", "x", "y", "rx", "ry")),
    _spec(K.DELETE_REGION_KEYFRAME, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, required=True), "keyframe": Field(_uid, required=True)},
          fold=O.delete_rkf, normalize=N.any_clip, label="Delete spotlight keyframe"),
    _spec(K.SET_OVERLAY_STYLE, S.PROJECT, R.WORKING_CLIP, {
        "color": Field(_color), "stroke": Field(_num(0.0, 50.0)), "fill_opacity": Field(_num(0.0, 1.0)),
        "dim": Field(_num(0.0, 1.0)), "shape": Field(_enum(OverlayShape)), "fade_out": Field(_num(0.0, 5.0))},
          fold=O.set_style, normalize=N.any_clip, label="Spotlight style",
          at_least_one=("color", "stroke", "fill_opacity", "dim", "shape", "fade_out")),
    _spec(K.APPLY_TRACK, S.PROJECT, R.WORKING_CLIP, {
        "region": Field(_uid, normalized=True), "start": Field(T, required=True), "end": Field(T, required=True),
        "keyframes": Field(_track_keyframes(("x", "y", "rx", "ry")), required=True),
        "crop_keyframes": Field(_track_keyframes(("x", "y", "width", "height"))),
        "replace_crop": Field(_uid_list)},
          fold=O.apply_track, normalize=N.apply_track, label="Track player", ordered=True, large=True),
    _spec(K.ADD_TEXT_REGION, S.PROJECT, R.WORKING_CLIP, {
        "start": Field(T, required=True), "end": Field(T, required=True),
        "text_region": Field(_uid, normalized=True)},
          fold=O.add_text_region, normalize=N.add_text_region, label="Add text", ordered=True),
    _spec(K.UPDATE_TEXT_REGION, S.PROJECT, R.WORKING_CLIP, {
        "text_region": Field(_uid, required=True), "start": Field(T), "end": Field(T)},
          fold=O.update_text_region, normalize=N.any_clip, label="Adjust text timing", at_least_one=("start", "end")),
    _spec(K.DELETE_TEXT_REGION, S.PROJECT, R.WORKING_CLIP, {"text_region": Field(_uid, required=True)},
          fold=O.delete_text_region, normalize=N.any_clip, label="Delete text"),
    _spec(K.ADD_TEXT_ELEMENT, S.PROJECT, R.WORKING_CLIP, {
        "text_region": Field(_uid, required=True), "text_element": Field(_uid, normalized=True),
        "text": Field(_TEXT.check, required=True), **TEXT_STYLE_FIELDS},
          fold=O.add_text_element, normalize=N.add_text_element, label="Add text element"),
    _spec(K.UPDATE_TEXT_ELEMENT, S.PROJECT, R.WORKING_CLIP, {
        "text_region": Field(_uid, required=True), "text_element": Field(_uid, required=True),
        "text": _TEXT, **TEXT_STYLE_FIELDS},
          fold=O.update_text_element, normalize=N.any_clip, label="Edit text", at_least_one=TEXT_FIELDS),
    _spec(K.DELETE_TEXT_ELEMENT, S.PROJECT, R.WORKING_CLIP, {
        "text_region": Field(_uid, required=True), "text_element": Field(_uid, required=True)},
          fold=O.delete_text_element, normalize=N.any_clip, label="Delete text element"),
    _spec(K.SET_TITLE_CARD, S.PROJECT, R.PROJECT, {
        "duration": Field(_num(0.5, 10.0)), "background": Field(_enum(TitleBackground)), "color": Field(_color),
        "working_clip": Field(_uid_or_none), "time": Field(T), "blur": Field(_num(0.0, 0.1)),
        "dim": Field(_num(0.0, 1.0)), "elements": Field(_elements)},
          fold=E.set_title_card, normalize=N.set_title_card, label="Title card",
          at_least_one=("duration", "background", "color", "working_clip", "time", "blur", "dim", "elements")),
    _spec(K.CLEAR_TITLE_CARD, S.PROJECT, R.PROJECT, {},
          fold=E.clear_title_card, normalize=None, label="Remove title card"),
    _spec(K.REVERT, S.PROJECT, R.ANY, {"patch": Field(_patch, required=True)},
          fold=F.revert, normalize=None, label="Revert", large=True),
    _spec(K.RESOLVE_CONFLICT, S.PROJECT, R.SCOPE, {
        "loser": Field(_uid, required=True), "winner": Field(_uid, required=True),
        "path": Field(_entry_path, required=True)},
          fold=E.resolve_conflict, normalize=None, label="Dismiss conflict"),
)}


def _check_complete() -> None:
    missing = [k.value for k in GestureKind if k not in REGISTRY]
    if missing:
        raise RuntimeError(f"gesture kind(s) without a registry entry: {', '.join(missing)}")


_check_complete()


def spec(kind: GestureKind) -> GestureSpec:
    """The registry entry of ``kind``; an unregistered kind is an error, never a silent no-op."""
    found = REGISTRY.get(kind)
    if found is None:
        raise GestureError(f"no gesture kind {getattr(kind, 'value', kind)!r} is registered")
    return found


def validate_payload(kind: GestureKind, payload: Mapping[str, Any], *, normalized: bool) -> None:
    """Raise GestureError with a one-line reason when the payload is malformed."""
    entry = spec(kind)
    try:
        size = len(canonical_json(payload).encode())
    except (TypeError, ValueError):
        raise GestureError(f"{kind.value}: payload must be plain JSON without NaN or Infinity") from None
    limit = MAX_PATCH_PAYLOAD_BYTES if entry.large else MAX_PAYLOAD_BYTES
    if size > limit:
        raise GestureError(f"{kind.value}: payload is too large ({size} bytes, limit {limit})")
    unknown = set(payload) - set(entry.fields)
    if unknown:
        raise GestureError(f"{kind.value}: unknown payload field(s): {', '.join(sorted(unknown))}")
    for name, field in entry.fields.items():
        if name not in payload:
            if field.required or (normalized and field.normalized):
                raise GestureError(f"{kind.value}: payload lacks {name!r}")
            continue
        err = field.check(payload[name])
        if err:
            raise GestureError(f"{kind.value}: {name} {err}")
    if entry.at_least_one and not any(k in payload for k in entry.at_least_one):
        raise GestureError(f"{kind.value}: payload needs one of {', '.join(entry.at_least_one)}")
    if entry.ordered and payload["end"] <= payload["start"]:
        raise GestureError(f"{kind.value}: end must be after start")


def normalize(kind: GestureKind, entity: str, payload: Mapping[str, Any], state: ScopeState,
              look: Lookups) -> dict[str, Any]:
    """Return the payload to log for a local gesture on ``entity`` in a scope in ``state``."""
    p = dict(payload)
    fn = spec(kind).normalize
    if fn is not None:
        fn(p, entity, state.entries, look)
    return p


def entity_rule(kind: GestureKind) -> EntityRule:
    return spec(kind).entity


def scope_kind_of(kind: GestureKind) -> ScopeKind:
    return spec(kind).scope


def label(kind: GestureKind, payload: Mapping[str, Any] | None = None) -> str:
    """What the user did, in words. An add that landed within a few frames of a keyframe changed
    that keyframe (the library snaps it): that reads as a move, as the user saw it."""
    if kind is GestureKind.ADD_CROP_KEYFRAME and payload and payload.get("snap"):
        return spec(GestureKind.UPDATE_CROP_KEYFRAME).label
    return spec(kind).label
