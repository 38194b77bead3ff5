"""What the timeline shows, as plain data: its mode, lanes, region bars and marked media clips.

Built from a clip document (``set_clip``) or a game's marked clips (``set_media``); painting and
interaction read these, nothing here draws or handles input.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

RULER_H = 30.0
THUMBS_H = 54.0
WAVE_H = 40.0
KEYS_H = 22.0
REGION_LANE_H = 18.0
CLIP_LANE_H = 24.0
MAX_CLIP_LANES = 4


class TimelineMode(str, Enum):
    EMPTY = "empty"
    CLIP = "clip"
    MEDIA = "media"


def format_speed(speed: float) -> str:
    return f"{speed:g}×"


@dataclass(slots=True)
class Lane:
    name: str
    top: float
    height: float
    label: str = ""

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def mid(self) -> float:
        return self.top + self.height / 2


@dataclass(slots=True)
class RegionBar:
    uid: str
    start: float
    end: float
    enabled: bool
    key_times: list[float]
    lane: int


@dataclass(slots=True)
class MediaClip:
    uid: str
    start: float
    end: float
    rating: int
    name: str
    lane: int = 0


def region_bars(regions: Iterable[Mapping[str, Any]]) -> tuple[list[RegionBar], int]:
    """Spotlight regions as bars, each in the first lane free at its start; and the lane count."""
    bars: list[RegionBar] = []
    lane_ends: list[float] = []
    for r in sorted(regions, key=lambda r: (r["start"], r["uid"])):
        lane = next((i for i, end in enumerate(lane_ends) if end <= r["start"]), len(lane_ends))
        if lane == len(lane_ends):
            lane_ends.append(0.0)
        lane_ends[lane] = float(r["end"])
        bars.append(RegionBar(r["uid"], float(r["start"]), float(r["end"]), bool(r.get("enabled", True)),
                              sorted(float(k["time"]) for k in r.get("keyframes") or ()), lane))
    return bars, len(lane_ends)


def media_clips(clips: Iterable[Mapping[str, Any]]) -> tuple[list[MediaClip], int]:
    """Marked clips sorted by start, stacked in up to MAX_CLIP_LANES lanes; and the lanes used."""
    marked = sorted((MediaClip(str(c["uid"]), float(c["start"]), float(c["end"]), int(c.get("rating") or 0),
                               str(c.get("name") or "")) for c in clips), key=lambda c: (c.start, c.end))
    lane_ends = [-math.inf] * MAX_CLIP_LANES
    used = 1
    for c in marked:
        lane = next((i for i, end in enumerate(lane_ends) if end <= c.start), MAX_CLIP_LANES - 1)
        lane_ends[lane] = max(lane_ends[lane], c.end)
        c.lane = lane
        used = max(used, lane + 1)
    return marked, used


def lane_at(lanes: Mapping[str, Lane], y: float) -> str | None:
    """The name of the lane at scene y, if any."""
    for lane in lanes.values():
        if lane.top <= y < lane.bottom:
            return lane.name
    return None


def build_lanes(mode: TimelineMode, clip_lanes: int, region_lanes: int, text_height: float) -> dict[str, Lane]:
    """The lanes from the top: ruler, (marked clips), video, audio, (crop keys, spotlight, text)."""
    lanes: list[Lane] = [Lane("ruler", 0.0, RULER_H)]
    y = RULER_H

    def add(name: str, height: float, label: str) -> None:
        nonlocal y
        lanes.append(Lane(name, y, height, label))
        y += height

    if mode is TimelineMode.MEDIA:
        add("clips", CLIP_LANE_H * clip_lanes + 6, "CLIPS")
    add("thumbs", THUMBS_H, "VIDEO")
    add("wave", WAVE_H, "AUDIO")
    if mode is TimelineMode.CLIP:
        add("keys", KEYS_H, "CROP")
        if region_lanes:
            add("regions", REGION_LANE_H * region_lanes + 4, "SPOT")
        if text_height > 0:
            add("text", text_height, "TEXT")
    return {lane.name: lane for lane in lanes}


__all__ = ["CLIP_LANE_H", "KEYS_H", "MAX_CLIP_LANES", "REGION_LANE_H", "RULER_H", "THUMBS_H", "WAVE_H", "Lane",
           "MediaClip", "RegionBar", "TimelineMode", "build_lanes", "format_speed", "lane_at", "media_clips",
           "region_bars"]
