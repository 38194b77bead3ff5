"""Export pipeline with real FFmpeg: RenderSpec JSON, and render() checked on decoded pixels and
samples of small generated videos (frame numbers, gradient and clicks from tests.fixtures.media).
"""
from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from core.editmath import crop_at
from core.enums import AspectRatio, OverlayShape, TransitionType, Upscaler
from core.export.render import Progress, RenderCancelled, RenderError, render
from core.export.spec import (
    SPEC_VERSION,
    ClipSpec,
    CropKeyframe,
    OutputSettings,
    OverlayStyle,
    RegionKeyframe,
    RenderSpec,
    SpecError,
    SpotlightRegion,
    Transition,
)
from tests.fixtures.media import (
    CLICK_AMPLITUDE,
    make_frame_rgb,
    make_video,
    read_frame_number,
)

SRC_W, SRC_H = 320, 240
LANDSCAPE_FULL = (CropKeyframe(0.0, 0.0, 0.0, 320.0, 180.0),)  # keeps the frame-number stripe
FPS30 = Fraction(30)


def clip(
    media_hash: str = "h30",
    *,
    end: float = 2.0,
    start: float = 0.0,
    fps: tuple[int, int] = (30, 1),
    size: tuple[int, int] = (SRC_W, SRC_H),
    aspect: AspectRatio = AspectRatio.LANDSCAPE,
    crop: tuple[CropKeyframe, ...] = LANDSCAPE_FULL,
    **changes,
) -> ClipSpec:
    base = ClipSpec(
        uid=f"clip-{media_hash}", media_hash=media_hash, src_start=start, src_end=end,
        fps_num=fps[0], fps_den=fps[1], width=size[0], height=size[1], aspect=aspect,
        rotation=0.0, crop_keyframes=crop, splits=(), speeds=(), trim=None, regions=(),
        style=OverlayStyle(), transition_in=Transition(),
    )
    return dataclasses.replace(base, **changes)


def output(width: int = 320, height: int = 180, **changes) -> OutputSettings:
    # Near-lossless and fast: the checks read pixels back.
    return OutputSettings(width, height, 30, 1, crf=12, preset="ultrafast", **changes)


def reel(*clips: ClipSpec, out: OutputSettings | None = None) -> RenderSpec:
    return RenderSpec(SPEC_VERSION, "project-1", clips[0].aspect, clips, out or output())


def run(
    spec: RenderSpec, media: dict[str, Path], tmp_path: Path, name: str = "out.mp4", **kwargs
) -> Path:
    return render(spec, media.__getitem__, tmp_path / name, **kwargs)


def frames_of(path: Path) -> tuple[list[np.ndarray], Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], rate


def audio_of(path: Path) -> tuple[np.ndarray, float]:
    """Left channel and the time of its first sample."""
    with av.open(str(path)) as container:
        frames = list(container.decode(container.streams.audio[0]))
    assert frames[0].sample_rate == 48_000
    return np.concatenate([f.to_ndarray()[0] for f in frames]), float(frames[0].time or 0.0)


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


# -- RenderSpec -------------------------------------------------------------------------------


def test_spec_json_round_trip_is_canonical() -> None:
    spec = reel(
        clip(
            splits=(("s1", 1.0),), speeds=(("s1", 0.5),), trim=(0.25, 2.0), rotation=-3.5,
            regions=(SpotlightRegion("r1", 0.0, 1.5, True, (RegionKeyframe(0, 100, 80, 30, 60),)),),
            style=OverlayStyle(shape=OverlayShape.GROUND, fill_opacity=0.2),
        ),
        clip("pal", end=1.0, fps=(25, 1), transition_in=Transition(TransitionType.DISSOLVE, 0.5)),
        out=output(upscaler=Upscaler.LANCZOS),
    )
    text = spec.to_json()
    again = RenderSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text
    assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    # 0.25..1 at 1x + 1..2 at 0.5x, then 1 s of the second clip overlapping by 0.5 s.
    assert spec.output_duration == pytest.approx(0.75 + 2.0 + 1.0 - 0.5)
    assert spec.clip_starts() == pytest.approx((0.0, 2.25))


