"""Real-ESRGAN x4plus as the render's AI upscaler: the official weights read by ``spandrel`` (no
``basicsr``), on the GPU in half precision, a batch of frames per call, with the colour
conversion and the resampling to the output size on the GPU too (only output-size pictures come
back to the CPU).

Imported only where torch and spandrel are: the Modal image and the GPU benchmark. Kept apart
from ``modal_app`` so that it loads without Modal.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import spandrel
import torch

from core.export.gpu_colour import i420_to_rgb, rgb_to_i420
from core.export.picture import Upscale

__all__ = ["load_upscaler"]

log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, bool], Upscale] = {}


def load_upscaler(weights: str | Path, *, channels_last: bool = True) -> Upscale:
    """The upscaler for ``weights`` (a .pth or .safetensors file spandrel recognises as a 4x
    model), loaded once per process. ``channels_last`` lays activations out the way the GPU's
    tensor cores read half-precision convolutions."""
    key = (str(weights), channels_last)
    if key in _LOADED:
        return _LOADED[key]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    descriptor = spandrel.ModelLoader(device=device).load_from_file(str(weights))
    if descriptor.scale != 4:
        raise ValueError(f"{weights}: a {descriptor.scale}x model, expected 4x")
    model = descriptor.model.eval().to(dtype)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=layout)
    # Crop sizes repeat for a whole clip: let cuDNN pick its fastest algorithm once per size.
    torch.backends.cudnn.benchmark = True
    log.info("Real-ESRGAN loaded from %s on %s (%s)", weights, device, dtype)

    def upscale(crops: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        out: list[Any] = [None] * len(crops)
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, crop in enumerate(crops):
            by_shape.setdefault(crop.shape, []).append(i)
        with torch.inference_mode():
            for idx in by_shape.values():  # one model call per crop size (usually one)
                frames = torch.from_numpy(np.stack([crops[i] for i in idx])).to(device)
                rgb = i420_to_rgb(frames, dtype).contiguous(memory_format=layout)
                big = model(rgb).clamp_(0, 1)
                for i, picture in zip(idx, rgb_to_i420(big, size).cpu().numpy(), strict=True):
                    out[i] = picture
        return out

    _LOADED[key] = upscale
    return upscale
