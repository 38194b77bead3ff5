"""Following a player through a clip, offline on the CPU, and turning the path into spotlight
(and optionally crop) keyframes applied as one gesture. No Qt."""
from __future__ import annotations

from core.tracking.run import (
    TrackCancelled,
    TrackError,
    TrackOutcome,
    TrackRun,
    apply_track,
    check_start,
    plan_track,
    track_clip,
)

__all__ = ["TrackCancelled", "TrackError", "TrackOutcome", "TrackRun", "apply_track", "check_start",
           "plan_track", "track_clip"]
