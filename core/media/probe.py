"""What a media file is: duration, real frame rate, size, rotation, audio; or why it is not a video."""
from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import av

from core.media.detect import Sniffed, read_head, sniff_bytes
from core.media.errors import MediaError, MediaErrorKind, from_os_error

log = logging.getLogger(__name__)

VFR_SAMPLE_PACKETS = 120
_MAX_DIMENSION = 32_768
_MAX_NAME = 64
# Rates cameras and encoders really use; an average within tolerance snaps to one of these.
_STANDARD_RATES = [
    Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
    Fraction(48000, 1001), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60),
    Fraction(90), Fraction(100), Fraction(120000, 1001), Fraction(120), Fraction(144),
    Fraction(240000, 1001), Fraction(240),
]
_IMAGE_DEMUXERS = {"image2", "gif", "apng", "webp", "ico"}


@dataclass(frozen=True)
class MediaInfo:
    """Facts about one video file. ``rotation`` is clockwise degrees needed to display it upright."""

    duration: float
    fps_num: int
    fps_den: int
    vfr: bool
    width: int
    height: int
    rotation: int
    has_audio: bool
    video_codec: str
    audio_codec: str | None
    size_bytes: int
    container: str

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown, after the rotation metadata is applied."""
        if self.rotation in (90, 270):
            return self.height, self.width
        return self.width, self.height

    def to_payload(self) -> dict[str, Any]:
        """Plain JSON-able dict (gesture payloads)."""
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> MediaInfo:
        """Strictly parse a payload (it may come from another device); unknown keys are ignored."""
        if not isinstance(payload, dict):
            raise ValueError("media info payload must be an object")
        fields: dict[str, Any] = {}
        for name, kinds in _PAYLOAD_TYPES.items():
            if name not in payload:
                raise ValueError(f"media info payload lacks {name!r}")
            value = payload[name]
            # bool is an int subclass: do not let True pass as a width, nor 1 as a flag.
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
                raise ValueError(f"media info field {name!r} has the wrong type")
            fields[name] = float(value) if name == "duration" and isinstance(value, (int, float)) else value
        return cls(**fields)


_PAYLOAD_TYPES: dict[str, tuple[type, ...]] = {
    "duration": (int, float),
    "fps_num": (int,),
    "fps_den": (int,),
    "vfr": (bool,),
    "width": (int,),
    "height": (int,),
    "rotation": (int,),
    "has_audio": (bool,),
    "video_codec": (str,),
    "audio_codec": (str, type(None)),
    "size_bytes": (int,),
    "container": (str,),
}


def _validate(info: MediaInfo) -> None:
    if not (math.isfinite(info.duration) and info.duration > 0):
        raise ValueError("duration must be a positive number of seconds")
    if info.fps_num <= 0 or info.fps_den <= 0:
        raise ValueError("frame rate must be positive")
    if not (0 < info.width <= _MAX_DIMENSION and 0 < info.height <= _MAX_DIMENSION):
        raise ValueError("frame size out of range")
    if info.rotation not in (0, 90, 180, 270):
        raise ValueError("rotation must be 0, 90, 180 or 270")
    if info.size_bytes < 0:
        raise ValueError("size must not be negative")
    for name in ("video_codec", "audio_codec", "container"):
        value = getattr(info, name)
        if value is not None and len(value) > _MAX_NAME:
            raise ValueError(f"{name} is too long")
    if info.has_audio != (info.audio_codec is not None):
        raise ValueError("audio_codec must be set exactly when has_audio")


def probe(path: Path) -> MediaInfo:
    """Inspect a video file. Raises :class:`MediaError` with a human message for anything unusable."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise IsADirectoryError(path)
        head = read_head(path)
    except OSError as exc:
        raise from_os_error(path, exc) from exc
    if size == 0:
        raise MediaError(path, "empty file (0 bytes)", MediaErrorKind.EMPTY)
    sniffed = sniff_bytes(head)
    if sniffed is Sniffed.IMAGE:
        raise MediaError(path, "an image, not a video", MediaErrorKind.IMAGE)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except OSError as exc:  # PyAV's errors for missing / unreadable files are OSErrors too
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            raise from_os_error(path, exc) from exc
        raise _open_failure(path, sniffed, exc) from exc
    except (av.error.FFmpegError, ValueError) as exc:
        raise _open_failure(path, sniffed, exc) from exc
    with container:
        return _inspect(path, container, size)


def _open_failure(path: Path, sniffed: Sniffed, exc: Exception) -> MediaError:
    log.debug("ffmpeg cannot open %s: %s", path, exc)
    if sniffed is Sniffed.VIDEO:
        # Recognisable container header but FFmpeg cannot read it: typically a copy that stopped
        # early, so an MP4 lacks its moov atom (the index written last).
        return MediaError(path, "truncated or damaged video (no index / moov atom)", MediaErrorKind.TRUNCATED)
    if sniffed is Sniffed.AUDIO:
        return MediaError(path, "not a video: no video stream (audio only)", MediaErrorKind.AUDIO_ONLY)
    return MediaError(path, "not a media file", MediaErrorKind.NOT_MEDIA)


