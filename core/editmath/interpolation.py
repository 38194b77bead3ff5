"""Uniform Catmull-Rom keyframe interpolation (docs/ARCHITECTURE.md, "Edit math"), O(log n) per evaluation."""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from operator import itemgetter

Keyframe = tuple[float, Mapping[str, float]]

_time = itemgetter(0)


def catmull_rom(p0: float, p1: float, p2: float, p3: float, u: float) -> float:
    """Uniform Catmull-Rom between ``p1`` (u=0) and ``p2`` (u=1)."""
    return 0.5 * (
        2.0 * p1
        + (-p0 + p2) * u
        + (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3) * u * u
        + (-p0 + 3.0 * p1 - 3.0 * p2 + p3) * u * u * u
    )


def _last_at(keyframes: Sequence[Keyframe], time: float) -> int:
    """Index of the last keyframe at exactly ``time``: with duplicates, the later one wins."""
    return bisect_right(keyframes, time, key=_time) - 1


def interpolate(
    keyframes: Sequence[Keyframe], t: float, props: Sequence[str]
) -> dict[str, float] | None:
    """Values of ``props`` at time ``t``; ``keyframes`` must be sorted by time.

    Holds the first value before the first keyframe and the last after the last. Keyframes
    sharing a time act as one: the later in the sequence. Every keyframe must carry every prop
    (KeyError otherwise). Returns None when there are no keyframes.
    """
    n = len(keyframes)
    if n == 0:
        return None
    i1 = bisect_right(keyframes, t, key=_time) - 1  # last keyframe with time <= t
    if i1 < 0:
        first = keyframes[_last_at(keyframes, keyframes[0][0])][1]
        return {p: float(first[p]) for p in props}
    if i1 == n - 1:
        last = keyframes[-1][1]
        return {p: float(last[p]) for p in props}

    t1 = keyframes[i1][0]
    t2 = keyframes[i1 + 1][0]
    i2 = _last_at(keyframes, t2)
    # Neighbours skip the shadowed (earlier) keyframes of a duplicated time.
    i0 = bisect_left(keyframes, t1, key=_time) - 1
    if i0 < 0:
        i0 = i1
    i3 = _last_at(keyframes, keyframes[i2 + 1][0]) if i2 + 1 < n else i2

    k0, k1, k2, k3 = keyframes[i0][1], keyframes[i1][1], keyframes[i2][1], keyframes[i3][1]
    u = (t - t1) / (t2 - t1)
    return {p: catmull_rom(k0[p], k1[p], k2[p], k3[p], u) for p in props}
