"""The Modal plan of a 15 s 1080x1920 Real-ESRGAN export: chunks, containers, bytes each container
reads, and the expected wall time from the model's per-frame cost measured here.

    python -m benchmarks.bench_modal_plan [--seconds 15] [--source-mbps 16] [--gpu-tflops 40]

Needs torch (not a ReelDesk dependency: ``pip install torch`` into the environment you run this
from). The model is Real-ESRGAN x4plus's network shape (RRDB: 23 blocks of 3 dense blocks, 64
features, growth 32, two x2 upsamplings), built here with random weights: the cost of a frame does
not depend on the weights. Its multiply-adds are counted from the layers, and its speed measured
on this machine's CPU with a tiny input; on a machine with CUDA the measurement runs there in
fp16 on the real crop size. Without a GPU the GPU time is the counted work divided by
``--gpu-tflops`` (effective fp16 throughput of an L4 on convolutions: a stated assumption).
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import torch
from torch import nn

from core.editmath import default_crop
from core.enums import AspectRatio
from core.export.chunks import plan_chunks
from core.export.modal_backend import MAX_CONTAINERS
from core.export.spec import SPEC_VERSION, ClipSpec, OutputSettings, OverlayStyle, RenderSpec, Transition

OUT_W, OUT_H, FPS = 1080, 1920, 30
SRC_W, SRC_H = 1920, 1080
CONTAINER_START_S = 25.0  # cold GPU container + model load (weights are in the image)
JOIN_S_PER_MIN = 20.0  # orchestrator: remux + one AAC encode + upload, per minute of output


class _DenseBlock(nn.Module):
    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(nf + i * gc, gc if i < 4 else nf, 3, padding=1) for i in range(5))
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i, conv in enumerate(self.convs):
            y = conv(torch.cat(feats, 1))
            if i < 4:
                feats.append(self.act(y))
        return x + 0.2 * y


class _RRDB(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.Sequential(_DenseBlock(), _DenseBlock(), _DenseBlock())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.blocks(x)


class X4Net(nn.Module):
    """The x4plus network's shape (layer sizes as in the ESRGAN paper and the released model)."""

    def __init__(self, blocks: int = 23) -> None:
        super().__init__()
        self.first = nn.Conv2d(3, 64, 3, padding=1)
        self.trunk = nn.Sequential(*(_RRDB() for _ in range(blocks)))
        self.trunk_conv = nn.Conv2d(64, 64, 3, padding=1)
        self.up1, self.up2 = nn.Conv2d(64, 64, 3, padding=1), nn.Conv2d(64, 64, 3, padding=1)
        self.hr, self.last = nn.Conv2d(64, 64, 3, padding=1), nn.Conv2d(64, 3, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.first(x)
        f = f + self.trunk_conv(self.trunk(f))
        f = self.act(self.up1(nn.functional.interpolate(f, scale_factor=2, mode="nearest")))
        f = self.act(self.up2(nn.functional.interpolate(f, scale_factor=2, mode="nearest")))
        return self.last(self.act(self.hr(f)))


def macs_per_input_pixel(net: X4Net) -> float:
    """Multiply-adds per input pixel, from the layers (the last three run at 4x4 = 16 pixels per
    input pixel, up1 at 2x2 = 4)."""
    scale = {id(net.up1): 4, id(net.up2): 16, id(net.hr): 16, id(net.last): 16}
    return sum(m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * scale.get(id(m), 1)
               for m in net.modules() if isinstance(m, nn.Conv2d))


def measure(net: X4Net, w: int, h: int, device: str, dtype: torch.dtype, runs: int) -> float:
    """Seconds per frame of w x h (best of ``runs``, after one warm-up)."""
    net = net.to(device=device, dtype=dtype).eval()
    x = torch.rand(1, 3, h, w, device=device, dtype=dtype)
    best = math.inf
    with torch.inference_mode():
        for i in range(runs + 1):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            net(x)
            if device == "cuda":
                torch.cuda.synchronize()
            if i:
                best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--source-mbps", type=float, default=16.0, help="bitrate of the game file")
    parser.add_argument("--gpu-tflops", type=float, default=40.0,
                        help="effective fp16 TFLOPS of the GPU (L4) when none is here to measure")
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
    cpu_tiny = measure(net, args.tiny, args.tiny, "cpu", torch.float32, runs=1)
    cpu_frame = cpu_tiny * (in_w * in_h) / (args.tiny * args.tiny)
    if torch.cuda.is_available():
        gpu_frame = measure(net, in_w, in_h, "cuda", torch.float16, runs=3)
        gpu_how = f"measured on {torch.cuda.get_device_name()} in fp16"
    else:
        gpu_frame = frame_tflop / args.gpu_tflops
        gpu_how = f"{frame_tflop:.1f} TFLOP / {args.gpu_tflops:g} TFLOPS (no GPU here to measure)"

    # Bytes a chunk reads: its source span plus up to one GOP (1 s) before it to decode from the
    # keyframe, plus the MP4 index (~12 bytes per video and audio sample of the 90 min game),
    # read by each of the two opens (picture and sound), and a little probing.
    game_s = 90 * 60
    game_bytes = game_s * args.source_mbps * 1e6 / 8
    index_bytes = 12 * (FPS + 48_000 / 1024) * game_s
    lines = [f"Modal plan: {args.seconds:g} s reel, {OUT_W}x{OUT_H} @ {FPS} fps, Real-ESRGAN x4 "
             f"on the {in_w}x{in_h} crop (native pixels) of a {SRC_W}x{SRC_H} game"]
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