def _mutated(path: tuple, value) -> str:
    fade = Transition(TransitionType.FADE, 0.5)
    data = json.loads(reel(clip(), clip(transition_in=fade)).to_json())
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("version",), 2, "unsupported RenderSpec version 2"),
        (("output", "width"), 321, "must be even"),
        (("output", "height"), 8192, "between 2 and 4096"),
        (("output", "fps_num"), 0, "fps must be positive"),
        (("output", "fps_num"), 1000, "between 1 and 240 fps"),
        (("output", "crf"), 20.5, "expected an integer"),
        (("output", "audio"), 1, "expected true or false"),
        (("output", "upscaler"), "bicubic", "is not one of"),
        (("output", "preset"), "warp", "preset must be one of"),
        (("clips", 0, "src_end"), -1.0, "src_end"),
        (("clips", 0, "speeds"), [["start", 0.0]], "speed of segment 'start'"),
        (("clips", 0, "trim"), [1.5, 0.5], "trim must satisfy start < end"),
        (("clips", 0, "trim"), [2.5, 9.0], "nothing of the clip is left"),
        (("clips", 0, "rotation"), 45.0, "rotation must be between -20 and 20"),
        (("clips", 0, "crop_keyframes", 0, "width"), -5.0, "width must be > 0"),
        (("clips", 0, "style", "color"), "yellow", "#RRGGBB"),
        (("clips", 0, "aspect"), "9:16", "aspect 9:16 != project 16:9"),
        (("clips", 1, "transition_in", "duration"), 6.0, "too short for its transitions"),
        (("clips", 0, "bogus"), 1, "unknown field(s) bogus"),
        (("clips",), [], "at least one clip"),
        (("output", "width"), 240, "does not have the project ratio"),
    ],
)
def test_spec_rejects_bad_input_with_a_clear_message(path: tuple, value, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        RenderSpec.from_json(_mutated(path, value))


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{", id="truncated"),
        pytest.param("[]", id="not-an-object"),
        pytest.param('{"version": 1}', id="missing-fields"),
        pytest.param(_mutated(("clips", 0, "style", "dim"), float("nan")), id="nan"),
        pytest.param(_mutated(("clips", 0, "src_start"), 1e400), id="overflow"),
    ],
)
def test_spec_rejects_malformed_documents(text: str) -> None:
    with pytest.raises(SpecError):
        RenderSpec.from_json(text)


def test_spec_trim_beyond_the_clip_is_clamped_like_the_editor() -> None:
    # The Timeline (shared with the preview) clamps; the spec must not reject what it shows.
    assert reel(clip(trim=(0.5, 9.0))).output_duration == pytest.approx(1.5)


def test_spec_constructor_validates_too() -> None:
    with pytest.raises(SpecError, match="speed"):
        clip(speeds=(("start", float("inf")),))
    with pytest.raises(SpecError, match="trim must satisfy"):
        clip(trim=(1.5, 1.0))


# -- timing -----------------------------------------------------------------------------------


def test_frames_and_duration_follow_the_edit_math(media, tmp_path) -> None:
    # Trim 0.5 s off the head, play 1.0..2.0 s at half speed: 0.5 + 2.0 = 2.5 s.
    c = clip(splits=(("s1", 1.0),), speeds=(("s1", 0.5),), trim=(0.5, 2.0))
    spec = reel(c)
    assert spec.output_duration == pytest.approx(2.5)
    out = run(spec, media, tmp_path)
    frames, rate = frames_of(out)
    assert rate == FPS30
    assert len(frames) == 75 == round(spec.output_duration * 30)
    with av.open(str(out)) as container:
        assert container.duration / av.time_base == pytest.approx(2.5, abs=1 / 30)
    timeline = c.timeline()
    expected = [math.floor(timeline.output_to_source(k / 30) * 30 + 1e-6) for k in range(75)]
    assert [read_frame_number(f) for f in frames] == expected
    assert expected[:3] == [15, 16, 17]  # the trim removed frames 0..14
    assert expected[15:19] == [30, 30, 31, 31]  # 0.5x shows every source frame twice


