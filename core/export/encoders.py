"""H.264 encoders: x264 everywhere, and the GPU encoders FFmpeg offers when this machine has one.

A hardware encoder counts as available only after a short test encode succeeds here: FFmpeg
builds list ``h264_nvenc`` & co. whether or not a GPU (or its driver) is present. Whatever is
chosen, x264 is the fallback, so an export never fails for want of a GPU.
"""
from __future__ import annotations

import functools
import logging
from fractions import Fraction

import av
import numpy as np

from core.enums import VideoEncoder

__all__ = ["CODECS", "HARDWARE", "available_hardware", "codec_chain", "stream_options"]

log = logging.getLogger(__name__)

CODECS: dict[VideoEncoder, str] = {
    VideoEncoder.X264: "libx264",
    VideoEncoder.NVENC: "h264_nvenc",
    VideoEncoder.QSV: "h264_qsv",
    VideoEncoder.AMF: "h264_amf",
}
HARDWARE = (VideoEncoder.NVENC, VideoEncoder.QSV, VideoEncoder.AMF)  # auto tries them in order
_PROBE_SIZE = 256  # small, but above every encoder's minimum frame size


def stream_options(encoder: VideoEncoder, crf: int, preset: str) -> dict[str, str]:
    """Encoder options for a constant-quality encode comparable to x264's ``crf``."""
    q = str(crf)
    if encoder is VideoEncoder.NVENC:
        return {"preset": "p5", "rc": "vbr", "cq": q, "b": "0"}
    if encoder is VideoEncoder.QSV:
        return {"global_quality": q, "preset": "medium"}
    if encoder is VideoEncoder.AMF:
        return {"rc": "cqp", "qp_i": q, "qp_p": q, "quality": "balanced"}
    return {"crf": q, "preset": preset}


def _test_encode(encoder: VideoEncoder) -> bool:
    """Open the encoder and encode a few frames; any failure means "not on this machine"."""
    try:
        ctx = av.CodecContext.create(CODECS[encoder], "w")
        if not isinstance(ctx, av.VideoCodecContext):
            return False
        ctx.width = ctx.height = _PROBE_SIZE
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 30)
        ctx.options = stream_options(encoder, 23, "medium")
        packets = 0
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(
                np.full((_PROBE_SIZE * 3 // 2, _PROBE_SIZE), 16 * i, np.uint8), format="yuv420p")
            frame.pts = i
            packets += len(ctx.encode(frame))
        packets += len(ctx.encode(None))
        return packets > 0
    except (av.FFmpegError, ValueError, OSError) as e:
        log.info("%s is not usable on this machine: %s", CODECS[encoder], e)
        return False


@functools.cache
def available_hardware() -> tuple[VideoEncoder, ...]:
    """The hardware encoders that passed a test encode in this process (tested once)."""
    return tuple(e for e in HARDWARE if _test_encode(e))


def codec_chain(choice: VideoEncoder) -> list[VideoEncoder]:
    """Encoders to try in order for ``choice``; x264 always ends the list."""
    if choice is VideoEncoder.AUTO:
        first = list(available_hardware()[:1])
    elif choice is VideoEncoder.X264 or choice not in available_hardware():
        first = []
    else:
        first = [choice]
    return [*first, VideoEncoder.X264]
