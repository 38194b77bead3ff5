"""The export pipeline (docs/ARCHITECTURE.md, "Export"): one pass from the sources to one MP4, no files in between.

decode → rotate → animated crop → scale/upscale → spotlight → speed → transitions → encode

Per output frame at the output fps the clip Timeline gives the source time; the source is decoded
sequentially (one seek per clip) and the latest frame at or before that time is shown, which
conforms any source frame rate (and slow motion) to the output fps. Rotation, crop and scale are
ONE affine warp per plane, done on the decoded YUV 4:2:0 planes: no RGB round trip, the source's
colours pass through untouched. Each output picture is composed by
``core.export.program.ProgramFrames``, the function the program view (preview) calls too, so
preview and render cannot disagree.

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
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from core.enums import AudioCodec, Upscaler, VideoEncoder
from core.export.destination import write_error
from core.export.chapters import chapters
from core.export.encoders import CODECS, codec_chain, stream_options
from core.export.picture import EPS as _EPS
from core.export.picture import RenderError, Source, Upscale, media_origin, open_source, yuv_views
from core.export.program import Placement, ProgramFrames, layout, resolve_source
from core.export.spec import OutputSettings, RenderSpec

__all__ = ["AUDIO_RATE", "Progress", "RenderCancelled", "RenderError", "Upscale", "add_video_stream", "render"]

log = logging.getLogger(__name__)

AUDIO_RATE = 48_000
_AAC_FRAME = 1024
_ATEMPO_PREROLL_S = 0.25
_AUDIO_LEAD_S = 1.0  # encode audio at most this far ahead of the picture (keeps muxing interleaved)
_PROGRESS_EVERY_S = 0.1
class RenderCancelled(Exception):
    """The caller's cancel flag was raised; nothing was left at the output path."""


@dataclass(frozen=True, slots=True)
class Progress:
    fraction: float  # 0..1, never decreases, 1.0 exactly once at the end
    stage: str  # "preparing" | "rendering" | "finishing" | "done"
    frames_done: int
    frames_total: int
    eta_s: float | None  # None until there is a rate to extrapolate from
    encoder: str = ""  # the FFmpeg encoder that wrote the file ("done" only), e.g. libx264