def test_mixed_frame_rates_conform_to_the_output_fps(media, tmp_path) -> None:
    spec = reel(clip("ntsc", end=1.0, fps=(30000, 1001)), clip("pal", end=1.0, fps=(25, 1)))
    frames, rate = frames_of(run(spec, media, tmp_path))
    assert rate == FPS30
    assert len(frames) == 60
    got = [read_frame_number(f) for f in frames]
    # Each output frame shows the latest source frame at or before its time.
    ntsc = [math.floor(k / 30 * 30000 / 1001 + 1e-6) for k in range(30)]
    pal = [math.floor(k / 30 * 25 + 1e-6) for k in range(30)]
    assert got == ntsc + pal
    assert got[29] == 28 and got[30:36] == [0, 0, 1, 2, 3, 4]


def test_cuts_are_frame_accurate_after_a_seek(media, tmp_path) -> None:
    # Keyframes every 30 frames: 1.5 s starts mid-GOP, decoding forward from frame 30.
    frames, _ = frames_of(run(reel(clip(start=1.5, end=2.0), clip(end=0.2)), media, tmp_path))
    assert [read_frame_number(f) for f in frames] == [*range(45, 60), *range(6)]


# -- picture ----------------------------------------------------------------------------------


def _full_range_video(path: Path, level: int) -> Path:
    """A flat grey picture stored full range (yuvj420p), as many phones write it."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = SRC_W, SRC_H, "yuvj420p"
        stream.options = {"preset": "ultrafast", "crf": "10"}
        for i in range(5):
            frame = av.VideoFrame(SRC_W, SRC_H, "yuvj420p")
            for plane, value in zip(frame.planes, (level, 128, 128), strict=True):
                np.frombuffer(plane, np.uint8)[...] = value
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def test_full_range_sources_keep_their_levels(media, tmp_path) -> None:
    media = {**media, "full": _full_range_video(tmp_path / "full.mp4", 50)}
    spec = reel(clip("full", end=5 / 30), out=output(audio=False))
    frames, _ = frames_of(run(spec, media, tmp_path))
    # Full-range luma 50 is RGB 50; read as limited range it would come out as 40.
    assert float(frames[0].mean()) == pytest.approx(50, abs=2)


def test_the_spotlight_dims_full_range_sources_in_limited_range(media, tmp_path) -> None:
    media = {**media, "full": _full_range_video(tmp_path / "full.mp4", 50)}
    style = OverlayStyle(stroke=0.0, dim=0.5)
    spec = reel(clip("full", end=5 / 30, regions=(_region(0.0, 1.0),), style=style), out=output(audio=False))
    frame = frames_of(run(spec, media, tmp_path))[0][2]
    assert float(frame[95:105, 150:170].mean()) == pytest.approx(50, abs=2)  # inside the region: untouched
    # Full-range 50 is limited 59; half way to black (16) is 38, which is RGB 25. Dimmed before
    # the range conversion it would be 33 -> limited 44 -> RGB 33.
    assert float(frame[20:40, 10:60].mean()) == pytest.approx(25, abs=2)


def _predicted_red(box, out_w: int) -> np.ndarray:
    """Red of the source gradient (linspace 0..255 over 320 columns) at each output column."""
    xs = box.x + (np.arange(out_w) + 0.5) * box.width / out_w - 0.5
    return np.clip(xs, 0, SRC_W - 1) * 255.0 / (SRC_W - 1)


def test_crop_follows_the_keyframes_like_the_preview(media, tmp_path) -> None:
    keys = (
        CropKeyframe(0.0, 0.0, 0.0, 135.0, 240.0),
        CropKeyframe(1.0, 150.0, 0.0, 135.0, 240.0),
        CropKeyframe(2.0, 185.0, 0.0, 135.0, 240.0),
    )
    c = clip(aspect=AspectRatio.PORTRAIT, crop=keys)
    frames, _ = frames_of(run(reel(c, out=output(180, 320)), media, tmp_path))
    assert len(frames) == 60 and frames[0].shape == (320, 180, 3)
    reds = []
    for k in (0, 10, 20, 30, 45, 59):
        box = crop_at(c.crop_track(), k / 30, SRC_W, SRC_H, AspectRatio.PORTRAIT, 0.0)
        band = frames[k][270:310, :, 0].astype(np.float32).mean(axis=0)  # below marker/stripe
        error = np.abs(band - _predicted_red(box, 180))
        assert np.median(error) < 4 and error[4:-4].max() < 12, (k, box)
        reds.append(band.mean())
    assert reds == sorted(reds) and reds[-1] - reds[0] > 120  # it really pans left to right


def test_rotation_turns_the_picture_clockwise_about_the_centre(media, tmp_path) -> None:
    box = (CropKeyframe(0.0, 60.0, 50.0, 200.0, 112.5),)
    c = clip(rotation=10.0, crop=box, end=0.5)
    frames, _ = frames_of(run(reel(c, out=output(320, 180)), media, tmp_path))
    # Independent reference: OpenCV rotation (its positive angle is counter-clockwise) + resize.
    src = make_frame_rgb(0, SRC_W, SRC_H)
    turn = cv2.getRotationMatrix2D((SRC_W / 2 - 0.5, SRC_H / 2 - 0.5), -10.0, 1.0)
    turned = cv2.warpAffine(src, turn, (SRC_W, SRC_H), flags=cv2.INTER_LINEAR)
    crop = crop_at(c.crop_track(), 0.0, SRC_W, SRC_H, AspectRatio.LANDSCAPE, 10.0)
    x0, y0, x1, y1 = crop.x, crop.y, crop.x + crop.width, crop.y + crop.height
    scale = cv2.getAffineTransform(
        np.float32([[x0, y0], [x1, y0], [x0, y1]]) - 0.5,
        np.float32([[0, 0], [320, 0], [0, 180]]) - 0.5,
    )
    expected = cv2.warpAffine(turned, scale, (320, 180), flags=cv2.INTER_LINEAR)
    mirrored = cv2.warpAffine(
        cv2.warpAffine(src, cv2.getRotationMatrix2D((159.5, 119.5), 10.0, 1.0), (SRC_W, SRC_H)),
        scale, (320, 180),
    )
    right = np.abs(frames[0].astype(np.int16) - expected).mean()
    wrong = np.abs(frames[0].astype(np.int16) - mirrored).mean()
    assert right < 3 and wrong > 4 * right, (right, wrong)


def test_display_matrix_rotation_is_applied(media, tmp_path) -> None:
    # A phone clip stored 320x240 with "rotate 90": editors see it (and crop it) as 240x320.
    c = clip(
        "rotated", end=0.5, size=(240, 320), aspect=AspectRatio.PORTRAIT,
        crop=(CropKeyframe(0.0, 30.0, 0.0, 180.0, 320.0),),
    )
    frames, _ = frames_of(run(reel(c, out=output(180, 320, audio=False)), media, tmp_path))
    upright = np.rot90(make_frame_rgb(0, SRC_W, SRC_H), k=-1)  # clockwise
    diff = np.abs(frames[0].astype(np.int16) - upright[:, 30:210].astype(np.int16))
    assert np.median(diff) <= 3


def _region(start: float, end: float) -> SpotlightRegion:
    return SpotlightRegion("r1", start, end, True, (RegionKeyframe(0.0, 160.0, 100.0, 50.0, 40.0),))


def test_spotlight_dims_outside_the_ellipse_and_fades_out(media, tmp_path) -> None:
    style = OverlayStyle(color="#FF0000", stroke=40.0, dim=0.5, fade_out=0.3)
    lit, _ = frames_of(run(reel(clip(regions=(_region(0.0, 1.0),), style=style)), media, tmp_path))
    plain, _ = frames_of(run(reel(clip()), media, tmp_path, "plain.mp4"))
    yy, xx = np.mgrid[0:180, 0:320]
    metric = ((xx + 0.5 - 160) / 50) ** 2 + ((yy + 0.5 - 100) / 40) ** 2
    bright = luma(plain[10]) > 60
    outside = (metric > 1.6) & bright
    outside[:20] = False  # the frame-number stripe
    inside = (metric < 0.6) & bright

    def ratio(k: int, where: np.ndarray) -> float:
        return float(np.median(luma(lit[k])[where] / luma(plain[k])[where]))

    assert ratio(10, outside) == pytest.approx(0.5, abs=0.04)
    assert ratio(10, inside) == pytest.approx(1.0, abs=0.03)
    # The ring: on the ellipse at its right-hand end, in the style's colour.
    r, g, b = lit[10][98:103, 207:212].reshape(-1, 3).mean(axis=0)
    assert r > 180 and g < 90 and b < 90
    # Fading out over the region's last 0.3 s: at 0.9 s a third of the effect is left.
    assert ratio(27, outside) == pytest.approx(1 - 0.5 / 3, abs=0.04)
    assert ratio(33, outside) == pytest.approx(1.0, abs=0.03)  # region over
    assert np.median(np.abs(lit[40].astype(np.int16) - plain[40])) <= 1


def test_ai_upscaled_pictures_get_the_same_spotlight_as_lanczos_ones(media, tmp_path) -> None:
    # The AI path skips the warp, where the dimming is drawn for every other picture.
    style = OverlayStyle(color="#FF0000", stroke=8.0, dim=0.5)
    keys = (CropKeyframe(0.0, 100.0, 60.0, 80.0, 45.0),)  # 4x zoom: the upscaler runs
    lit = clip(end=0.3, crop=keys, regions=(_region(0.0, 1.0),), style=style)
    ai, _ = frames_of(run(reel(lit, out=output(upscaler=Upscaler.REALESRGAN)), media, tmp_path, "ai.mp4",
                          realesrgan=RecordingModel()))
    lanczos, _ = frames_of(run(reel(lit, out=output(upscaler=Upscaler.LANCZOS)), media, tmp_path, "l.mp4"))
    plain, _ = frames_of(run(reel(clip(end=0.3, crop=keys), out=output(upscaler=Upscaler.LANCZOS)), media,
                             tmp_path, "plain.mp4"))
    corner = (slice(30, 80), slice(0, 100))  # far from the ellipse around output (240, 160)
    for pictures in (ai, lanczos):
        assert np.median(luma(pictures[5])[corner] / np.maximum(luma(plain[5])[corner], 1)) == pytest.approx(
            0.5, abs=0.05)
    assert np.median(np.abs(ai[5].astype(np.int16) - lanczos[5])) <= 4


def test_ground_shape_sits_at_the_bottom_of_the_region(media, tmp_path) -> None:
    style = OverlayStyle(color="#FF0000", stroke=40.0, dim=0.0, shape=OverlayShape.GROUND)
    spec = reel(clip(end=0.5, regions=(_region(0.0, 1.0),), style=style))
    lit, _ = frames_of(run(spec, media, tmp_path))
    plain, _ = frames_of(run(reel(clip(end=0.5)), media, tmp_path, "plain.mp4"))
    changed = np.abs(lit[5].astype(np.int16) - plain[5]).sum(axis=2) > 60
    rows = np.nonzero(changed.any(axis=1))[0]
    cols = np.nonzero(changed.any(axis=0))[0]
    # Ground ellipse: centre y 100 + 40, half-height 40 * 0.2 -> rows ~132..148 plus the stroke.
    assert rows.min() >= 125 and rows.max() <= 155
    assert cols.min() >= 100 and cols.max() <= 220 and cols.max() - cols.min() > 90


def test_fade_through_black(media, tmp_path) -> None:
    spec = reel(
        clip(end=1.0),
        clip(start=1.0, end=2.0, transition_in=Transition(TransitionType.FADE, 0.4)),
    )
    frames, _ = frames_of(run(spec, media, tmp_path))
    assert len(frames) == 60  # a fade does not overlap the clips
    level = [float(luma(f).mean()) for f in frames]
    assert level[30] < 25  # the cut itself is black
    assert level[30] < 0.2 * level[20] and level[30] < 0.2 * level[40]
    assert level[20] > level[27] > level[30] < level[33] < level[40]


def test_cross_dissolve_blends_the_two_clips(media, tmp_path) -> None:
    left = (CropKeyframe(0.0, 0.0, 0.0, 135.0, 240.0),)
    right = (CropKeyframe(0.0, 185.0, 0.0, 135.0, 240.0),)
    a = clip(end=1.0, aspect=AspectRatio.PORTRAIT, crop=left)
    b = clip(
        start=1.0, end=2.0, aspect=AspectRatio.PORTRAIT, crop=right,
        transition_in=Transition(TransitionType.DISSOLVE, 0.5),
    )
    spec = reel(a, b, out=output(90, 160))
    assert spec.output_duration == pytest.approx(1.5)
    frames, _ = frames_of(run(spec, media, tmp_path))
    assert len(frames) == 45
    red = [float(f[135:155, :, 0].mean()) for f in frames]
    w = (22 / 30 - 0.5) / 0.5
    assert red[22] == pytest.approx((1 - w) * red[10] + w * red[35], abs=6)
    assert red[10] + 60 < red[22] < red[35] - 30


class RecordingModel:
    """A fake x4 AI upscaler (bicubic through RGB) that records every input's size and every
    batch's length."""

    def __init__(self) -> None:
        self.inputs: list[tuple[int, int]] = []
        self.batches: list[int] = []

    def __call__(self, crops: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
        self.batches.append(len(crops))
        out = []
        for i420 in crops:
            h, w = i420.shape[0] * 2 // 3, i420.shape[1]
            self.inputs.append((w, h))
            rgb = cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)
            big = cv2.resize(rgb, (w * 4, h * 4), interpolation=cv2.INTER_CUBIC)
            out.append(cv2.cvtColor(big, cv2.COLOR_RGB2YUV_I420))
        return out


