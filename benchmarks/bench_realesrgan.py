"""The Real-ESRGAN export path on a CUDA GPU, end to end: the same ``core.export.realesrgan``
upscaler and ``core.export.render.render`` that Modal's ``render_chunk`` runs.

    python -m benchmarks.bench_realesrgan SOURCE.mp4 [--seconds 3] [--frames-dir DIR]

Needs torch with CUDA and spandrel (not ReelDesk dependencies; the Modal image has both). No
weights are downloaded: the benchmark saves Real-ESRGAN x4plus's network in the released file's
layout (``benchmarks.x4net``) and loads it through spandrel like the official file.

1. Model cost per frame: random weights, the 9:16 crop of SOURCE at its native pixels, fp16,
   batches of 1/4/8, activations in the default and the channels-last layout.
2. A 9:16 1080x1920 export of SOURCE's first ``--seconds`` with identity weights (the model is a
   4x nearest-neighbour enlargement) against the same export with Lanczos: the output size must
   be the preset, the model must see the native crop, and the two pictures must agree (a wrong
   colour conversion or plane order on the GPU would not). Prints wall time, frames per second
   and the share spent in the model.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import torch

from benchmarks.x4net import X4Net, make_identity, save_official
from core.editmath import default_crop
from core.enums import AspectRatio, Upscaler
from core.export.picture import Upscale
from core.export.realesrgan import load_upscaler
from core.export.render import render
from core.export.spec import SPEC_VERSION, ClipSpec, OutputSettings, OverlayStyle, RenderSpec, Transition

OUT_W, OUT_H = 1080, 1920


def _source_info(path: Path) -> tuple[int, int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        assert rate is not None
        return stream.codec_context.width, stream.codec_context.height, rate.numerator, rate.denominator


def _spec(source: Path, seconds: float, upscaler: Upscaler) -> RenderSpec:
    w, h, fps_num, fps_den = _source_info(source)
    clip = ClipSpec(uid="clip", media_hash="src", src_start=0.0, src_end=seconds, fps_num=fps_num,
                    fps_den=fps_den, width=w, height=h, aspect=AspectRatio.PORTRAIT, rotation=0.0,
                    crop_keyframes=(), splits=(), speeds=(), trim=None, regions=(),
                    style=OverlayStyle(), transition_in=Transition())
    out = OutputSettings(OUT_W, OUT_H, fps_num, fps_den, crf=16, preset="veryfast", audio=False,
                         upscaler=upscaler)
    return RenderSpec(SPEC_VERSION, "bench", AspectRatio.PORTRAIT, (clip,), out)


def gpu_seconds(fn: Callable[[], object], runs: int) -> float:
    """Best seconds of ``runs`` calls after one warm-up (cuDNN picks its algorithms then)."""
    best = math.inf
    for i in range(runs + 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        if i:
            best = min(best, time.perf_counter() - start)
    return best


def model_cost(weights: Path, crop_w: int, crop_h: int) -> list[str]:
    rng = np.random.default_rng(0)
    lines = [f"model cost, random weights, {crop_w}x{crop_h} I420 crops -> {OUT_W}x{OUT_H}, fp16:"]
    for channels_last in (False, True):
        upscale = load_upscaler(weights, channels_last=channels_last)
        for batch in (1, 4, 8):
            crops = [rng.integers(16, 235, (crop_h * 3 // 2, crop_w), np.uint8) for _ in range(batch)]
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            seconds = gpu_seconds(lambda u=upscale, c=crops: u(c, (OUT_W, OUT_H)), runs=3)
            lines.append(f"  {'channels-last' if channels_last else 'default layout'}, batch {batch}: "
                         f"{seconds / batch * 1e3:7.1f} ms per frame ({batch / seconds:5.1f} frames/s), "
                         f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    return lines


class _Timed:
    """The upscaler, recording each call's crop sizes and its GPU-synchronised time."""

    def __init__(self, inner: Upscale) -> None:
        self.inner, self.seconds, self.inputs, self.frames = inner, 0.0, set[tuple[int, int]](), 0

    def __call__(self, crops: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = self.inner(crops, size)
        torch.cuda.synchronize()
        self.seconds += time.perf_counter() - start
        self.frames += len(crops)
        self.inputs.update((c.shape[1], c.shape[0] * 2 // 3) for c in crops)
        return out


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def export_check(source: Path, seconds: float, weights: Path, tmp: Path,
                 frames_dir: Path | None) -> tuple[list[str], bool]:
    timed = _Timed(load_upscaler(weights))
    runs: dict[Upscaler, tuple[Path, float]] = {}
    for upscaler in (Upscaler.REALESRGAN, Upscaler.LANCZOS):
        out = tmp / f"{upscaler.value}.mp4"
        start = time.perf_counter()
        render(_spec(source, seconds, upscaler), {"src": source}.__getitem__, out,
               realesrgan=timed if upscaler is Upscaler.REALESRGAN else None)
        runs[upscaler] = (out, time.perf_counter() - start)
    ai, lanczos = _frames(runs[Upscaler.REALESRGAN][0]), _frames(runs[Upscaler.LANCZOS][0])
    diffs = [float(np.median(np.abs(a.astype(np.int16) - b))) for a, b in zip(ai, lanczos, strict=True)]
    psnr = [cv2.PSNR(a, b) for a, b in zip(ai, lanczos, strict=True)]
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        middle = len(ai) // 2
        cv2.imwrite(str(frames_dir / "realesrgan_identity.png"), cv2.cvtColor(ai[middle], cv2.COLOR_RGB2BGR))
        cv2.imwrite(str(frames_dir / "lanczos.png"), cv2.cvtColor(lanczos[middle], cv2.COLOR_RGB2BGR))
    wall = runs[Upscaler.REALESRGAN][1]
    ok = (ai[0].shape == (OUT_H, OUT_W, 3) and len(ai) == len(lanczos) and max(diffs) <= 6
          and len(timed.inputs) == 1)
    lines = [
        f"export check, {seconds:g} s of {source.name} as a 9:16 {OUT_W}x{OUT_H} reel:",
        f"  model input sizes: {sorted(timed.inputs)} (native 9:16 crop, even); output "
        f"{ai[0].shape[1]}x{ai[0].shape[0]}, {len(ai)} frames",
        f"  Real-ESRGAN (identity weights) vs Lanczos: median |diff| per frame max {max(diffs):.1f}, "
        f"PSNR min {min(psnr):.1f} dB",
        f"  Real-ESRGAN export: {wall:.1f} s wall, {len(ai) / wall:.1f} frames/s; model "
        f"{timed.seconds:.1f} s for {timed.frames} frames ({timed.seconds / max(1, timed.frames) * 1e3:.1f} "
        f"ms per frame, {timed.seconds / wall:.0%} of the wall time)",
        f"  Lanczos export (CPU only): {runs[Upscaler.LANCZOS][1]:.1f} s wall",
        f"  check: {'PASS' if ok else 'FAIL'}",
    ]
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a landscape H.264 video (1920x1080 for the figures)")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--frames-dir", type=Path, help="write the middle frame of both exports here")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.stderr.write("bench_realesrgan needs a CUDA GPU\n")
        return 2
    torch.manual_seed(0)
    w, h, _, _ = _source_info(args.source)
    crop = default_crop(w, h, AspectRatio.PORTRAIT)
    crop_w, crop_h = 2 * math.ceil(crop.width / 2), 2 * math.ceil(crop.height / 2)
    lines = [f"GPU: {torch.cuda.get_device_name()}, torch {torch.__version__}"]
    with tempfile.TemporaryDirectory(prefix="bench-realesrgan-") as name:
        tmp = Path(name)
        lines += model_cost(save_official(X4Net(), tmp / "random.pth"), crop_w, crop_h)
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        more, ok = export_check(args.source, args.seconds,
                                save_official(make_identity(X4Net()), tmp / "identity.pth"), tmp,
                                args.frames_dir)
    sys.stdout.write("\n".join(more) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
