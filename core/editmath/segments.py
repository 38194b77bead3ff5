"""Splits, per-segment speeds and trim: the source <-> output time mapping (docs/ARCHITECTURE.md, "Edit math").

Speeds are keyed by the uid of the split that starts a segment (FIRST_SEGMENT before the
first split), so adding a split elsewhere never moves a speed to another segment.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.enums import TransitionType

FIRST_SEGMENT = "start"

# Seconds: a time this close outside the kept interval still counts as kept (float slop
# from callers that computed the trim end themselves).
_EDGE_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Segment:
    key: str
    src_start: float
    src_end: float
    speed: float
    out_start: float

    @property
    def out_end(self) -> float:
        return self.out_start + (self.src_end - self.src_start) / self.speed


def segment_key_at(splits: Sequence[tuple[str, float]], t: float) -> str:
    """Key of the segment containing source time ``t``; at a split's time, the segment that
    starts there. Splits at or before 0 are ignored; of splits sharing a time the later in the
    sequence wins (the earlier one's segment is empty)."""
    key, best = FIRST_SEGMENT, 0.0
    for uid, time in splits:
        if 0.0 < time <= t and time >= best:
            key, best = uid, time
    return key


class Timeline:
    """The kept segments of one clip, laid end to end in output time."""

    __slots__ = ("duration", "trim_start", "trim_end", "segments", "output_duration",
                 "_src_starts", "_out_starts")

    def __init__(
        self,
        duration: float,
        splits: Sequence[tuple[str, float]],
        speeds: Mapping[str, float],
        trim: tuple[float, float] | None,
    ) -> None:
        self.duration = max(0.0, float(duration))
        lo, hi = (0.0, self.duration) if trim is None else trim
        self.trim_start = min(max(float(lo), 0.0), self.duration)
        self.trim_end = min(max(float(hi), self.trim_start), self.duration)

        # Stable sort: among equal times the later split comes last, and only its segment is
        # non-empty, matching segment_key_at.
        inner = sorted(
            ((uid, float(time)) for uid, time in splits if 0.0 < time < self.duration),
            key=lambda s: s[1],
        )
        starts = [(FIRST_SEGMENT, 0.0), *inner]
        segments: list[Segment] = []
        out = 0.0
        for i, (key, start) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else self.duration
            a, b = max(start, self.trim_start), min(end, self.trim_end)
            if b <= a:
                continue
            seg = Segment(key, a, b, float(speeds.get(key, 1.0)), out)
            segments.append(seg)
            out = seg.out_end
        self.segments: tuple[Segment, ...] = tuple(segments)
        self.output_duration: float = out
        self._src_starts = [s.src_start for s in segments]
        self._out_starts = [s.out_start for s in segments]

    def segment_at(self, t_src: float) -> Segment | None:
        """Kept segment containing ``t_src`` (at a boundary, the one starting there; at the trim
        end, the last one), or None if ``t_src`` is trimmed away."""
        if not self.segments:
            return None
        if t_src < self.trim_start - _EDGE_EPS or t_src > self.trim_end + _EDGE_EPS:
            return None
        i = bisect_right(self._src_starts, t_src) - 1
        return self.segments[max(i, 0)]

    def source_to_output(self, t: float) -> float | None:
        """Output time of source time ``t``, or None if ``t`` is trimmed away."""
        seg = self.segment_at(t)
        if seg is None:
            return None
        t = min(max(t, seg.src_start), seg.src_end)
        return seg.out_start + (t - seg.src_start) / seg.speed

    def output_to_source(self, t_out: float) -> float:
        """Source time shown at output time ``t_out``, clamped to the kept ends."""
        if not self.segments:
            return self.trim_start
        i = bisect_right(self._out_starts, t_out) - 1
        seg = self.segments[min(max(i, 0), len(self.segments) - 1)]
        t = seg.src_start + (t_out - seg.out_start) * seg.speed
        return min(max(t, seg.src_start), seg.src_end)


def transition_overlap(kind: TransitionType | str, duration: float) -> float:
    """Seconds two neighbouring clips share in the output: a dissolve overlaps them by its
    duration; a cut and a fade through black (half out, half in) do not overlap."""
    return duration if TransitionType(kind) is TransitionType.DISSOLVE else 0.0


def reel_starts(durations: Sequence[float], overlaps: Sequence[float]) -> tuple[list[float], float]:
    """Output start of each clip and the reel's length; ``overlaps[i]`` is what clip i shares
    with the clip before it (the first clip's is ignored). The renderer and every shown
    duration use this one sum."""
    starts, t = [], 0.0
    for i, (d, o) in enumerate(zip(durations, overlaps, strict=True)):
        if i:
            t -= o
        starts.append(t)
        t += d
    return starts, t