def test_upscalers_give_the_same_picture(media, tmp_path) -> None:
    model = RecordingModel()
    keys = (CropKeyframe(0.0, 100.0, 60.0, 80.0, 45.0),)  # 4x zoom
    base = clip(end=0.3, crop=keys)
    linear, _ = frames_of(run(reel(base), media, tmp_path, "linear.mp4"))
    lanczos, _ = frames_of(
        run(reel(base, out=output(upscaler=Upscaler.LANCZOS)), media, tmp_path, "lanczos.mp4")
    )
    esrgan, _ = frames_of(
        run(reel(base, out=output(upscaler=Upscaler.REALESRGAN)), media, tmp_path, "esrgan.mp4",
            realesrgan=model)
    )
    assert model.inputs and model.inputs[0] == (80, 46)  # the 80x45 crop at its own pixels, even
    for other in (lanczos, esrgan):
        assert other[0].shape == (180, 320, 3)
        assert np.median(np.abs(other[0].astype(np.int16) - linear[0])) <= 4


def test_ai_model_gets_the_crop_at_native_pixels_and_the_output_keeps_its_preset(tmp_path) -> None:
    # A 9:16 crop of a 640x360 source is 202.5x360: the model must see 204x360 (not a picture
    # shrunk to a quarter of the output) and the export stays the 1080x1920 preset.
    src = {"wide": make_video(tmp_path / "wide.mp4", width=640, height=360, seconds=0.2, audio=False)}
    model = RecordingModel()
    portrait = clip("wide", end=0.1, size=(640, 360), aspect=AspectRatio.PORTRAIT, crop=())
    plain, _ = frames_of(run(reel(portrait, out=output(1080, 1920)), src, tmp_path, "plain.mp4"))
    ai, _ = frames_of(run(reel(portrait, out=output(1080, 1920, upscaler=Upscaler.REALESRGAN)),
                          src, tmp_path, "ai.mp4", realesrgan=model))
    assert set(model.inputs) == {(204, 360)}
    assert model.batches == [3]  # the clip's 3 frames went to the model in one batch
    assert ai[0].shape == plain[0].shape == (1920, 1080, 3)
    assert np.median(np.abs(ai[0].astype(np.int16) - plain[0])) <= 6


