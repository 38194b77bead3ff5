"""RenderSpec: the frozen, versioned, JSON description of one project render (docs/ARCHITECTURE.md, "Export").

Built from the latest working-clip versions and stored on the export job, so later edits never
change a running export. Every instance is valid: each dataclass checks itself on construction
and raises ``SpecError``, and ``RenderSpec.from_json`` reports where in the document it failed.

Conventions: clip times are seconds from the clip start (0 = ``src_start`` in the media); crop
and spotlight coordinates are pixels of the upright source frame, ``width`` x ``height`` being
the media's display size (``MediaInfo.display_size``: rotation metadata applied);
``rotation`` is degrees, positive turns the picture clockwise on screen (Qt's convention).
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.editmath import MAX_ROTATION_DEG, Timeline, reel_starts, transition_overlap
from core.editmath.spotlight import DEFAULT_OVERLAY_STYLE
from core.enums import (
    AspectRatio,
    AudioCodec,
    OverlayShape,
    TextAlign,
    TextAnchor,
    TextFont,
    TitleBackground,
    TransitionType,
    Upscaler,
    VideoEncoder,
)
from core.export.spec_json import SpecError, build, plain

__all__ = [
    "MAX_OUTPUT_SIDE",
    "SPEC_VERSION",
    "X264_PRESETS",
    "ClipSpec",
    "CropKeyframe",
    "OutputSettings",
    "OverlayStyle",
    "RegionKeyframe",
    "RenderSpec",
    "SpecError",
    "SpotlightRegion",
    "TextElement",
    "TextRegion",
    "TitleCard",
    "Transition",
]

SPEC_VERSION = 1
MAX_OUTPUT_SIDE = 4096
MAX_SOURCE_SIDE = 16384
MIN_SPEED, MAX_SPEED = 1 / 16, 16.0
MAX_TRANSITION_S = 10.0
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow", "placebo",
)
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
# Float slop allowed where a caller computed an end time itself (e.g. trim end = duration).
_EPS = 1e-9


# -- field checks (raise SpecError naming the field) ----------------------------------------


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise SpecError(f"{name} must be a finite number, got {value!r}")


def _between(name: str, value: float, lo: float, hi: float) -> None:
    _finite(name, value)
    if not lo <= value <= hi:
        raise SpecError(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")


def _positive(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0:
        raise SpecError(f"{name} must be > 0, got {value!r}")


def _text(name: str, value: str) -> None:
    if not value:
        raise SpecError(f"{name} must not be empty")


def _fps(name: str, num: int, den: int, hi: int) -> None:
    if num <= 0 or den <= 0:
        raise SpecError(f"{name} must be positive, got {num}/{den}")
    if not 1 <= num / den <= hi:
        raise SpecError(f"{name} must be between 1 and {hi} fps, got {num}/{den}")


# -- the spec ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CropKeyframe:
    time: float
    x: float
    y: float
    width: float
    height: float

    def __post_init__(self) -> None:
        for name in ("time", "x", "y"):
            _finite(name, getattr(self, name))
        _positive("width", self.width)
        _positive("height", self.height)


@dataclass(frozen=True, slots=True)
class RegionKeyframe:
    """Spotlight ellipse at ``time``: centre (x, y) and radii (rx, ry), source pixels."""

    time: float
    x: float
    y: float
    rx: float
    ry: float

    def __post_init__(self) -> None:
        for name in ("time", "x", "y"):
            _finite(name, getattr(self, name))
        _positive("rx", self.rx)
        _positive("ry", self.ry)


def _span(uid: str, start: float, end: float) -> None:
    """A region's identity and its time range [start, end) in clip seconds."""
    _text("uid", uid)
    _finite("start", start)
    _finite("end", end)
    if end <= start:
        raise SpecError(f"end ({end}) must be after start ({start})")


@dataclass(frozen=True, slots=True)
class SpotlightRegion:
    uid: str
    start: float
    end: float
    enabled: bool
    keyframes: tuple[RegionKeyframe, ...]

    def __post_init__(self) -> None:
        _span(self.uid, self.start, self.end)


