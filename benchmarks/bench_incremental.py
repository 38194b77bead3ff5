"""Incremental re-export: a ten-clip reel exported cold, then again after changing one clip.

    python -m benchmarks.bench_incremental [--clip-seconds 1.0] [--size 1080x1920] [--preset medium]

Defaults are the export's own (1080x1920, x264 medium). The re-export has a fixed cost that does
not shrink with the clip count (the whole reel's sound is mixed again, every cached part is
hashed and copied), so on tiny, fast encodes (e.g. 540x960 veryfast) the ratio is higher.

One generated source (moving test pattern + tone); ten 9:16 clips cut from it, each with its own
static crop, the fifth dissolving out of the fourth. Measured side by side in one run:

  full        export with an empty part cache (every clip rendered, parts joined)
  one_change  the same reel after moving the crop of clip 7 (no dissolve next to it), with the
              cache the full export filled: one part rendered, nine copied
  cold_check  the changed reel exported with an empty cache: what one_change must equal

Prints wall and CPU seconds, the ratio one_change / full (the goal is <= 0.25), how many clips
each run rendered, and whether one_change decodes to exactly the frames of cold_check.
"""
from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.enums import AspectRatio, TransitionType
from core.export.incremental import render_incremental
from core.export.part_cache import PartCache
from core.export.spec import (
    SPEC_VERSION,
    ClipSpec,
    CropKeyframe,
    OutputSettings,
    OverlayStyle,
    RenderSpec,
    Transition,
)
from tests.fixtures.media import make_video

SRC_W, SRC_H = 1280, 720
CHANGED = 6  # the seventh clip


def _cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def _spec(clip_s: float, size: tuple[int, int], preset: str, changed: bool) -> RenderSpec:
    clips = []
    for i in range(10):
        x = 40.0 * i + (200.0 if changed and i == CHANGED else 0.0)
        clips.append(ClipSpec(
            uid=f"clip-{i}", media_hash="src", src_start=i * clip_s * 0.9, src_end=i * clip_s * 0.9 + clip_s,
            fps_num=30, fps_den=1, width=SRC_W, height=SRC_H, aspect=AspectRatio.PORTRAIT, rotation=0.0,
            crop_keyframes=(CropKeyframe(0.0, x, 0.0, 405.0, 720.0),), splits=(), speeds=(), trim=None,
            regions=(), style=OverlayStyle(), title=f"Clip {i + 1}",
            transition_in=Transition(TransitionType.DISSOLVE, 0.3) if i == 4 else Transition(),
        ))
    out = OutputSettings(size[0], size[1], 30, 1, crf=20, preset=preset)
    return RenderSpec(SPEC_VERSION, "bench", AspectRatio.PORTRAIT, tuple(clips), out)


def _timed(spec: RenderSpec, source: Path, out: Path, cache: Path) -> tuple[float, float, int]:
    c0, t0 = _cpu(), time.monotonic()
    _path, clips = render_incremental(spec, lambda _h: source, out, PartCache(cache))
    return time.monotonic() - t0, _cpu() - c0, sum(not c.reused for c in clips)


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip-seconds", type=float, default=1.0)
    parser.add_argument("--size", default="1080x1920")
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--keep", type=Path, help="keep the inputs and outputs in this folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    size = tuple(int(v) for v in args.size.split("x"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        source = make_video(work / "src.mp4", width=SRC_W, height=SRC_H, fps=Fraction(30),
                            seconds=10 * args.clip_seconds + 1)
        before = _spec(args.clip_seconds, size, args.preset, changed=False)
        after = _spec(args.clip_seconds, size, args.preset, changed=True)
        full = _timed(before, source, work / "full.mp4", work / "cache")
        one = _timed(after, source, work / "one_change.mp4", work / "cache")
        cold = _timed(after, source, work / "cold_check.mp4", work / "cache-empty")
        a, b = _frames(work / "one_change.mp4"), _frames(work / "cold_check.mp4")
        identical = len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
        changed = not np.array_equal(a[int((CHANGED + 0.5) * args.clip_seconds * 30)],
                                     _frames(work / "full.mp4")[int((CHANGED + 0.5) * args.clip_seconds * 30)])
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"incremental export benchmark: 10 clips x {args.clip_seconds:g} s -> {size[0]}x{size[1]}, "
          f"libx264 crf 20 preset {args.preset}")
    for name, (wall, cpu, rendered) in (("full", full), ("one_change", one), ("cold_check", cold)):
        print(f"  {name:<11} wall {wall:7.2f} s   cpu {cpu:7.2f} s   clips rendered {rendered:2d}/10")
    print(f"  one_change / full: wall {one[0] / full[0]:.3f}, cpu {one[1] / full[1]:.3f}  (goal <= 0.25)")
    print(f"  one_change frame-identical to cold_check: {identical} ({len(a)} frames); "
          f"the changed clip differs from before: {changed}")
    return 0 if identical and changed else 1


if __name__ == "__main__":
    sys.exit(main())
