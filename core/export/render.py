"""The export pipeline (DESIGN §7): one pass from the sources to one MP4, no files in between.

decode → rotate → animated crop → scale/upscale → spotlight → speed → transitions → encode

Per output frame at the output fps the clip Timeline gives the source time; the source is decoded
sequentially (one seek per clip) and the latest frame at or before that time is shown, which
conforms any source frame rate (and slow motion) to the output fps. Rotation, crop and scale are
ONE affine warp per plane, done on the decoded YUV 4:2:0 planes: no RGB round trip, the source's
colours pass through untouched. Crop boxes come from ``core.editmath.crop_at``, the function the
preview uses, so preview and render cannot disagree.

Audio per clip is decoded once, cut at the segment bounds, time-stretched by each segment's speed
with FFmpeg's ``atempo`` (pitch kept) and padded/trimmed to the exact sample count the Timeline
gives, so it can never drift from the picture. Transitions blend in memory: a dissolve renders
the two overlapping clips from two decoders side by side.
"""
from __future__ import annotations

import logging
import math
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from core.editmath import Box, Timeline, crop_at, interpolate
from core.enums import OverlayShape, TransitionType, Upscaler
from core.export.chapters import chapters
from core.export.spec import (
    ClipSpec,
    OutputSettings,
    OverlayStyle,
    RenderSpec,
    Transition,
)
from core.text import TextOverlay

__all__ = ["AUDIO_RATE", "Progress", "RenderCancelled", "RenderError", "Upscale", "render"]

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000
_AAC_FRAME = 1024
_ATEMPO_PREROLL_S = 0.25
_AUDIO_LEAD_S = 1.0  # encode audio at most this far ahead of the picture (keeps muxing interleaved)
_PROGRESS_EVERY_S = 0.1
_EPS = 1e-6  # seconds of float slop when placing output times on clips and source frames
_REGION_PROPS = ("x", "y", "rx", "ry")
_GROUND_FLATTEN = 0.2  # ground shape: the region's width, this fraction of its height
_STROKE_REFERENCE = 1080  # OverlayStyle.stroke is in pixels of a 1080-pixel short side
_SHIFT = 4  # cv2 drawing: 4 fractional bits, so rings move smoothly by sub-pixels
_BLACK = (16, 128, 128)  # limited-range YUV black: what fades go through

# RGB uint8 picture (h, w, 3) in, the same picture upscaled (normally x4) out.
Upscale = Callable[[np.ndarray], np.ndarray]
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y, U, V of a yuv420p picture


class RenderError(RuntimeError):
    """The render could not be done (missing or unreadable source, encoder failure...)."""


class RenderCancelled(Exception):
    """The caller's cancel flag was raised; nothing was left at the output path."""


@dataclass(frozen=True, slots=True)
class Progress:
    fraction: float  # 0..1, never decreases, 1.0 exactly once at the end
    stage: str  # "preparing" | "rendering" | "finishing" | "done"
    frames_done: int
    frames_total: int
    eta_s: float | None  # None until there is a rate to extrapolate from


def render(
    spec: RenderSpec,
    resolve_media: Callable[[str], Path],
    out_path: Path,
    on_progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    realesrgan: Upscale | None = None,
) -> Path:
    """Render ``spec`` to ``out_path`` (H.264 + AAC MP4) and return it.

    The file appears atomically: it is written next to ``out_path`` under a temporary name and
    renamed at the end; on cancel or failure the temporary file is removed. ``realesrgan`` is the
    AI upscaler for ``Upscaler.REALESRGAN`` (the Modal GPU backend injects it).
    """
    out_path = Path(out_path)
    is_cancelled = cancelled or (lambda: False)
    report = _Reporter(on_progress)
    report("preparing", 0, 0)
    out = spec.output
    if out.upscaler is Upscaler.REALESRGAN and realesrgan is None:
        raise RenderError(
            "Real-ESRGAN upscaling needs the Modal GPU backend; "
            "export with upscaler 'none' or 'lanczos' to render on this machine"
        )
    if spec.title_card is not None:  # drawn by core.export.incremental (local exports) only
        log.warning("project %s: this one-pass render leaves out the title card", spec.project_uid)
    paths = [_resolve(clip, resolve_media) for clip in spec.clips]
    placements = _layout(spec, paths)
    fps = out.fps
    frames_total = max(1, math.floor(spec.output_duration * fps + 0.5))
    audio_total = (frames_total * AUDIO_RATE * fps.denominator) // fps.numerator

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:12]}.partial.mp4")
    started = time.monotonic()
    try:
        with av.open(
            str(tmp), "w", format="mp4",
            container_options={"movflags": "+faststart"} if out.faststart else {},
        ) as container:
            video = add_video_stream(container, out)
            audio = _AudioTrack(container, out, audio_total) if out.audio else None
            container.set_chapters(chapters(spec))
            _render_frames(
                placements, out, frames_total, realesrgan, video, container, audio,
                is_cancelled, report,
            )
            report("finishing", frames_total, frames_total)
            for packet in video.encode(None):
                container.mux(packet)
            if audio is not None:
                audio.flush(audio_total, final=True)
        if is_cancelled():  # the close (faststart rewrite) can take a while on long reels
            raise RenderCancelled()
        os.replace(tmp, out_path)
    except RenderCancelled:
        log.info("render of project %s cancelled", spec.project_uid)
        _remove(tmp)
        raise
    except av.FFmpegError as e:
        _remove(tmp)
        raise RenderError(f"encoding failed: {e}") from e
    except BaseException:
        _remove(tmp)
        raise
    log.info(
        "rendered project %s: %d frames %dx%d in %.1f s -> %s",
        spec.project_uid, frames_total, out.width, out.height, time.monotonic() - started, out_path,
    )
    report("done", frames_total, frames_total)
    return out_path