def test_no_upscaler_runs_when_the_crop_is_not_smaller_than_the_output(media, tmp_path) -> None:
    model = RecordingModel()
    spec = reel(clip(end=0.1), out=output(upscaler=Upscaler.REALESRGAN))  # 320x180 crop -> 320x180
    run(spec, media, tmp_path, realesrgan=model)
    assert model.inputs == []


# -- sound ------------------------------------------------------------------------------------


def _clicks(samples: np.ndarray, first: float) -> list[float]:
    """Start times of the loud clicks (the tone alone stays at 0.25)."""
    loud = np.nonzero(np.abs(samples) > CLICK_AMPLITUDE * 0.55)[0]
    starts = [int(i) for n, i in enumerate(loud) if n == 0 or i - loud[n - 1] > 4800]
    return [first + i / 48_000 for i in starts]


def test_sound_stays_with_the_picture_through_trim_and_slow_motion(media, tmp_path) -> None:
    # Keep 0.5..3.0 s; 1.5..3.0 s at half speed. Clicks are at source 1.0 s and 2.0 s.
    c = clip(end=3.0, splits=(("s1", 1.5),), speeds=(("s1", 0.5),), trim=(0.5, 3.0))
    out = run(reel(c), media, tmp_path)
    frames, _ = frames_of(out)
    samples, first = audio_of(out)
    video_s = len(frames) / 30
    assert video_s == pytest.approx(4.0)
    assert first + len(samples) / 48_000 == pytest.approx(video_s, abs=1 / 30)
    numbers = [read_frame_number(f) for f in frames]
    clicks = _clicks(samples, first)
    assert len(clicks) == 2
    for source_frame, click in zip((30, 60), clicks, strict=True):
        shown_at = numbers.index(source_frame) / 30  # when the picture of that second appears
        assert abs(click - shown_at) <= 1 / 30, (source_frame, click, shown_at)
    assert clicks == pytest.approx([0.5, 2.0], abs=1 / 30)