@dataclass(frozen=True, slots=True)
class OverlayStyle:
    """Spotlight look. ``stroke`` is the ring width in pixels of a 1080-pixel short side (so a
    render at another size looks the same); ``dim`` darkens outside the regions (0 = off);
    ``fade_out`` seconds fade the whole overlay out at a region's end."""

    color: str = DEFAULT_OVERLAY_STYLE["color"]
    stroke: float = DEFAULT_OVERLAY_STYLE["stroke"]
    fill_opacity: float = DEFAULT_OVERLAY_STYLE["fill_opacity"]
    dim: float = DEFAULT_OVERLAY_STYLE["dim"]
    shape: OverlayShape = OverlayShape(DEFAULT_OVERLAY_STYLE["shape"])
    fade_out: float = DEFAULT_OVERLAY_STYLE["fade_out"]

    def __post_init__(self) -> None:
        if not _COLOR.fullmatch(self.color):
            raise SpecError(f"color must look like #RRGGBB, got {self.color!r}")
        _between("stroke", self.stroke, 0.0, 200.0)
        _between("fill_opacity", self.fill_opacity, 0.0, 1.0)
        _between("dim", self.dim, 0.0, 1.0)
        _between("fade_out", self.fade_out, 0.0, 60.0)

    @property
    def rgb(self) -> tuple[int, int, int]:
        return (int(self.color[1:3], 16), int(self.color[3:5], 16), int(self.color[5:7], 16))


@dataclass(frozen=True, slots=True)
class TextElement:
    """One block of text in output space: ``size`` is a fraction of the output height,
    ``outline``/``shadow`` fractions of the text size, ``x``/``y``/``max_width`` fractions of the
    output (x/y None: placed by ``preset``), fades in seconds of clip time."""

    text: str
    font: TextFont = TextFont.SANS
    size: float = 0.06
    color: str = "#FFFFFF"
    align: TextAlign = TextAlign.CENTER
    preset: TextAnchor = TextAnchor.BOTTOM_CENTER
    x: float | None = None
    y: float | None = None
    max_width: float = 0.9
    outline: float = 0.0
    outline_color: str = "#000000"
    shadow: float = 0.0
    shadow_color: str = "#000000"
    fade_in: float = 0.0
    fade_out: float = 0.0

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise SpecError("text must not be empty")
        _between("size", self.size, 1e-6, 0.5)
        for name in ("color", "outline_color", "shadow_color"):
            if not _COLOR.fullmatch(getattr(self, name)):
                raise SpecError(f"{name} must look like #RRGGBB, got {getattr(self, name)!r}")
        for name in ("x", "y"):
            if getattr(self, name) is not None:
                _between(name, getattr(self, name), 0.0, 1.0)
        _between("max_width", self.max_width, 0.05, 1.0)
        _between("outline", self.outline, 0.0, 0.25)
        _between("shadow", self.shadow, 0.0, 0.25)
        _between("fade_in", self.fade_in, 0.0, 60.0)
        _between("fade_out", self.fade_out, 0.0, 60.0)


@dataclass(frozen=True, slots=True)
class TextRegion:
    """Text elements shown together over clip time [start, end)."""

    uid: str
    start: float
    end: float
    elements: tuple[TextElement, ...]

    def __post_init__(self) -> None:
        _span(self.uid, self.start, self.end)


@dataclass(frozen=True, slots=True)
class TitleCard:
    """A still of ``duration`` seconds before the first clip: a colour, or the picture of clip
    ``working_clip`` at its clip time ``time`` blurred (``blur``: a fraction of the output height)
    and dimmed towards black; text elements on top (their fades in card seconds)."""

    duration: float
    background: TitleBackground = TitleBackground.COLOR
    color: str = "#101010"
    working_clip: str | None = None
    time: float = 0.0
    blur: float = 0.02
    dim: float = 0.5
    elements: tuple[TextElement, ...] = ()
    # The working clip itself, for a render whose clips leave it out (a Modal chunk of the reel).
    clip: ClipSpec | None = None

    def __post_init__(self) -> None:
        _between("duration", self.duration, 0.5, 10.0)
        if self.clip is not None and self.clip.uid != self.working_clip:
            raise SpecError(f"title card clip {self.clip.uid!r} is not its working_clip {self.working_clip!r}")
        if not _COLOR.fullmatch(self.color):
            raise SpecError(f"color must look like #RRGGBB, got {self.color!r}")
        _between("time", self.time, 0.0, math.inf)
        _between("blur", self.blur, 0.0, 0.1)
        _between("dim", self.dim, 0.0, 1.0)