def render(
    spec: RenderSpec,
    resolve_media: Callable[[str], Source],
    out_path: Path,
    on_progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    realesrgan: Upscale | None = None,
    destination: Path | None = None,
) -> Path:
    """Render ``spec`` to ``out_path`` (H.264 + AAC MP4) and return it.

    The file appears atomically: it is written next to ``out_path`` under a temporary name and
    renamed at the end; on cancel or failure the temporary file is removed. ``realesrgan`` is the
    AI upscaler for ``Upscaler.REALESRGAN`` (the Modal GPU backend injects it). Write errors
    name ``destination`` (the file asked for, when ``out_path`` is a staging name), else
    ``out_path``.
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
    paths = [resolve_source(clip, resolve_media) for clip in spec.clips]
    placements = layout(spec, paths)
    fps = out.fps
    frames_total = max(1, math.floor(spec.output_duration * fps + 0.5))
    audio_total = (frames_total * AUDIO_RATE * fps.denominator) // fps.numerator

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:12]}.partial.mp4")
    started = time.monotonic()
    try:
        for encoder in codec_chain(out.encoder):
            try:
                _encode_file(tmp, encoder, spec, placements, frames_total, audio_total, realesrgan,
                             is_cancelled, report)
                break
            except av.FFmpegError as e:
                if encoder is VideoEncoder.X264 or isinstance(e, OSError):
                    raise
                # A GPU encoder that passed its test encode can still fail (driver, session
                # limit, frame size): render again with x264 rather than fail the export.
                log.warning("%s failed (%s); rendering with x264 instead", CODECS[encoder], e)
                _remove(tmp)
        report.encoder = CODECS[encoder]
        if is_cancelled():  # the close (faststart rewrite) can take a while on long reels
            raise RenderCancelled()
        os.replace(tmp, out_path)
    except RenderCancelled:
        log.info("render of project %s cancelled", spec.project_uid)
        _remove(tmp)
        raise
    except OSError as e:  # PyAV's write errors are OSErrors too (permission, disk full)
        _remove(tmp)
        raise RenderError(write_error(destination or out_path, e)) from e
    except av.FFmpegError as e:
        _remove(tmp)
        raise RenderError(f"encoding failed: {e}") from e
    except BaseException:
        _remove(tmp)
        raise
    log.info(
        "rendered project %s: %d frames %dx%d with %s in %.1f s -> %s", spec.project_uid,
        frames_total, out.width, out.height, report.encoder, time.monotonic() - started, out_path,
    )
    report("done", frames_total, frames_total)
    return out_path


def add_video_stream(container: av.container.OutputContainer, out: OutputSettings,
                     encoder: VideoEncoder = VideoEncoder.X264) -> av.VideoStream:
    """The H.264 stream every render (and every cached part of one) is encoded with."""
    video = container.add_stream(CODECS[encoder], rate=out.fps)
    video.width, video.height, video.pix_fmt = out.width, out.height, "yuv420p"
    video.options = stream_options(encoder, out.crf, out.preset)
    # PyAV defaults to slice threads, which makes x264 slower and worse than the frame
    # threads the ffmpeg command line uses.
    video.codec_context.thread_type = "AUTO"
    video.codec_context.time_base = 1 / out.fps
    return video


def _encode_file(
    tmp: Path, encoder: VideoEncoder, spec: RenderSpec, placements: list[Placement],
    frames_total: int, audio_total: int, realesrgan: Upscale | None,
    is_cancelled: Callable[[], bool], report: _Reporter,
) -> None:
    out = spec.output
    with av.open(
        str(tmp), "w", format="mp4",
        container_options={"movflags": "+faststart"} if out.faststart else {},
    ) as container:
        video = add_video_stream(container, out, encoder)
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


# -- the frame loop ---------------------------------------------------------------------------


def _render_frames(
    placements: list[Placement], out: OutputSettings, frames_total: int,
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
                next_clip = audio.follow(placements, next_clip, t, cancelled)
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
        self, placements: list[Placement], out: OutputSettings, frames_total: int,
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
        self, placements: list[Placement], out: OutputSettings, frames_total: int,
        realesrgan: Upscale | None, first: int,
    ) -> None:
        fps_num, fps_den = out.fps_num, out.fps_den
        program = ProgramFrames(placements, out, realesrgan)
        try:
            for k in range(first, frames_total):
                vf = self._ring[k % len(self._ring)]
                _fill_frame(vf, program.at(k * fps_den / fps_num), out.width, out.height)
                if not self._put(vf):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the encoding thread, raised there
            self._put(e)
        finally:
            program.close()


def _fill_frame(frame: av.VideoFrame, buf: np.ndarray, w: int, h: int) -> None:
    """Copy ``buf`` into the encoder frame's planes (plain numpy copies: from_ndarray is 3x
    slower)."""
    for plane, view in zip(frame.planes, yuv_views(buf, w, h)):
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        rows[:, : plane.width] = view


# -- audio ------------------------------------------------------------------------------------


class _AudioTrack:
    """The reel's sound: clips are mixed in at their output sample, encoded as AAC in order."""

    def __init__(
        self, container: av.container.OutputContainer, out: OutputSettings, total: int
    ) -> None:
        self._container = container
        self._stream = container.add_stream(out.audio_codec.value, rate=AUDIO_RATE)
        self._stream.layout = "stereo"
        if out.audio_codec is AudioCodec.AAC:
            self._stream.bit_rate = out.audio_bitrate
        self._total = total
        self._written = 0  # samples already encoded; _buf[:, 0] is sample _written
        self._buf = np.zeros((2, 0), np.float32)

    def follow(self, placements: list[Placement], next_clip: int, t: float,
               cancelled: Callable[[], bool]) -> int:
        """Mix in every clip that has started by output time ``t``, encode what can no longer
        change (up to the next clip's start, at most _AUDIO_LEAD_S ahead of the picture, which
        keeps the file interleaved); returns the index of the next clip still to mix in."""
        while next_clip < len(placements) and placements[next_clip].start <= t + _EPS:
            self.add(placements[next_clip], _clip_audio(placements[next_clip], cancelled))
            next_clip += 1
        limit = t + _AUDIO_LEAD_S
        if next_clip < len(placements):
            limit = min(limit, placements[next_clip].start)
        self.flush(math.floor(limit * AUDIO_RATE))
        return next_clip

    def _ensure(self, n: int) -> None:
        if self._buf.shape[1] < n:
            grow = np.zeros((2, n - self._buf.shape[1]), np.float32)
            self._buf = np.concatenate([self._buf, grow], axis=1)

    def add(self, p: Placement, samples: np.ndarray) -> None:
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


def _clip_audio(p: Placement, cancelled: Callable[[], bool]) -> np.ndarray:
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
    path: Source, start: float, end: float, cancelled: Callable[[], bool]
) -> tuple[np.ndarray, float] | None:
    """48 kHz stereo float samples covering media seconds [start, end], and the media time of
    the first one; None when the file has no sound."""
    with open_source(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        origin = media_origin(container)
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
        self.encoder = ""  # the FFmpeg encoder that wrote the file, known at the end

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
        self._callback(Progress(self._fraction, stage, done, total, eta, self.encoder))


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as e:  # e.g. still locked on Windows; report, the render result stands
        log.warning("could not remove temporary file %s: %s", path, e)