def add_video_stream(container: av.container.OutputContainer, out: OutputSettings) -> av.VideoStream:
    """The H.264 stream every render (and every cached part of one) is encoded with."""
    video = container.add_stream("libx264", rate=out.fps)
    video.width, video.height, video.pix_fmt = out.width, out.height, "yuv420p"
    video.options = {"crf": str(out.crf), "preset": out.preset}
    # PyAV defaults to slice threads, which makes x264 slower and worse than the frame
    # threads the ffmpeg command line uses.
    video.codec_context.thread_type = "AUTO"
    video.codec_context.time_base = 1 / out.fps
    return video


# -- plan -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Placement:
    """One clip laid on the output timeline, with its transition envelopes."""

    clip: ClipSpec
    path: Path
    timeline: Timeline
    start: float  # output seconds
    duration: float  # output seconds
    fade_in: float  # seconds of fade from black at the head (0 = none)
    fade_out: float  # ... to black at the tail
    mix_in: float  # seconds of dissolve overlap with the previous clip
    mix_out: float  # ... with the next clip

    @property
    def end(self) -> float:
        return self.start + self.duration

    def gain(self, u: np.ndarray | float) -> np.ndarray | float:
        """Picture/sound level at clip-local output time(s) ``u``: fades and dissolves are
        linear ramps, so the two clips of a dissolve always sum to 1."""
        g = np.ones_like(u, dtype=np.float64) if isinstance(u, np.ndarray) else 1.0
        left = self.duration - u
        for ramp, t in (
            (self.fade_in, u), (self.mix_in, u), (self.fade_out, left), (self.mix_out, left)
        ):
            if ramp > 0:
                g = g * np.clip(t / ramp, 0.0, 1.0)
        return g