@dataclass(frozen=True, slots=True)
class Transition:
    """How a clip enters from the previous one. FADE dips through black: the previous clip's
    last ``duration``/2 fade out, this clip's first ``duration``/2 fade in (no overlap).
    DISSOLVE overlaps the two clips by ``duration``. The first clip's transition is ignored."""

    type: TransitionType = TransitionType.CUT
    duration: float = 0.0

    def __post_init__(self) -> None:
        _between("duration", self.duration, 0.0, MAX_TRANSITION_S)

    @property
    def overlap(self) -> float:
        """Seconds the two clips share in the output."""
        return transition_overlap(self.type, self.duration)

    @property
    def edge(self) -> float:
        """Seconds of each neighbouring clip the transition covers."""
        if self.type is TransitionType.DISSOLVE:
            return self.duration
        if self.type is TransitionType.FADE:
            return self.duration / 2.0
        return 0.0


@dataclass(frozen=True, slots=True)
class ClipSpec:
    uid: str
    media_hash: str
    src_start: float
    src_end: float
    fps_num: int
    fps_den: int
    width: int
    height: int
    aspect: AspectRatio
    rotation: float
    crop_keyframes: tuple[CropKeyframe, ...]
    splits: tuple[tuple[str, float], ...]
    speeds: tuple[tuple[str, float], ...]
    trim: tuple[float, float] | None
    regions: tuple[SpotlightRegion, ...]
    style: OverlayStyle
    transition_in: Transition
    text_regions: tuple[TextRegion, ...] = ()
    title: str = ""  # the clip's name: its chapter title in the exported file

    def __post_init__(self) -> None:
        _text("uid", self.uid)
        _text("media_hash", self.media_hash)
        _between("src_start", self.src_start, 0.0, math.inf)
        _finite("src_end", self.src_end)
        if self.src_end <= self.src_start:
            raise SpecError(f"src_end ({self.src_end}) must be after src_start ({self.src_start})")
        _fps("fps", self.fps_num, self.fps_den, 1000)
        _between("width", self.width, 1, MAX_SOURCE_SIDE)
        _between("height", self.height, 1, MAX_SOURCE_SIDE)
        _between("rotation", self.rotation, -MAX_ROTATION_DEG, MAX_ROTATION_DEG)
        for i, (uid, time) in enumerate(self.splits):
            _text(f"splits[{i}] uid", uid)
            _finite(f"splits[{i}] time", time)
        keys = [key for key, _ in self.speeds]
        if len(set(keys)) != len(keys):
            raise SpecError("speeds has a segment key twice")
        for key, speed in self.speeds:
            _between(f"speed of segment {key!r}", speed, MIN_SPEED, MAX_SPEED)
        if self.trim is not None:
            lo, hi = self.trim
            _finite("trim start", lo)
            _finite("trim end", hi)
            # Ends beyond the clip are clamped by the Timeline (a clip range shortened after
            # trimming keeps its trim); only an inverted trim is an error.
            if not lo < hi:
                raise SpecError(f"trim must satisfy start < end, got {self.trim}")
        if self.timeline().output_duration <= 0:
            raise SpecError("nothing of the clip is left to render")

    @property
    def duration(self) -> float:
        """Source seconds of the clip (before trim and speed)."""
        return self.src_end - self.src_start

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    def timeline(self) -> Timeline:
        """The clip's source <-> output mapping: the one the preview uses."""
        return Timeline(self.duration, self.splits, dict(self.speeds), self.trim)

    def crop_track(self) -> tuple[tuple[float, Mapping[str, float]], ...]:
        """Crop keyframes in the form ``crop_at`` takes (stable sort: at equal times the later
        one wins, as in the editor)."""
        ordered = sorted(self.crop_keyframes, key=lambda k: k.time)
        return tuple(
            (k.time, {"x": k.x, "y": k.y, "width": k.width, "height": k.height}) for k in ordered
        )


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Encoder settings: H.264 yuv420p (CRF, x264 preset), AAC 48 kHz stereo, faststart."""

    width: int
    height: int
    fps_num: int
    fps_den: int
    crf: int = 20
    preset: str = "medium"
    audio: bool = True
    audio_bitrate: int = 160_000
    faststart: bool = True
    upscaler: Upscaler = Upscaler.NONE
    encoder: VideoEncoder = VideoEncoder.X264  # resolved where it renders; x264 is the fallback
    audio_codec: AudioCodec = AudioCodec.AAC

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not 2 <= value <= MAX_OUTPUT_SIDE or value % 2:
                raise SpecError(
                    f"output {name} must be even and between 2 and {MAX_OUTPUT_SIDE}, got {value}"
                )
        _fps("output fps", self.fps_num, self.fps_den, 240)
        _between("crf", self.crf, 0, 51)
        if self.preset not in X264_PRESETS:
            raise SpecError(f"preset must be one of {', '.join(X264_PRESETS)}, got {self.preset!r}")
        _between("audio_bitrate", self.audio_bitrate, 32_000, 512_000)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)


@dataclass(frozen=True, slots=True)
class RenderSpec:
    version: int
    project_uid: str
    aspect: AspectRatio
    clips: tuple[ClipSpec, ...]
    output: OutputSettings
    title_card: TitleCard | None = None  # drawn before the first clip by every render path

    def __post_init__(self) -> None:
        if self.version != SPEC_VERSION:
            raise SpecError(
                f"unsupported RenderSpec version {self.version} (this build reads {SPEC_VERSION})"
            )
        _text("project_uid", self.project_uid)
        if not self.clips:
            raise SpecError("a render needs at least one clip")
        out = self.output
        # Crops have the project ratio; a different output ratio would stretch the picture.
        if abs(out.width - out.height * self.aspect.ratio) > 2:
            raise SpecError(
                f"output {out.width}x{out.height} does not have the project ratio "
                f"{self.aspect.value}"
            )
        durations = [c.timeline().output_duration for c in self.clips]
        for i, clip in enumerate(self.clips):
            if clip.aspect is not self.aspect:
                raise SpecError(
                    f"clips[{i}] aspect {clip.aspect.value} != project {self.aspect.value}"
                )
            head = clip.transition_in.edge if i > 0 else 0.0
            tail = self.clips[i + 1].transition_in.edge if i + 1 < len(self.clips) else 0.0
            if head + tail > durations[i] + _EPS:
                raise SpecError(
                    f"clips[{i}] lasts {durations[i]:.3f} s, too short for its transitions "
                    f"({head:g} s in + {tail:g} s out)"
                )

    def clip_starts(self) -> tuple[float, ...]:
        """Output time at which each clip begins (dissolves pull the next clip earlier)."""
        return tuple(self._reel()[0])

    @property
    def output_duration(self) -> float:
        return self._reel()[1]

    def _reel(self) -> tuple[list[float], float]:
        return reel_starts([c.timeline().output_duration for c in self.clips],
                           [c.transition_in.overlap for c in self.clips])

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, compact, so equal specs give equal bytes."""
        return json.dumps(plain(self), sort_keys=True, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> RenderSpec:
        def no_constant(name: str) -> Any:
            raise SpecError(f"RenderSpec contains {name}; every number must be finite")

        try:
            data = json.loads(text, parse_constant=no_constant)
        except json.JSONDecodeError as e:
            raise SpecError(f"RenderSpec is not valid JSON: {e}") from None
        except (TypeError, UnicodeDecodeError) as e:
            raise SpecError(f"RenderSpec is not JSON text: {e}") from None
        if isinstance(data, dict) and data.get("version") != SPEC_VERSION:
            # Before field checks: a newer document's unknown fields would hide the real cause.
            raise SpecError(
                f"unsupported RenderSpec version {data.get('version')!r} "
                f"(this build reads {SPEC_VERSION})"
            )
        spec = build(cls, data, "spec")
        assert isinstance(spec, cls)
        return spec
