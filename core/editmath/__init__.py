"""Pure edit math (docs/ARCHITECTURE.md, "Edit math"): the one implementation shared by preview and renderer.

No Qt, no DB, no I/O: only numbers in, numbers out.
"""
from __future__ import annotations

from core.editmath.crop import (
    CROP_PROPS,
    Box,
    clamp_box,
    crop_at,
    default_crop,
    find_snap_keyframe,
    refit_crop,
)
from core.editmath.interpolation import catmull_rom, interpolate
from core.editmath.output_size import SHORT_SIDES, needs_upscale, output_size, parse_size, size_presets
from core.editmath.rotation import MAX_ROTATION_DEG, clamp_rotation, clamp_to_safe, safe_rect
from core.editmath.segments import (
    FIRST_SEGMENT,
    Segment,
    Timeline,
    reel_starts,
    segment_key_at,
    transition_overlap,
)
from core.editmath.timebase import frame_duration, frame_index, frame_time, snap_to_frame

__all__ = [
    "CROP_PROPS",
    "FIRST_SEGMENT",
    "MAX_ROTATION_DEG",
    "SHORT_SIDES",
    "Box",
    "Segment",
    "Timeline",
    "catmull_rom",
    "clamp_box",
    "clamp_rotation",
    "clamp_to_safe",
    "crop_at",
    "default_crop",
    "find_snap_keyframe",
    "frame_duration",
    "frame_index",
    "frame_time",
    "interpolate",
    "needs_upscale",
    "output_size",
    "parse_size",
    "reel_starts",
    "refit_crop",
    "safe_rect",
    "segment_key_at",
    "size_presets",
    "snap_to_frame",
    "transition_overlap",
]