def _resolve(clip: ClipSpec, resolve_media: Callable[[str], Path]) -> Path:
    where = f"clip {clip.uid} (media {clip.media_hash[:12]})"
    try:
        path = Path(resolve_media(clip.media_hash))
    except Exception as e:  # the resolver is the caller's; any failure means "no media"
        raise RenderError(f"source of {where} is not available: {e}") from e
    if not path.is_file():
        raise RenderError(f"source of {where} is missing: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RenderError(f"source of {where} has no video: {path}")
    except av.FFmpegError as e:
        raise RenderError(f"source of {where} cannot be read ({path}): {e}") from e
    return path


def _layout(spec: RenderSpec, paths: Sequence[Path]) -> list[_Placement]:
    starts = spec.clip_starts()
    clips = spec.clips
    result = []
    for i, clip in enumerate(clips):
        t_in = clip.transition_in if i else Transition()
        t_out = clips[i + 1].transition_in if i + 1 < len(clips) else Transition()
        timeline = clip.timeline()
        result.append(_Placement(
            clip=clip, path=paths[i], timeline=timeline, start=starts[i],
            duration=timeline.output_duration,
            fade_in=t_in.edge if t_in.type is TransitionType.FADE else 0.0,
            fade_out=t_out.edge if t_out.type is TransitionType.FADE else 0.0,
            mix_in=t_in.overlap, mix_out=t_out.overlap,
        ))
    return result


# -- the frame loop ---------------------------------------------------------------------------


def _render_frames(
    placements: list[_Placement], out: OutputSettings, frames_total: int,
    realesrgan: Upscale | None, video: av.VideoStream, container: av.container.OutputContainer,
    audio: _AudioTrack | None, cancelled: Callable[[], bool], report: _Reporter,
) -> None:
    """Encode and mux on this thread while a _Pictures thread decodes and warps the next
    frames: on two cores the encoder no longer waits for our per-frame work."""
    fps_num, fps_den = out.fps_num, out.fps_den
    pictures = _Pictures(placements, out, frames_total, realesrgan)
    next_clip = 0
    try:
        for k in range(frames_total):
            if cancelled():
                raise RenderCancelled()
            t = k * fps_den / fps_num
            if audio is not None:
                while next_clip < len(placements) and placements[next_clip].start <= t + _EPS:
                    audio.add(placements[next_clip], _clip_audio(placements[next_clip], cancelled))
                    next_clip += 1
                # Nothing before the next clip's start can change any more.
                limit = t + _AUDIO_LEAD_S
                if next_clip < len(placements):
                    limit = min(limit, placements[next_clip].start)
                audio.flush(math.floor(limit * AUDIO_RATE))
            vf = pictures.get()
            vf.pts = k
            for packet in video.encode(vf):
                container.mux(packet)
            report("rendering", k + 1, frames_total)
    finally:
        pictures.close()


class _Pictures:
    """The output pictures, made ahead on a thread into a small ring of reused encoder frames.

    libx264 copies each picture into its own frame pool during encode(), so a ring slot can be
    refilled once the frame handed out before it has been encoded; the bounded queue keeps the
    producer at most ``_AHEAD`` frames ahead, which is what makes the reuse safe."""

    _AHEAD = 4

    def __init__(
        self, placements: list[_Placement], out: OutputSettings, frames_total: int,
        realesrgan: Upscale | None, first: int = 0,
    ) -> None:
        # first: the output frame to start at (a part of the reel; placements are its clips)
        self._queue: queue.Queue = queue.Queue(self._AHEAD)
        self._stop = threading.Event()
        # queue + the one being filled + the one the encoder holds
        self._ring = [av.VideoFrame(out.width, out.height, "yuv420p") for _ in range(self._AHEAD + 2)]
        self._thread = threading.Thread(
            target=self._run, args=(placements, out, frames_total, realesrgan, first),
            name="render-pictures", daemon=True,
        )
        self._thread.start()

    def get(self) -> av.VideoFrame:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def _run(
        self, placements: list[_Placement], out: OutputSettings, frames_total: int,
        realesrgan: Upscale | None, first: int,
    ) -> None:
        fps_num, fps_den = out.fps_num, out.fps_den
        w, h = out.width, out.height
        active: dict[int, _ClipVideo] = {}
        next_clip = 0
        blend = np.empty(w * h * 3 // 2, np.uint8)
        try:
            for k in range(first, frames_total):
                t = k * fps_den / fps_num
                while next_clip < len(placements) and placements[next_clip].start <= t + _EPS:
                    active[next_clip] = _ClipVideo(placements[next_clip], out, realesrgan)
                    next_clip += 1
                for i in [i for i in active if placements[i].end <= t + _EPS and i + 1 < next_clip]:
                    active.pop(i).close()
                layers = [(c.render(t), float(c.placement.gain(t - c.placement.start)))
                          for c in active.values()]
                vf = self._ring[k % len(self._ring)]
                _fill_frame(vf, _compose(layers, blend, w * h), w, h)
                if not self._put(vf):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the encoding thread, raised there
            self._put(e)
        finally:
            for c in active.values():
                c.close()


def _fill_frame(frame: av.VideoFrame, buf: np.ndarray, w: int, h: int) -> None:
    """Copy ``buf`` into the encoder frame's planes (plain numpy copies: from_ndarray is 3x
    slower)."""
    for plane, view in zip(frame.planes, _yuv_views(buf, w, h)):
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : plane.width] = view


def _compose(layers: list[tuple[np.ndarray, float]], out: np.ndarray, luma: int) -> np.ndarray:
    """Σ gain·(layer - black) + black, per plane; one layer at full level passes through."""
    if len(layers) == 1 and layers[0][1] >= 1.0:
        return layers[0][0]
    for lo, hi, black in ((0, luma, _BLACK[0]), (luma, out.size, _BLACK[1])):
        acc: np.ndarray | None = None
        rest = 1.0
        for buf, g in layers:
            if acc is None:
                acc = cv2.addWeighted(buf[lo:hi], g, buf[lo:hi], 0.0, 0.0)
            else:
                acc = cv2.addWeighted(acc, 1.0, buf[lo:hi], g, 0.0)
            rest -= g
        # Adding black's share last keeps every partial sum inside 0..255.
        out[lo:hi] = cv2.addWeighted(acc, 1.0, acc, 0.0, black * rest).reshape(-1)
    return out


# -- video: decode, warp, spotlight -----------------------------------------------------------


def _media_origin(container: av.container.InputContainer) -> float:
    """Media time 0 in container seconds: the container start, shared by audio and video so
    they stay in sync (players show the same)."""
    start = container.start_time
    return start / av.time_base if start is not None else 0.0


class _FrameSource:
    """Sequential decoder answering "the latest frame at or before media time t"."""

    def __init__(self, path: Path, first_time: float, frame_s: float) -> None:
        try:
            self._container = av.open(str(path))
        except av.FFmpegError as e:
            raise RenderError(f"cannot open {path}: {e}") from e
        self._path = path
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.origin = _media_origin(self._container)
        # A pts rounded to a coarse time base (1 ms in MKV) may sit just after the true time;
        # anything finer must not blur 29.97 into 30 fps (33 us apart after one frame).
        self._tol = min(max(1e-6, float(self._stream.time_base or 0) / 2), frame_s / 4)
        target = self.origin + first_time
        seek = target > self.origin + 0.001
        self._frames = self._decode_from(target if seek else None)
        first = next(self._frames, None)
        if seek and (first is None or (first.time or 0.0) > target + frame_s):
            # A broken index can land the seek after the target: decode from the start instead.
            self._frames = self._decode_from(self.origin)
            first = next(self._frames, None)
        if first is None:
            raise RenderError(f"{path.name} has no pictures at {first_time:.3f} s")
        self._current: av.VideoFrame | None = None
        self._next: av.VideoFrame | None = first
        self.index = 0  # counts frames taken, so callers can tell a repeat from a new frame

    def _decode_from(self, t: float | None) -> Iterator[av.VideoFrame]:
        """Frames from the keyframe at or before media time ``t`` (None: where we are)."""
        stream = self._stream
        try:
            if t is not None:
                self._container.seek(
                    math.floor(t / stream.time_base), stream=stream, backward=True
                )
            yield from self._container.decode(stream)
        except av.FFmpegError as e:
            raise RenderError(f"cannot decode {self._path.name}: {e}") from e

    def frame_at(self, t: float) -> av.VideoFrame:
        t += self.origin + self._tol
        while self._next is not None and (self._next.time is None or self._next.time <= t):
            self._current, self._next = self._next, next(self._frames, None)
            self.index += 1
        # Before the first frame (a stream starting late) show the first one.
        shown = self._current if self._current is not None else self._next
        assert shown is not None  # __init__ made sure there is a first frame
        return shown

    def close(self) -> None:
        self._container.close()


def _planes(frame: av.VideoFrame) -> Planes:
    """Y, U, V of a frame as numpy views (no copy for yuv420p sources)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")  # full-range, 4:2:2, 10-bit... -> 8-bit 4:2:0
    out = []
    for plane in frame.planes:
        a = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(a[:, : plane.width])
    return out[0], out[1], out[2]


def _upright_to_stored(cw: int, stored_w: int, stored_h: int) -> np.ndarray:
    """Upright (displayed) continuous coords -> stored frame coords, for a display matrix that
    turns the stored frame ``cw`` degrees clockwise."""
    return {
        0: np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64),
        90: np.array([[0, 1, 0], [-1, 0, stored_h], [0, 0, 1]], np.float64),
        180: np.array([[-1, 0, stored_w], [0, -1, stored_h], [0, 0, 1]], np.float64),
        270: np.array([[0, -1, stored_w], [1, 0, 0], [0, 0, 1]], np.float64),
    }[cw]


def _unrotate(clip: ClipSpec) -> np.ndarray:
    """Rotated-picture coords -> source coords (spec pixels): the inverse of turning the picture
    ``clip.rotation`` degrees clockwise about the frame centre."""
    a = math.radians(clip.rotation)
    c, s = math.cos(a), math.sin(a)
    cx, cy = clip.width / 2.0, clip.height / 2.0
    return np.array([[c, s, cx - c * cx - s * cy], [-s, c, cy + s * cx - c * cy], [0, 0, 1]])


def _crop_to(box: Box, out_w: int, out_h: int) -> np.ndarray:
    """Output continuous coords -> rotated-picture coords of the crop box."""
    return np.array([
        [box.width / out_w, 0, box.x], [0, box.height / out_h, box.y], [0, 0, 1]
    ])


def _cv_maps(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x3 inverse maps (destination index -> source index) for cv2.warpAffine on the luma and
    the half-size chroma planes, from a continuous-coordinate map (pixel centres at +0.5)."""
    lin, c = m[:2, :2], m[:2, 2]
    centre = lin @ np.array([0.5, 0.5])
    luma = np.hstack([lin, (centre + c - 0.5)[:, None]])
    chroma = np.hstack([lin, (centre + c / 2.0 - 0.5)[:, None]])
    return luma, chroma


class _ClipVideo:
    """Renders the pictures of one placed clip into its own YUV buffer."""

    def __init__(
        self, placement: _Placement, out: OutputSettings, realesrgan: Upscale | None
    ) -> None:
        self.placement = p = placement
        clip = p.clip
        self._clip = clip
        self._w, self._h = out.width, out.height
        self._flags = cv2.INTER_LANCZOS4 if out.upscaler is Upscaler.LANCZOS else cv2.INTER_LINEAR
        self._upscale = realesrgan if out.upscaler is Upscaler.REALESRGAN else None
        self._crop_track = clip.crop_track()
        self._regions = [
            (r, tuple((k.time, {"x": k.x, "y": k.y, "rx": k.rx, "ry": k.ry})
                      for k in sorted(r.keyframes, key=lambda k: k.time)))
            for r in clip.regions if r.enabled and r.keyframes
        ]
        self._spotlight = _Spotlight(clip.style, self._w, self._h) if self._regions else None
        self._text = TextOverlay(clip.text_regions, self._w, self._h)
        self._unrotate = _unrotate(clip)
        self.buf = np.empty(self._w * self._h * 3 // 2, np.uint8)
        self._views = _yuv_views(self.buf, self._w, self._h)
        first = clip.src_start + p.timeline.output_to_source(0.0)
        self._source = _FrameSource(p.path, first, clip.fps_den / clip.fps_num)
        self._last_key: tuple | None = None

    def close(self) -> None:
        self._source.close()

    def render(self, t_out: float) -> np.ndarray:
        p, clip = self.placement, self._clip
        s = p.timeline.output_to_source(t_out - p.start)  # clip time of this output frame
        frame = self._source.frame_at(clip.src_start + s)
        box = crop_at(self._crop_track, s, clip.width, clip.height, clip.aspect, clip.rotation)
        shapes = self._spotlight_shapes(s, box)
        texts = self._text.state(s)
        key = (self._source.index, box, shapes, texts)
        if key == self._last_key:  # slow motion on a still crop: the same picture again
            return self.buf
        self._last_key = key
        self._warp(frame, box)
        if shapes:
            self._spotlight.apply(self._views, shapes)  # type: ignore[union-attr]
        self._text.draw(self._views, texts)  # output space: after the crop, unmoved by it
        return self.buf

    def _source_map(self, frame: av.VideoFrame, box: Box, out_w: int, out_h: int) -> np.ndarray:
        """Output continuous coords -> stored-frame continuous coords: crop, rotation, the
        source's real size (a proxy may be smaller) and its display matrix, as one affine."""
        cw = round(-(frame.rotation or 0)) % 360
        cw = cw if cw in (0, 90, 180, 270) else 0
        up_w, up_h = (frame.height, frame.width) if cw in (90, 270) else (frame.width, frame.height)
        scale = np.diag([up_w / self._clip.width, up_h / self._clip.height, 1.0])
        return (
            _upright_to_stored(cw, frame.width, frame.height)
            @ scale @ self._unrotate @ _crop_to(box, out_w, out_h)
        )

    def _warp(self, frame: av.VideoFrame, box: Box) -> None:
        # Phone footage is often full range; the output is limited range like all H.264 players
        # expect, so squeeze it (on the warped planes: cheaper than a swscale pass).
        full = frame.color_range == _FULL_RANGE or frame.format.name.startswith("yuvj")
        src = _planes(frame)
        if self._upscale is None:
            luma, chroma = _cv_maps(self._source_map(frame, box, self._w, self._h))
            _warp_planes(src, self._views, luma, chroma, self._flags)
            if full:
                _to_limited_range(self._views)
            return
        # AI upscaling: crop to a quarter of the output size, upscale, fit exactly.
        iw, ih = _even_up(self._w / 4), _even_up(self._h / 4)
        small = np.empty(iw * ih * 3 // 2, np.uint8)
        luma, chroma = _cv_maps(self._source_map(frame, box, iw, ih))
        _warp_planes(src, _yuv_views(small, iw, ih), luma, chroma, cv2.INTER_LINEAR)
        if full:
            _to_limited_range(_yuv_views(small, iw, ih))
        rgb = cv2.cvtColor(small.reshape(ih * 3 // 2, iw), cv2.COLOR_YUV2RGB_I420)
        big = np.asarray(self._upscale(rgb))
        if big.dtype != np.uint8 or big.ndim != 3 or big.shape[2] != 3:
            raise RenderError(
                f"upscaler returned {big.dtype} {big.shape}, expected uint8 (h, w, 3)"
            )
        interp = cv2.INTER_AREA if big.shape[1] > self._w else cv2.INTER_LANCZOS4
        fitted = cv2.resize(big, (self._w, self._h), interpolation=interp)
        self.buf[:] = cv2.cvtColor(fitted, cv2.COLOR_RGB2YUV_I420).reshape(-1)

    def _spotlight_shapes(self, s: float, box: Box) -> tuple[tuple[float, ...], ...]:
        """(cx, cy, rx, ry, alpha) in output pixels of each region showing at clip time s."""
        if not self._regions:
            return ()
        to_out = np.linalg.inv(self._unrotate @ _crop_to(box, self._w, self._h))
        sx, sy = self._w / box.width, self._h / box.height
        fade = self._clip.style.fade_out
        shapes = []
        for region, track in self._regions:
            if not region.start <= s < region.end:
                continue
            v = interpolate(track, s, _REGION_PROPS)
            assert v is not None  # regions without keyframes were dropped above
            alpha = 1.0 if fade <= 0 else min(1.0, (region.end - s) / fade)
            cx, cy, _ = to_out @ np.array([v["x"], v["y"], 1.0])
            shapes.append((float(cx), float(cy), v["rx"] * sx, v["ry"] * sy, alpha))
        return tuple(shapes)


_FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_LIMIT_LUMA = np.round(16 + np.arange(256) * (219 / 255)).astype(np.uint8)
_LIMIT_CHROMA = np.round(128 + (np.arange(256) - 128) * (224 / 255)).astype(np.uint8)


def _to_limited_range(planes: Planes) -> None:
    for i, plane in enumerate(planes):
        cv2.LUT(plane, _LIMIT_LUMA if i == 0 else _LIMIT_CHROMA, dst=plane)


def _even_up(x: float) -> int:
    return max(2, 2 * math.ceil(x / 2))


def _yuv_views(buf: np.ndarray, w: int, h: int) -> Planes:
    """Y, U, V views into one flat yuv420p buffer."""
    n = w * h
    return (
        buf[:n].reshape(h, w),
        buf[n: n + n // 4].reshape(h // 2, w // 2),
        buf[n + n // 4:].reshape(h // 2, w // 2),
    )


def _warp_planes(
    src: Planes, dst: Planes, luma: np.ndarray, chroma: np.ndarray, flags: int
) -> None:
    for i, (s, d) in enumerate(zip(src, dst)):
        m = luma if i == 0 else chroma
        if not _scale_plane(s, d, m, flags):
            cv2.warpAffine(
                s, m, (d.shape[1], d.shape[0]), dst=d,
                flags=flags | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE,
            )


def _scale_plane(src: np.ndarray, dst: np.ndarray, m: np.ndarray, flags: int) -> bool:
    """The common unrotated case, ~5x faster than warpAffine: resize the source region by the
    exact scale (cv2.resize's separable fixed-point path) and cut the output out of it. The cut
    is on whole output pixels, so the position is within half an output pixel of the exact warp.
    Returns False (nothing done) when the map is not a pure scale + shift."""
    ax, shear_x, bx = m[0]
    shear_y, ay, by = m[1]
    if shear_x != 0 or shear_y != 0 or ax <= 0 or ay <= 0:
        return False
    hd, wd = dst.shape
    hs, ws = src.shape
    taps = 4 if flags == cv2.INTER_LANCZOS4 else 1
    x0 = max(0, math.floor(bx) - taps)
    x1 = min(ws, math.ceil(bx + ax * (wd - 1)) + taps + 1)
    y0 = max(0, math.floor(by) - taps)
    y1 = min(hs, math.ceil(by + ay * (hd - 1)) + taps + 1)
    # Output pixel j of the resized region maps to source x0 + (j + 0.5)·ax - 0.5.
    ox = round((bx - x0 + 0.5) / ax - 0.5)
    oy = round((by - y0 + 0.5) / ay - 0.5)
    if x1 <= x0 or y1 <= y0 or ox < 0 or oy < 0:
        return False
    big = cv2.resize(src[y0:y1, x0:x1], None, fx=1 / ax, fy=1 / ay, interpolation=flags)
    if ox + wd > big.shape[1] or oy + hd > big.shape[0]:
        return False
    dst[...] = big[oy: oy + hd, ox: ox + wd]
    return True


def _rgb_to_yuv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """BT.709 limited range, what players assume for HD output."""
    r, g, b = (c / 255.0 for c in rgb)
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748


class _Spotlight:
    """Draws regions onto YUV planes: dim outside, optional fill, ring (or ground shape)."""

    def __init__(self, style: OverlayStyle, w: int, h: int) -> None:
        self._style = style
        self._color = _rgb_to_yuv(style.rgb)
        self._stroke = style.stroke * min(w, h) / _STROKE_REFERENCE
        self._masks = (np.zeros((h, w), np.uint8), np.zeros((h // 2, w // 2), np.uint8))

    def apply(self, planes: Planes, shapes: Sequence[tuple[float, ...]]) -> None:
        style = self._style
        ground = style.shape is OverlayShape.GROUND
        for i, plane in enumerate(planes):
            scale = 1.0 if i == 0 else 0.5
            mask = self._masks[0 if i == 0 else 1]
            black = _BLACK[0 if i == 0 else 1]
            level = 1.0 - style.dim * max(s[4] for s in shapes)
            if level < 1.0:
                # Dim everything, then restore the inside of the union of ellipses.
                box = _union(_ellipse(mask, s[:4], scale, -1) for s in shapes)
                keep = _crop(plane, box).copy()
                lut = np.clip(black + (np.arange(256) - black) * level + 0.5, 0, 255)
                cv2.LUT(plane, lut.astype(np.uint8), dst=plane)
                _blend(plane, mask, box, keep, 1.0)
            for cx, cy, rx, ry, alpha in shapes:
                shape = (cx, cy + ry, rx, ry * _GROUND_FLATTEN) if ground else (cx, cy, rx, ry)
                if style.fill_opacity > 0:
                    box = _ellipse(mask, shape, scale, -1)
                    _blend(plane, mask, box, self._color[i], style.fill_opacity * alpha)
                if self._stroke > 0:
                    thickness = max(1, round(self._stroke * scale))
                    box = _ellipse(mask, shape, scale, thickness)
                    _blend(plane, mask, box, self._color[i], alpha)


Rect = tuple[int, int, int, int]


def _ellipse(mask: np.ndarray, shape: Sequence[float], scale: float, thickness: int) -> Rect:
    """Draw an anti-aliased ellipse (filled if thickness < 0) into ``mask``; return its bounds,
    clipped to the mask."""
    cx, cy, rx, ry = (v * scale for v in shape[:4])
    cx, cy = cx - 0.5, cy - 0.5  # continuous coords -> cv2 pixel-centre coords
    f = 1 << _SHIFT
    cv2.ellipse(
        mask, (round(cx * f), round(cy * f)), (max(1, round(rx * f)), max(1, round(ry * f))),
        0, 0, 360, 255, thickness, cv2.LINE_AA, _SHIFT,
    )
    pad = max(thickness, 0) / 2 + 2
    h, w = mask.shape
    return (
        max(0, math.floor(cx - rx - pad)), max(0, math.floor(cy - ry - pad)),
        min(w, math.ceil(cx + rx + pad) + 1), min(h, math.ceil(cy + ry + pad) + 1),
    )


def _union(rects: Iterable[Rect]) -> Rect:
    rs = list(rects)
    return (min(r[0] for r in rs), min(r[1] for r in rs),
            max(r[2] for r in rs), max(r[3] for r in rs))


def _crop(a: np.ndarray, r: Rect) -> np.ndarray:
    return a[r[1]:r[3], r[0]:r[2]]


def _blend(
    plane: np.ndarray, mask: np.ndarray, r: Rect, target: float | np.ndarray, opacity: float
) -> None:
    """plane += (target - plane) · mask · opacity inside ``r``; then clear the mask there."""
    if r[2] <= r[0] or r[3] <= r[1]:
        return
    region = _crop(plane, r)
    m = _crop(mask, r).astype(np.float32) * np.float32(opacity / 255.0)
    p = region.astype(np.float32)
    p += (np.asarray(target, np.float32) - p) * m
    region[...] = (p + 0.5).astype(np.uint8)
    _crop(mask, r)[...] = 0


# -- audio ------------------------------------------------------------------------------------


class _AudioTrack:
    """The reel's sound: clips are mixed in at their output sample, encoded as AAC in order."""

    def __init__(
        self, container: av.container.OutputContainer, out: OutputSettings, total: int
    ) -> None:
        self._container = container
        self._stream = container.add_stream("aac", rate=AUDIO_RATE)
        self._stream.layout = "stereo"
        self._stream.bit_rate = out.audio_bitrate
        self._total = total
        self._written = 0  # samples already encoded; _buf[:, 0] is sample _written
        self._buf = np.zeros((2, 0), np.float32)

    def _ensure(self, n: int) -> None:
        if self._buf.shape[1] < n:
            grow = np.zeros((2, n - self._buf.shape[1]), np.float32)
            self._buf = np.concatenate([self._buf, grow], axis=1)

    def add(self, p: _Placement, samples: np.ndarray) -> None:
        start = round(p.start * AUDIO_RATE)
        end = min(start + samples.shape[1], self._total)
        if end <= start:
            return
        lo = start - self._written  # >= 0: flushing never passes an unopened clip's start
        self._ensure(end - self._written)
        self._buf[:, lo: end - self._written] += samples[:, : end - start]

    def flush(self, upto: int, final: bool = False) -> None:
        n = min(upto, self._total) - self._written
        if not final:
            n -= n % _AAC_FRAME  # whole AAC frames only, until the end
        if n <= 0 and not final:
            return
        n = max(n, 0)
        self._ensure(n)
        for i in range(0, n, _AAC_FRAME):
            chunk = np.ascontiguousarray(self._buf[:, i: min(n, i + _AAC_FRAME)])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = AUDIO_RATE
            frame.pts = self._written + i
            frame.time_base = Fraction(1, AUDIO_RATE)
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        self._buf = self._buf[:, n:]
        self._written += n
        if final:
            for packet in self._stream.encode(None):
                self._container.mux(packet)


def _clip_audio(p: _Placement, cancelled: Callable[[], bool]) -> np.ndarray:
    """The clip's sound over its whole output duration (2 x samples, float32): kept segments
    stretched to their output length, silence where the source has none, transition ramps."""
    clip, segments = p.clip, p.timeline.segments
    bounds = [round(s.out_start * AUDIO_RATE) for s in segments] + [
        round(segments[-1].out_end * AUDIO_RATE)
    ]
    result = np.zeros((2, bounds[-1]), np.float32)
    source = _decode_audio(
        p.path,
        max(0.0, clip.src_start + segments[0].src_start - _ATEMPO_PREROLL_S),
        clip.src_start + segments[-1].src_end,
        cancelled,
    )
    if source is not None:
        samples, first = source  # first: clip-media seconds of samples[:, 0]
        for seg, lo, hi in zip(segments, bounds, bounds[1:]):
            a = round((clip.src_start + seg.src_start - first) * AUDIO_RATE)
            b = round((clip.src_start + seg.src_end - first) * AUDIO_RATE)
            if seg.speed == 1.0:
                result[:, lo:hi] = _slice_padded(samples, a, a + hi - lo)
            else:
                # atempo squeezes its first window, shifting everything after it early (50 ms
                # at 0.25x); stretching some audio before the cut too and keeping the tail
                # puts the segment's sound on its picture.
                pre = round(_ATEMPO_PREROLL_S * AUDIO_RATE)
                stretched = _atempo(_slice_padded(samples, a - pre, b), seg.speed)
                result[:, lo:hi] = _tail(stretched, hi - lo)
    u = np.arange(result.shape[1]) / AUDIO_RATE
    gain = p.gain(u)
    if not np.all(gain == 1.0):
        result *= gain.astype(np.float32)
    return result


def _decode_audio(
    path: Path, start: float, end: float, cancelled: Callable[[], bool]
) -> tuple[np.ndarray, float] | None:
    """48 kHz stereo float samples covering media seconds [start, end], and the media time of
    the first one; None when the file has no sound."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        origin = _media_origin(container)
        if start > 0.001:
            container.seek(
                math.floor((origin + start) / stream.time_base), stream=stream, backward=True
            )
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        chunks: list[np.ndarray] = []
        first: float | None = None
        try:
            for frame in container.decode(stream):
                if cancelled():
                    raise RenderCancelled()
                if frame.time is None:
                    continue
                if first is None:
                    first = frame.time - origin
                if frame.time - origin > end:
                    break
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
        except av.FFmpegError as e:
            raise RenderError(f"cannot decode the sound of {path.name}: {e}") from e
    if first is None or not chunks:
        return None
    return np.concatenate(chunks, axis=1).astype(np.float32, copy=False), first


def _slice_padded(a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """a[:, lo:hi], with silence where the range runs outside ``a``."""
    out = np.zeros((a.shape[0], max(0, hi - lo)), np.float32)
    s0, s1 = max(lo, 0), min(hi, a.shape[1])
    if s1 > s0:
        out[:, s0 - lo: s1 - lo] = a[:, s0:s1]
    return out


def _tail(a: np.ndarray, n: int) -> np.ndarray:
    """The last ``n`` samples of ``a``, silence in front if it is shorter."""
    if a.shape[1] >= n:
        return a[:, a.shape[1] - n:]
    return np.concatenate([np.zeros((a.shape[0], n - a.shape[1]), np.float32), a], axis=1)


def _atempo(samples: np.ndarray, speed: float) -> np.ndarray:
    """Time-stretch by ``speed`` keeping the pitch (FFmpeg atempo; one stage does 0.5..100, so
    slower speeds chain several)."""
    factors = []
    f = speed
    while f < 0.5:
        factors.append(0.5)
        f /= 0.5
    factors.append(f)
    graph = av.filter.Graph()
    node = graph.add_abuffer(
        sample_rate=AUDIO_RATE, format="fltp", layout="stereo", time_base=Fraction(1, AUDIO_RATE)
    )
    for factor in factors:
        nxt = graph.add("atempo", repr(factor))
        node.link_to(nxt)
        node = nxt
    fmt = graph.add("aformat", "sample_fmts=fltp:channel_layouts=stereo")
    sink = graph.add("abuffersink")
    node.link_to(fmt)
    fmt.link_to(sink)
    graph.configure()
    out: list[np.ndarray] = []

    def drain() -> None:
        while True:
            try:
                out.append(graph.pull().to_ndarray())
            except (av.BlockingIOError, av.EOFError):
                return

    step = 8192
    for i in range(0, samples.shape[1], step):
        chunk = np.ascontiguousarray(samples[:, i: i + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, i, Fraction(1, AUDIO_RATE)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    if not out:
        return np.zeros((2, 0), np.float32)
    return np.concatenate(out, axis=1).astype(np.float32, copy=False)


# -- progress and files -----------------------------------------------------------------------


class _Reporter:
    """Throttled (≤ 10/s), monotonic progress; stage changes and the final call always go out."""

    def __init__(self, callback: Callable[[Progress], None] | None) -> None:
        self._callback = callback
        self._started = time.monotonic()  # opening the sources counts towards the ETA too
        self._last_sent = -math.inf
        self._stage = ""
        self._fraction = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if stage == self._stage and now - self._last_sent < _PROGRESS_EVERY_S:
            return
        # Encoding dominates; the last 1 % is left for flushing the encoder and the moov atom.
        if stage == "done":
            fraction = 1.0
        elif stage == "finishing":
            fraction = 0.99
        else:
            fraction = 0.99 * done / total if total else 0.0
        self._fraction = max(self._fraction, fraction)
        eta = None
        if stage == "done":
            eta = 0.0
        elif done and total:
            eta = (now - self._started) / done * (total - done)
        self._stage, self._last_sent = stage, now
        self._callback(Progress(self._fraction, stage, done, total, eta))


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as e:  # e.g. still locked on Windows; report, the render result stands
        log.warning("could not remove temporary file %s: %s", path, e)
