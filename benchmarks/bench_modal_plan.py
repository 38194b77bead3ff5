"""The Modal plan of a 15 s 1080x1920 Real-ESRGAN export: chunks, containers, bytes each container
reads, and the expected wall time from the model's per-frame cost measured here.

    python -m benchmarks.bench_modal_plan [--seconds 15] [--source-mbps 16] [--gpu-tflops 40]

Needs torch (not a ReelDesk dependency: ``pip install torch`` into the environment you run this
from). The model is Real-ESRGAN x4plus's network (``benchmarks.x4net``) with random weights: the
cost of a frame does not depend on the weights. Its multiply-adds are counted from the layers,
and its speed measured on this machine's CPU with a tiny input. On a machine with CUDA (and
spandrel) the production upscaler, ``core.export.realesrgan``, is timed there on a batch of real
crop-size frames; when that GPU is not the kind the Modal app deploys (``MODAL_GPU``), the time
is scaled by the two kinds' data-sheet figures. Without a GPU the time is the counted work
divided by ``--gpu-tflops`` (the effective fp16 throughput measured on an H200 by this benchmark
on 2026-11-30: a stated assumption for other kinds).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.x4net import X4Net, macs_per_input_pixel
from core.editmath import default_crop
from core.enums import AspectRatio
from core.export.chunks import plan_chunks
from core.export.modal_backend import MAX_CONTAINERS, MODAL_GPU
from core.export.spec import SPEC_VERSION, ClipSpec, OutputSettings, OverlayStyle, RenderSpec, Transition

OUT_W, OUT_H, FPS = 1080, 1920, 30
SRC_W, SRC_H = 1920, 1080
CONTAINER_START_S = 25.0  # cold GPU container + model load (weights are in the image)
JOIN_S_PER_MIN = 20.0  # orchestrator: remux + one AAC encode + upload, per minute of output
# (dense fp16 tensor TFLOPS without sparsity, memory TB/s) from the vendors' data sheets. The
# model's 3x3 convolutions over 32-64 channels sit near both limits, so a measurement is scaled
# to a slower kind by the larger of the two ratios (the conservative estimate).
GPU_PEAKS = {"H200": (989.0, 4.8), "H100": (989.0, 3.35), "A100": (312.0, 2.0), "L40S": (362.0, 0.864),
             "L4": (121.0, 0.3)}


def measure(net: X4Net, w: int, h: int, runs: int) -> float:
    """CPU seconds per fp32 frame of w x h (best of ``runs``, after one warm-up)."""
    net = net.eval()
    x = torch.rand(1, 3, h, w)
    best = math.inf
    with torch.inference_mode():
        for i in range(runs + 1):
            start = time.perf_counter()
            net(x)
            if i:
                best = min(best, time.perf_counter() - start)
    return best


def production_frame_seconds(crop_w: int, crop_h: int, runs: int = 3) -> float:
    """GPU seconds per frame of the upscaler the render uses (``core.export.realesrgan`` on a
    batch as the render sends it: I420 crops in, 1080x1920 I420 out), best of ``runs``."""
    import numpy as np

    from benchmarks.bench_realesrgan import gpu_seconds
    from benchmarks.x4net import save_official
    from core.export.picture import AI_BATCH
    from core.export.realesrgan import load_upscaler

    with tempfile.TemporaryDirectory() as tmp:
        upscale = load_upscaler(save_official(X4Net(), Path(tmp) / "x4.pth"))
    rng = np.random.default_rng(0)
    crops = [rng.integers(16, 235, (crop_h * 3 // 2, crop_w), np.uint8) for _ in range(AI_BATCH)]
    return gpu_seconds(lambda: upscale(crops, (OUT_W, OUT_H)), runs) / AI_BATCH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--source-mbps", type=float, default=16.0, help="bitrate of the game file")
    parser.add_argument("--gpu-tflops", type=float, default=139.0,
                        help=f"effective fp16 TFLOPS of the {MODAL_GPU} when none is here to measure")
    parser.add_argument("--tiny", type=int, default=32, help="side of the CPU measurement input")
    args = parser.parse_args(argv)
    torch.manual_seed(0)

    clip = ClipSpec(uid="clip", media_hash="game", src_start=600.0, src_end=600.0 + args.seconds,
                    fps_num=FPS, fps_den=1, width=SRC_W, height=SRC_H, aspect=AspectRatio.PORTRAIT,
                    rotation=0.0, crop_keyframes=(), splits=(), speeds=(), trim=None, regions=(),
                    style=OverlayStyle(), transition_in=Transition())
    spec = RenderSpec(SPEC_VERSION, "bench", AspectRatio.PORTRAIT, (clip,),
                      OutputSettings(OUT_W, OUT_H, FPS, 1))
    chunks = plan_chunks(spec)
    containers = min(len(chunks), MAX_CONTAINERS)
    crop = default_crop(SRC_W, SRC_H, AspectRatio.PORTRAIT)
    in_w, in_h = 2 * math.ceil(crop.width / 2), 2 * math.ceil(crop.height / 2)  # native, even

    net = X4Net()
    macs = macs_per_input_pixel(net)
    frame_tflop = 2 * macs * in_w * in_h / 1e12
    cpu_tiny = measure(net, args.tiny, args.tiny, runs=1)
    cpu_frame = cpu_tiny * (in_w * in_h) / (args.tiny * args.tiny)
    gpu_how = f"{frame_tflop:.1f} TFLOP / {args.gpu_tflops:g} TFLOPS (no GPU here to measure)"
    gpu_frame = frame_tflop / args.gpu_tflops
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        here = production_frame_seconds(in_w, in_h)
        peaks = next((p for key, p in GPU_PEAKS.items() if key in name), None)
        target = GPU_PEAKS.get(MODAL_GPU)
        gpu_frame, gpu_how = here, f"measured on {name} ({frame_tflop / here:.0f} TFLOPS achieved)"
        if MODAL_GPU not in name:
            if peaks is None or target is None:
                gpu_how += f"; no data-sheet figures to scale it to the {MODAL_GPU}"
            else:
                ratio = max(peaks[0] / target[0], peaks[1] / target[1])
                gpu_frame = here * ratio
                gpu_how += (f" x {ratio:.1f} for the {MODAL_GPU} (compute {peaks[0] / target[0]:.1f}x, "
                            f"memory {peaks[1] / target[1]:.1f}x)")
    # Bytes a chunk reads: its source span plus up to one GOP (1 s) before it to decode from the
    # keyframe, plus the MP4 index (~12 bytes per video and audio sample of the 90 min game),
    # read by each of the two opens (picture and sound), and a little probing.
    game_s = 90 * 60
    game_bytes = game_s * args.source_mbps * 1e6 / 8
    index_bytes = 12 * (FPS + 48_000 / 1024) * game_s
    lines = [f"Modal plan: {args.seconds:g} s reel, {OUT_W}x{OUT_H} @ {FPS} fps, Real-ESRGAN x4 "
             f"on the {in_w}x{in_h} crop (native pixels) of a {SRC_W}x{SRC_H} game, {MODAL_GPU} chunks"]
    lines.append(f"  chunks: {len(chunks)}  frames {[c.frames for c in chunks]}  containers: "
                 f"{containers} (max {MAX_CONTAINERS})")
    worst = 0.0
    for c in chunks:
        span = c.frames / FPS
        read = (span + 1.0) * args.source_mbps * 1e6 / 8 + 2 * index_bytes + 256e3
        render_s = c.frames * gpu_frame
        worst = max(worst, render_s)
        lines.append(f"  chunk {c.index}: {span:5.2f} s, reads ~{read / 1e6:5.1f} MB of a "
                     f"{game_bytes / 1e9:.1f} GB game (was: the whole file), model {render_s:6.1f} s")
    wall = CONTAINER_START_S + worst + JOIN_S_PER_MIN * args.seconds / 60
    lines += [
        f"  model cost per input pixel: {macs / 1e6:.2f} M multiply-adds; per frame "
        f"{frame_tflop:.1f} TFLOP",
        f"  CPU here (fp32, {args.tiny}x{args.tiny} measured): {cpu_tiny * 1e3:.0f} ms -> "
        f"{cpu_frame:.0f} s per {in_w}x{in_h} frame",
        f"  GPU per frame: {gpu_frame:.2f} s ({gpu_how})",
        f"  expected wall time: {CONTAINER_START_S:g} s start + {worst:.1f} s longest chunk + "
        f"{JOIN_S_PER_MIN * args.seconds / 60:.1f} s join/upload = {wall:.0f} s "
        f"(one GPU: {CONTAINER_START_S + sum(c.frames for c in chunks) * gpu_frame:.0f} s)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
