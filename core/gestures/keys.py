"""State keys: the one module that builds and reads the entry paths of a scope's folded state.

A project scope holds entries per working clip, ``<head>/<wc>[/<uid>[/<uid>]]`` (e.g.
``kf/<wc>/<keyframe>``); raw clip, media and game scopes hold one-word entries (``name``,
``start``…). Every other module asks this one for a path, so the format lives in one place (it is
also the wire format of undo patches: changing it is a migration).
"""
from __future__ import annotations

from enum import Enum
from typing import Any, Mapping


class Head(str, Enum):
    """The first segment of a multi-segment entry path."""

    CLIP = "clip"  # the source snapshot a working clip is framed against
    ORDER = "order"  # its fractional sort key in the project
    TRANS = "trans"  # its transition into the next clip
    KF = "kf"  # crop keyframe
    SPLIT = "split"
    SPEED = "speed"  # keyed by segment ("start" or the split that opens it)
    TRIM = "trim"
    ROT = "rot"
    REGION = "region"  # spotlight region
    RKF = "rkf"  # spotlight region keyframe
    RKF_ALIAS = "rkfalias"  # a region keyframe folded into another (legacy snap) -> the survivor
    STYLE = "style"  # spotlight overlay style
    TEXT = "text"  # text region
    TEL = "tel"  # text element of a text region
    RESOLVED = "resolved"  # a conflict the user dealt with: resolved/<loser>/<winner>/<path>


# Heads whose second segment is a working clip uid.
CLIP_HEADS = frozenset(h.value for h in Head if h is not Head.RESOLVED)


def _path(head: Head, *parts: str) -> str:
    return "/".join((head.value, *parts))


def clip(wc: str) -> str:
    return _path(Head.CLIP, wc)


def order(wc: str) -> str:
    return _path(Head.ORDER, wc)


def transition(wc: str) -> str:
    return _path(Head.TRANS, wc)


def trim(wc: str) -> str:
    return _path(Head.TRIM, wc)


def rotation(wc: str) -> str:
    return _path(Head.ROT, wc)


def style(wc: str) -> str:
    return _path(Head.STYLE, wc)


def keyframe(wc: str, kf: str) -> str:
    return _path(Head.KF, wc, kf)


def split(wc: str, uid: str) -> str:
    return _path(Head.SPLIT, wc, uid)


def speed(wc: str, segment: str) -> str:
    return _path(Head.SPEED, wc, segment)


def region(wc: str, rg: str) -> str:
    return _path(Head.REGION, wc, rg)


def region_keyframe(wc: str, rg: str, kf: str) -> str:
    return _path(Head.RKF, wc, rg, kf)


def region_keyframe_alias(wc: str, rg: str, kf: str) -> str:
    return _path(Head.RKF_ALIAS, wc, rg, kf)


def text_region(wc: str, rg: str) -> str:
    return _path(Head.TEXT, wc, rg)


def text_element(wc: str, rg: str, el: str) -> str:
    return _path(Head.TEL, wc, rg, el)


def prefix(head: Head, *parts: str) -> str:
    """The prefix shared by the children of ``parts`` under ``head`` (``kf/<wc>/`` etc.)."""
    return _path(head, *parts) + "/"


def resolution(loser: str, winner: str, path: str) -> str:
    return _path(Head.RESOLVED, loser, winner, path)


def parse_resolution(key: str) -> tuple[str, str, str] | None:
    """(loser, winner, conflict path) of a resolution entry, None for any other entry."""
    head, sep, rest = key.partition("/")
    if head != Head.RESOLVED.value or not sep:
        return None
    parts = rest.split("/", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else None


def head_of(path: str) -> str:
    return path.split("/", 1)[0]


def split_path(path: str) -> list[str]:
    return path.split("/")


def clip_of_path(path: str) -> str | None:
    """The working clip an entry belongs to, None for entries of no clip."""
    head, _, rest = path.partition("/")
    if head in CLIP_HEADS and rest:
        return rest.split("/", 1)[0]
    return None


def children(entries: Mapping[str, Any], parent: str) -> list[tuple[str, Any]]:
    """(last segment, value) of the entries directly under ``parent`` (a :func:`prefix`)."""
    n = len(parent)
    return [(k[n:], v) for k, v in entries.items() if k.startswith(parent) and "/" not in k[n:]]


def clip_entries(entries: Mapping[str, Any], wc: str) -> dict[str, Any]:
    """Only this clip's entries, found in one pass (a project holds many clips)."""
    marker = f"/{wc}"
    n = len(marker)
    out = {}
    for k, v in entries.items():
        i = k.find("/")
        if k[i:i + n] == marker and (len(k) == i + n or k[i + n] == "/"):
            out[k] = v
    return out
