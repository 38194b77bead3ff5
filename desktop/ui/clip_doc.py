"""What the editor reads from a working clip document (``Library.show_project``): the crop at a
time (``core.editmath.crop_at``, as the renderer), the output timeline with speeds and trim, whether
the raw clip changed since it was framed, and crop boxes on the clipboard.
"""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QGuiApplication

from core.editmath import Box, Timeline, crop_at
from core.enums import AspectRatio
from desktop.ui.undo import EditorState


def crop_track(edit: dict[str, Any]) -> list[tuple[float, dict[str, float]]]:
    return [(k["time"], k) for k in sorted(edit["crop_keyframes"], key=lambda k: k["time"])]


def crop_box_at(clip: dict[str, Any], aspect: AspectRatio, t: float) -> Box:
    src, edit = clip["source"], clip["edit"]
    return crop_at(crop_track(edit), t, src["width"], src["height"], aspect, edit["rotation"])


def clip_timeline(clip: dict[str, Any], speed_override: tuple[str, float] | None = None) -> Timeline:
    edit = clip["edit"]
    speeds = {s["segment"]: s["speed"] for s in edit["speeds"]}
    if speed_override is not None:
        speeds[speed_override[0]] = speed_override[1]
    trim = edit["trim"]
    return Timeline(clip["source"]["duration"], [(s["uid"], s["time"]) for s in edit["splits"]], speeds,
                    None if trim is None else (trim["start"], trim["end"]))


def is_outdated(state: EditorState, clip: dict[str, Any]) -> bool:
    """The raw clip's range changed (Annotate) after this working clip was framed."""
    raw = state.raw_clip(clip["raw_clip"])
    if raw is None or raw["deleted"] or raw["boundaries_rev"] == clip["source"]["rev"]:
        return False
    kept = state.library.get_setting(f"ui.keep_range.{clip['uid']}")
    return kept != str(raw["boundaries_rev"])


def unrounded(box: Box) -> dict[str, float]:
    """A crop payload from a box, not rounded: a rounded width plus a rounded x could poke out of
    the frame by a hair."""
    return box.as_dict()


def crop_from_clipboard() -> dict[str, float] | None:
    """A crop box copied by "Copy crop" (here or in another ReelDesk), or None."""
    try:
        data = json.loads(QGuiApplication.clipboard().text() or "null")
        box = data["reeldesk_crop"]
        if all(isinstance(box[k], (int, float)) for k in ("x", "y", "width", "height")):
            return {k: float(box[k]) for k in ("x", "y", "width", "height")}
    except (ValueError, KeyError, TypeError):
        pass
    return None


__all__ = ["clip_timeline", "crop_box_at", "crop_from_clipboard", "crop_track", "is_outdated", "unrounded"]