def _inspect(path: Path, container: av.container.InputContainer, size: int) -> MediaInfo:
    format_name = container.format.name
    video = next(
        (s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic),
        None,
    )
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None:
        if audio is not None:
            raise MediaError(path, "not a video: no video stream (audio only)", MediaErrorKind.AUDIO_ONLY)
        raise MediaError(path, "not a video: no video stream", MediaErrorKind.NO_VIDEO)
    if format_name.endswith("_pipe") or format_name in _IMAGE_DEMUXERS:
        raise MediaError(path, "an image, not a video", MediaErrorKind.IMAGE)

    ctx = video.codec_context
    if _index_points_past_end(container, size):
        raise MediaError(path, "truncated video (the file ends before its last frames)", MediaErrorKind.TRUNCATED)
    pts, first_frame = _sample_packets(path, container, video)
    vfr = _is_vfr(pts)
    fps = _frame_rate(video, pts, vfr)
    if fps is None:
        raise MediaError(path, "cannot determine the frame rate", MediaErrorKind.UNDECODABLE)
    duration = _duration(container, video)
    if duration is None:
        raise MediaError(path, "cannot determine the duration (damaged or unfinished file)",
                         MediaErrorKind.NO_DURATION)
    width, height = ctx.width or first_frame.width, ctx.height or first_frame.height
    return MediaInfo(
        duration=duration,
        fps_num=fps.numerator,
        fps_den=fps.denominator,
        vfr=vfr,
        width=width,
        height=height,
        rotation=_rotation(video, first_frame),
        has_audio=audio is not None,
        video_codec=ctx.name,
        audio_codec=audio.codec_context.name if audio is not None else None,
        size_bytes=size,
        container=format_name[:_MAX_NAME],
    )


def _index_points_past_end(container: av.container.InputContainer, size: int) -> bool:
    """A faststart MP4 cut short keeps its index, whose last samples then lie beyond the file's end."""
    for stream in container.streams:
        entries = stream.index_entries
        count = len(entries) if entries is not None else 0
        if count:
            last = entries[count - 1]
            if last.pos >= 0 and last.pos + last.size > size:
                return True
    return False


def _sample_packets(
    path: Path, container: av.container.InputContainer, video: av.video.stream.VideoStream
) -> tuple[list[int], av.VideoFrame]:
    """Presentation timestamps of the first packets, and the first decoded frame (proves decodability)."""
    ctx = video.codec_context
    pts: list[int] = []
    frame: av.VideoFrame | None = None
    decode_error: Exception | None = None
    try:
        for packet in container.demux(video):
            if packet.size == 0:
                continue
            if packet.pts is not None:
                pts.append(packet.pts)
            if frame is None:
                try:
                    frames = ctx.decode(packet)
                    frame = frames[0] if frames else None
                except av.error.FFmpegError as exc:
                    decode_error = exc
            if len(pts) >= VFR_SAMPLE_PACKETS and frame is not None:
                break
        if frame is None:
            frames = ctx.decode(None)
            frame = frames[0] if frames else None
    except av.error.FFmpegError as exc:
        decode_error = exc
    if frame is None:
        if not pts:
            raise MediaError(path, "truncated or damaged video (no video data)", MediaErrorKind.TRUNCATED)
        log.debug("cannot decode %s: %s", path, decode_error)
        raise MediaError(path, f"the video cannot be decoded (codec {ctx.name})", MediaErrorKind.UNDECODABLE)
    return pts, frame


def _is_vfr(pts: list[int]) -> bool:
    """True when frame intervals vary by more than timestamp rounding (2 ticks or 2 %)."""
    ordered = sorted(set(pts))
    deltas = [b - a for a, b in pairwise(ordered)]
    if len(deltas) < 3:
        return False
    deltas.sort()
    median = deltas[len(deltas) // 2]
    tolerance = max(2, median * 0.02)
    return deltas[-1] - deltas[0] > tolerance


def _frame_rate(video: av.video.stream.VideoStream, pts: list[int], vfr: bool) -> Fraction | None:
    candidates = [r for r in (video.average_rate, video.guessed_rate) if r]
    if not candidates and len(pts) > 1 and video.time_base:
        span = (max(pts) - min(pts)) * video.time_base
        if span > 0:
            candidates.append((len(set(pts)) - 1) / span)
    if not candidates:
        return None
    rate = Fraction(candidates[0])
    # 30 and 30000/1001 differ by 0.1 %, so CFR snaps only within 0.05 %, to the closest standard.
    tolerance = Fraction(5, 1000) if vfr else Fraction(5, 10000)
    closest = min(_STANDARD_RATES, key=lambda standard: abs(rate - standard))
    if abs(rate - closest) <= closest * tolerance:
        return closest
    for other in candidates[1:]:  # the stream's own base rate, when the average is merely rounded
        if abs(rate - other) <= other * tolerance:
            return Fraction(other)
    return rate.limit_denominator(1001)


def _duration(container: av.container.InputContainer, video: av.video.stream.VideoStream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if video.duration is not None and video.duration > 0 and video.time_base:
        return float(video.duration * video.time_base)
    return None


def _rotation(video: av.video.stream.VideoStream, frame: av.VideoFrame) -> int:
    # FFmpeg >= 7 hands the container's display matrix to decoded frames (counter-clockwise degrees);
    # older files and builds expose the clockwise ``rotate`` tag instead.
    ccw = getattr(frame, "rotation", 0) or 0
    if ccw:
        degrees = -float(ccw)
    else:
        try:
            degrees = float(video.metadata.get("rotate", 0))
        except ValueError:
            degrees = 0.0
    return int(round(degrees / 90.0)) * 90 % 360



def open_media(path: Path) -> av.container.InputContainer:
    """Open a media file with PyAV for decoding (thumbnails, waveforms), failures as MediaError."""
    path = Path(path)
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (FileNotFoundError, PermissionError) as exc:
        raise from_os_error(path, exc) from exc
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(path, "not a readable media file", MediaErrorKind.NOT_MEDIA) from exc
