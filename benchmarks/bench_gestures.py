"""Gesture engine speed: apply latency in a large library, and a full re-fold of a busy clip.

    python -m benchmarks.bench_gestures [--gestures 100000]

Builds a library holding N gestures (spread over 50 projects, as an editor's long-lived library
would), then measures p50/p99 of 2,000 more applies, and the time to re-fold one working clip
from 1,000 gestures (what a late remote gesture triggers). Goal: p99 <= 5 ms.
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.gestures.model import ScopeKind
from core.library import Library

log = logging.getLogger("bench")
HASH = "cd" * 32
INFO = {"duration": 600.0, "fps_num": 60000, "fps_den": 1001, "width": 1920, "height": 1080, "rotation": 0,
        "has_audio": True, "vfr": False}


def edit_gesture(wc: str, i: int) -> Gesture:
    t = (i % 1000) * 0.05
    kind = i % 4
    if kind == 0:
        return Gesture(K.ADD_CROP_KEYFRAME, wc,
                       {"time": t, "x": float(i % 1000), "y": 0.0, "width": 607.5, "height": 1080.0})
    if kind == 1:
        return Gesture(K.SET_ROTATION, wc, {"degrees": float(i % 20)})
    if kind == 2:
        return Gesture(K.SET_OVERLAY_STYLE, wc, {"dim": (i % 10) / 10})
    return Gesture(K.SET_TRIM, wc, {"start": 0.0, "end": 30.0 + i % 20})


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def run(total: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-gestures-"))
    lib = Library(root)
    lib.apply(Gesture(K.IMPORT_MEDIA, HASH, {"info": INFO}))
    raw = lib.apply(Gesture(K.MARK_CLIP, None, {"media": HASH, "start": 0.0, "end": 60.0})).entity
    clips = []
    for p in range(50):
        project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": f"P{p}"})).entity
        clips.append((project, lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]))
    t0 = time.perf_counter()
    i = 0
    while lib.gesture_count() < total:
        for _ in range(1000):
            i += 1
            lib.apply(edit_gesture(clips[i % len(clips)][1], i))
        log.info("built %d gestures (%.0f s)", lib.gesture_count(), time.perf_counter() - t0)
    samples = []
    for j in range(2000):
        g = edit_gesture(clips[j % len(clips)][1], i + j)
        s = time.perf_counter()
        lib.apply(g)
        samples.append((time.perf_counter() - s) * 1000)

    # a clip with 1,000 gestures of its own, re-folded from scratch
    project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": "busy"})).entity
    wc = lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    for j in range(998):
        lib.apply(edit_gesture(wc, j))
    refolds = []
    for _ in range(5):
        with lib._write() as conn:  # the same call merge_remote makes for a late gesture
            s = time.perf_counter()
            lib._refold(conn, project, ScopeKind.PROJECT, "bench")
            refolds.append(time.perf_counter() - s)
    lines = [
        f"library gestures: {lib.gesture_count()}",
        f"apply latency: p50 {statistics.median(samples):.2f} ms, p99 {percentile(samples, 99):.2f} ms, "
        f"max {max(samples):.2f} ms (goal p99 <= 5 ms)",
        f"re-fold of a clip with 1,000 gestures: median {statistics.median(refolds) * 1000:.0f} ms",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    lib.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--gestures", type=int, default=100_000)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run(args.gestures)


if __name__ == "__main__":
    main()
