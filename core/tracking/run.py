"""One tracking run on a working clip: decode, follow the player both ways from the given time,
and turn the path into the payload of one ``apply_track`` gesture (one undo step)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from core.editmath import Box, frame_index, frame_time
from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture
from core.library import Library
from core.tracking.keyframes import camera_path, crop_keyframes, spotlight_keyframes
from core.tracking.tracker import PlayerTracker, TrackPoint, working_scale
from core.tracking.video import Frame, decode_backward, decode_forward

log = logging.getLogger(__name__)


class TrackError(ValueError):
    """Input a track cannot start from (time outside the clip, box outside the frame)."""


class TrackCancelled(Exception):
    """The caller's cancel flag was raised."""


@dataclass
class TrackRun:
    """The followed path in clip time (seconds from the clip start) and source pixels."""

    times: list[float]
    boxes: np.ndarray                # per sample: cx, cy, w, h
    confidence: list[float]
    fps: Fraction
    lost: bool                       # the player was lost (forwards or backwards) and tracking stopped
    lost_at: list[float] = field(default_factory=list)  # clip times where it stopped for that reason

    @property
    def tracked_from(self) -> float:
        return self.times[0]

    @property
    def tracked_to(self) -> float:
        return self.times[-1]


def check_start(source: Mapping[str, Any], at: float, box: Box) -> None:
    """Raise TrackError unless ``at`` lies in the clip and ``box`` inside its frame."""
    duration = source["end"] - source["start"]
    if not 0.0 <= at <= duration:
        raise TrackError(f"time {at:g} s is outside the clip (0 to {duration:g} s)")
    w, h = source["width"], source["height"]
    if box.width < 4 or box.height < 4:
        raise TrackError("the box must be at least 4x4 pixels")
    if box.x < 0 or box.y < 0 or box.x + box.width > w or box.y + box.height > h:
        raise TrackError(f"the box must lie inside the {w}x{h} frame")


def track_clip(media: Path, source: Mapping[str, Any], at: float, box: Box, *,
               progress: Callable[[float], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> TrackRun:
    """Follow the player in ``box`` at clip time ``at`` through the clip, both ways."""
    check_start(source, at, box)
    fps = Fraction(source["fps_num"], source["fps_den"])
    start = source["start"]
    first = frame_index(start + 1e-6, fps)
    last = max(first, frame_index(source["end"] - 1e-6, fps))
    here = min(last, max(first, frame_index(start + at, fps)))
    total = last - first + 1
    scale = working_scale(box.height)
    size = (max(2, round(source["width"] * scale)), max(2, round(source["height"] * scale)))

    def convert(frame: av.VideoFrame) -> np.ndarray:
        return frame.reformat(width=size[0], height=size[1], format="bgr24").to_ndarray()

    done = 0

    def follow(frames: Iterator[Frame]) -> tuple[list[TrackPoint], bool]:
        nonlocal done
        points: list[TrackPoint] = []
        tracker: PlayerTracker | None = None
        for i, img in frames:
            if cancelled is not None and cancelled():
                raise TrackCancelled()
            if tracker is None:
                tracker = PlayerTracker(img, box, float(fps), scale)
                point: TrackPoint | None = TrackPoint(i, box.x + box.width / 2, box.y + box.height / 2,
                                                      box.width, box.height, 1.0)
            else:
                point = tracker.step(img, i)
            done += 1
            if progress is not None:
                progress(min(1.0, done / total))
            if point is None:
                # Keep what was followed with confidence; the coasted tail is guesswork.
                while points and points[-1].confidence == 0.0:
                    points.pop()
                return points, True
            points.append(point)
        return points, False

    ahead, lost_ahead = follow(decode_forward(media, fps, here, last, convert))
    behind, lost_behind = follow(decode_backward(media, fps, first, here, convert)) if here > first else ([], False)
    points = list(reversed(behind[1:])) + ahead
    if not points:
        raise TrackError("no picture at that time in the clip's media")
    times = [max(0.0, round(frame_time(p.frame, fps) - start, 6)) for p in points]
    lost_at = [t for t, lost in ((times[-1], lost_ahead), (times[0], lost_behind)) if lost]
    return TrackRun(times=times, boxes=np.array([[p.cx, p.cy, p.width, p.height] for p in points]),
                    confidence=[p.confidence for p in points], fps=fps, lost=bool(lost_at), lost_at=lost_at)


def track_payload(run: TrackRun, source: Mapping[str, Any], aspect: AspectRatio, rotation: float,
                  reframe: bool) -> dict[str, Any]:
    """The ``apply_track`` gesture payload for a run (uids are minted when it is applied)."""
    payload: dict[str, Any] = {
        "start": run.tracked_from,
        "end": min(source["end"] - source["start"], max(run.tracked_to, run.tracked_from + float(1 / run.fps))),
        "keyframes": spotlight_keyframes(run.times, run.boxes, run.fps),
    }
    if reframe:
        crops = camera_path(run.times, run.boxes[:, :2], source["width"], source["height"], aspect, rotation)
        payload["crop_keyframes"] = crop_keyframes(run.times, crops, run.fps)
    return payload


@dataclass(frozen=True)
class TrackOutcome:
    """What one applied tracking run made (the ``reeldesk track --json`` document)."""

    region: str
    keyframes: int
    crop_keyframes: int
    tracked_from: float
    tracked_to: float
    lost: bool
    op_id: str

    def to_json(self) -> dict[str, Any]:
        return {"region": self.region, "keyframes": self.keyframes, "crop_keyframes": self.crop_keyframes,
                "tracked_from": self.tracked_from, "tracked_to": self.tracked_to, "lost": self.lost}


def plan_track(lib: Library, wc: str, at: float, box: Box, *, reframe: bool,
               progress: Callable[[float], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> tuple[TrackRun, dict[str, Any]]:
    """Track on a working clip of ``lib`` (read-only: safe on a worker thread) and build the
    gesture payload; :func:`apply_track` writes it."""
    clip = lib.working_clip(wc)
    if clip is None:
        raise TrackError(f"unknown working clip {wc}")
    source = clip["source"]
    check_start(source, at, box)
    media = lib.media_path(source["media"])
    if not media.is_file():
        raise TrackError(f"the clip's media {source['media'][:12]} is not on this computer yet")
    run = track_clip(media, source, at, box, progress=progress, cancelled=cancelled)
    payload = track_payload(run, source, AspectRatio(clip["aspect"]), clip["edit"]["rotation"], reframe)
    return run, payload


def apply_track(lib: Library, wc: str, run: TrackRun, payload: Mapping[str, Any]) -> TrackOutcome:
    """Apply a planned run as one ``apply_track`` gesture: one undo step, synced like any edit."""
    result = lib.apply(Gesture(GestureKind.APPLY_TRACK, wc, dict(payload)))
    return TrackOutcome(region=result.created["region"], keyframes=len(payload["keyframes"]),
                        crop_keyframes=len(payload.get("crop_keyframes", [])),
                        tracked_from=run.tracked_from, tracked_to=run.tracked_to, lost=run.lost,
                        op_id=result.op_id)
