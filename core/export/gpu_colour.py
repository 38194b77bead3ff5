"""I420 <-> RGB and resampling as torch operations, so the AI upscaler's colour work runs on the
GPU next to the model (imported only where torch is: the Modal image, the benchmark).

BT.709 limited range both ways, so a picture that goes through unchanged comes back unchanged.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["i420_to_rgb", "rgb_to_i420"]

_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB


def i420_to_rgb(frames: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """(B, h*3/2, w) uint8 I420 -> (B, 3, h, w) RGB in 0..1."""
    b, rows, w = frames.shape
    h = rows * 2 // 3
    flat = frames.reshape(b, -1).to(dtype)
    y = flat[:, : h * w].reshape(b, 1, h, w)
    q = h * w // 4
    uv = torch.stack([flat[:, h * w: h * w + q], flat[:, h * w + q:]], 1).reshape(b, 2, h // 2, w // 2)
    uv = F.interpolate(uv, size=(h, w), mode="bilinear", align_corners=False)
    y = (y - 16) / 219
    cb, cr = (uv[:, :1] - 128) / 224, (uv[:, 1:] - 128) / 224
    r = y + 2 * (1 - _KR) * cr
    bl = y + 2 * (1 - _KB) * cb
    g = (y - _KR * r - _KB * bl) / _KG
    return torch.cat([r, g, bl], 1).clamp(0, 1)


def rgb_to_i420(rgb: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, 3, H, W) RGB in 0..1 -> resampled (area when shrinking) to ``size`` = (w, h) ->
    (B, h*3/2, w) uint8 I420."""
    w, h = size
    if rgb.shape[-2:] != (h, w):
        shrink = rgb.shape[-1] > w
        rgb = F.interpolate(rgb.float(), size=(h, w), mode="area" if shrink else "bicubic",
                            align_corners=None if shrink else False)
    r, g, bl = rgb[:, 0].float(), rgb[:, 1].float(), rgb[:, 2].float()
    y = _KR * r + _KG * g + _KB * bl
    cb = (bl - y) / (2 * (1 - _KB))
    cr = (r - y) / (2 * (1 - _KR))
    y = 16 + 219 * y
    chroma = F.avg_pool2d(torch.stack([cb, cr], 1), 2) * 224 + 128
    out = torch.cat([y.reshape(y.shape[0], -1), chroma.reshape(y.shape[0], -1)], 1)
    return out.round().clamp(0, 255).to(torch.uint8).reshape(y.shape[0], h * 3 // 2, w)
