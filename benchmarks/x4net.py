"""Real-ESRGAN x4plus's network (RRDBNet: 23 blocks of 3 dense blocks, 64 features, growth 32,
two nearest x2 upsamplings) with the layer names of the released weights, so a state dict saved
from it loads through spandrel exactly like the official file. Built here with random or
identity weights: a frame's cost does not depend on the weights, and identity weights make the
model a plain 4x nearest-neighbour enlargement whose output a benchmark can check by pixels.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

__all__ = ["X4Net", "macs_per_input_pixel", "make_identity", "save_official"]


class _DenseBlock(nn.Module):
    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        for i in range(5):
            setattr(self, f"conv{i + 1}", nn.Conv2d(nf + i * gc, gc if i < 4 else nf, 3, padding=1))
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i in range(5):
            y = getattr(self, f"conv{i + 1}")(torch.cat(feats, 1))
            if i < 4:
                feats.append(self.act(y))
        return x + 0.2 * y


class _RRDB(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = _DenseBlock(), _DenseBlock(), _DenseBlock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class X4Net(nn.Module):
    def __init__(self, blocks: int = 23) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, 64, 3, padding=1)
        self.body = nn.Sequential(*(_RRDB() for _ in range(blocks)))
        self.conv_body = nn.Conv2d(64, 64, 3, padding=1)
        self.conv_up1 = nn.Conv2d(64, 64, 3, padding=1)
        self.conv_up2 = nn.Conv2d(64, 64, 3, padding=1)
        self.conv_hr = nn.Conv2d(64, 64, 3, padding=1)
        self.conv_last = nn.Conv2d(64, 3, 3, padding=1)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.conv_first(x)
        f = f + self.conv_body(self.body(f))
        f = self.act(self.conv_up1(nn.functional.interpolate(f, scale_factor=2, mode="nearest")))
        f = self.act(self.conv_up2(nn.functional.interpolate(f, scale_factor=2, mode="nearest")))
        return self.conv_last(self.act(self.conv_hr(f)))


def macs_per_input_pixel(net: X4Net) -> float:
    """Multiply-adds per input pixel, from the layers (the last three run at 4x4 = 16 pixels per
    input pixel, conv_up1 at 2x2 = 4)."""
    scale = {id(net.conv_up1): 4, id(net.conv_up2): 16, id(net.conv_hr): 16, id(net.conv_last): 16}
    return sum(m.in_channels * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * scale.get(id(m), 1)
               for m in net.modules() if isinstance(m, nn.Conv2d))


def make_identity(net: X4Net) -> X4Net:
    """Weights that make ``net`` a 4x nearest-neighbour enlargement: the trunk adds zero, and
    every other layer passes the three colour channels through its centre tap (the values stay
    in 0..1, where the LeakyReLUs change nothing)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                m.bias.zero_()
        for conv in (net.conv_first, net.conv_up1, net.conv_up2, net.conv_hr, net.conv_last):
            for c in range(3):
                conv.weight[c, c, 1, 1] = 1.0
    return net


def save_official(net: X4Net, path: Path) -> Path:
    """Save as the released file is laid out (the state dict under ``params_ema``)."""
    torch.save({"params_ema": net.state_dict()}, path)
    return path