def test_clips_without_sound_get_silence_and_audio_can_be_off(media, tmp_path) -> None:
    out = run(reel(clip(end=1.0), clip("noaudio", end=1.0)), media, tmp_path)
    samples, first = audio_of(out)
    assert first + len(samples) / 48_000 == pytest.approx(2.0, abs=1 / 30)
    assert np.abs(samples[: 48_000 - 2048]).max() > 0.2
    assert np.abs(samples[48_000 + 2048:]).max() < 0.01
    silent = run(reel(clip(end=0.5), out=output(audio=False)), media, tmp_path, "silent.mp4")
    with av.open(str(silent)) as container:
        assert not container.streams.audio


# -- progress, cancel, errors -----------------------------------------------------------------


def test_progress_is_monotonic_and_ends_at_one(media, tmp_path) -> None:
    seen: list[Progress] = []
    out = run(reel(clip(end=3.0)), media, tmp_path, on_progress=seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert seen[-1].fraction == 1.0 and seen[-1].stage == "done"
    assert fractions.count(1.0) == 1
    assert seen[-1].frames_done == seen[-1].frames_total == 90
    assert {p.stage for p in seen} >= {"preparing", "rendering", "done"}
    data = out.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart


def test_cancel_leaves_nothing_behind(media, tmp_path) -> None:
    polls = 0

    def cancelled() -> bool:
        nonlocal polls
        polls += 1
        return polls > 20

    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(RenderCancelled):
        render(reel(clip()), media.__getitem__, folder / "reel.mp4", cancelled=cancelled)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    ("resolver", "message"),
    [
        (lambda m: m["text"], "cannot be read"),
        (lambda m: m["h30"].with_name("gone.mp4"), "is missing"),
        (lambda m: m["nope"], "is not available"),
    ],
)
def test_bad_sources_fail_clearly(media, tmp_path, resolver: Callable, message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render(reel(clip()), lambda _h: resolver(media), tmp_path / "reel.mp4")
    assert list(tmp_path.iterdir()) == []


def test_realesrgan_needs_the_gpu_backend(media, tmp_path) -> None:
    spec = reel(clip(), out=output(upscaler=Upscaler.REALESRGAN))
    with pytest.raises(RenderError, match="needs a GPU: this computer's .* or the Modal backend's"):
        run(spec, media, tmp_path)
    assert list(tmp_path.iterdir()) == []
