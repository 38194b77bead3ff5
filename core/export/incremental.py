"""Incremental export: the reel is encoded as one part per clip, each cached by a hash of all
that makes its pictures, and the parts are joined without re-encoding (docs/ARCHITECTURE.md, "Export").

Part i holds the output frames from clip i's start to clip i+1's start, so a dissolve into
clip i belongs to part i and its key covers clip i-1 too: changing a clip re-renders its own
part and the part of a clip that dissolves out of it. A part's key hashes the clip specs it
draws (media hash included, the title not), their placement relative to the part, the fades
and dissolves around them, the frame phase and count, the video encoder settings and the
renderer version. The frames of a part are those the one-pass renderer would make for the same
output frames (same clip decoders, same per-frame code), so a re-export is frame-identical to
exporting the same edit with an empty cache. Sound is cheap next to pictures and is always
mixed and encoded afresh over the whole reel while the parts' packets are copied.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import math
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from blake3 import blake3

from core.enums import Upscaler, VideoEncoder
from core.export.chapters import chapters
from core.export.destination import remove_partial, write_error
from core.export.encode import PictureQueue, add_video_stream
from core.export.encoders import CODECS, codec_chain
from core.export.part_cache import PartCache
from core.export.picture import EPS, RenderError
from core.export.program import Placement, layout, resolve_source
from core.export.progress import Progress, RenderCancelled, Reporter
from core.export.sound import AUDIO_RATE, AudioTrack, clip_audio
from core.export.spec import OutputSettings, RenderSpec
from core.export.title_card import ReelPictures, after_card, card_clip, lead_frames

__all__ = ["ClipReuse", "render_incremental"]

log = logging.getLogger(__name__)

PART_FORMAT = 1  # bump when the renderer's pictures change: older parts are then never reused
_JOIN_WEIGHT = 0.3  # the cost of joining an output frame, relative to rendering one


class _EncoderFailed(Exception):
    """The video encoder failed on a part (a GPU encoder can, after passing its test encode)."""


@dataclass(frozen=True)
class ClipReuse:
    working_clip: str
    reused: bool


@dataclass
class _Part:
    clip: int
    first: int  # output frames [first, end)
    end: int
    placements: list[Placement]
    key: str


def render_incremental(
    spec: RenderSpec,
    resolve_media: Callable[[str], Path],
    out_path: Path,
    cache: PartCache,
    on_progress: Callable[[Progress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    *,
    destination: Path | None = None,
) -> tuple[Path, list[ClipReuse]]:
    """Render ``spec`` to ``out_path`` reusing the cached parts of unchanged clips. Returns the
    path and, per clip in reel order, whether its part came from the cache. Every part is
    encoded by one encoder (packets of different encoders cannot share one stream): a GPU
    encoder that fails renders the export again with x264. Write errors name ``destination``
    (the file asked for, when ``out_path`` is a staging name), else ``out_path``."""
    if spec.output.upscaler is Upscaler.REALESRGAN:
        raise RenderError("Real-ESRGAN renders run on the Modal backend, which does not cache parts")
    out_path = Path(out_path)
    report = Reporter(on_progress)
    for encoder in codec_chain(spec.output.encoder):
        try:
            path, reuse, frames_total = _render_parts(spec, resolve_media, out_path, cache, report, cancelled,
                                                      encoder)
        except _EncoderFailed as e:
            if encoder is VideoEncoder.X264:
                raise RenderError(f"encoding failed: {e.__cause__}") from e.__cause__
            log.warning("%s failed (%s); rendering with x264 instead", CODECS[encoder], e.__cause__)
            continue
        except OSError as e:  # PyAV's write errors are OSErrors too (permission, disk full)
            raise RenderError(write_error(destination or out_path, e)) from e
        report.encoder = CODECS[encoder]
        report("done", frames_total, frames_total)
        return path, reuse
    raise AssertionError("codec_chain always ends with x264")


def _render_parts(spec: RenderSpec, resolve_media: Callable[[str], Path], out_path: Path, cache: PartCache,
                  report: Reporter, cancelled: Callable[[], bool] | None,
                  encoder: VideoEncoder) -> tuple[Path, list[ClipReuse], int]:
    """One export with ``encoder``: (path, reuse per clip, output frames)."""
    is_cancelled = cancelled or (lambda: False)
    report("preparing", 0, 0)
    out = spec.output
    placements = layout(spec, [resolve_source(c, resolve_media) for c in spec.clips])
    frames_total = max(1, math.floor(spec.output_duration * out.fps + 0.5))
    parts = _plan(placements, out, frames_total, encoder)
    lead = _title_part(spec, placements, out, encoder)  # the title card: frames before the first clip
    card_frames = lead.end - lead.first if lead else 0
    if lead is not None:
        parts.insert(0, lead)
    frames_total += card_frames

    cached = {part.key: cache.get(part.key) for part in parts}
    work = _Work(report, sum(p.end - p.first for p in parts if cached[p.key] is None), frames_total)
    reused: dict[int, bool] = {}

    def files() -> Iterator[tuple[_Part, Path]]:
        """The parts in order, each rendered when the join reaches it (so the output grows, and
        a render stopped half-way leaves its partial output where job recovery looks)."""
        for part in parts:
            entry = cached[part.key]
            reused[part.clip] = entry is not None
            if entry is None:
                tmp = cache.new_path(part.key)
                try:
                    try:
                        _encode_part(part, spec, resolve_media, tmp, is_cancelled,
                                     functools.partial(work.render_more, work.rendered), encoder)
                    except av.FFmpegError as e:
                        if isinstance(e, OSError):
                            raise
                        raise _EncoderFailed(str(e)) from e
                    entry = cache.put(part.key, tmp, part.end - part.first)
                except BaseException:
                    remove_partial(tmp)
                    raise
            yield part, entry.path

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:12]}.partial.mp4")
    try:
        _join(spec, placements, files(), frames_total, card_frames, tmp, is_cancelled, work.join)
        report("finishing", frames_total, frames_total)
        os.replace(tmp, out_path)
    except av.FFmpegError as e:
        remove_partial(tmp)
        if isinstance(e, OSError):
            raise
        raise RenderError(f"joining the parts failed: {e}") from e
    except BaseException:
        remove_partial(tmp)
        raise
    result = [ClipReuse(c.uid, reused.get(i, True)) for i, c in enumerate(spec.clips)]  # not the card
    log.info("exported project %s: %d of %d clip parts reused (%s)", spec.project_uid,
             sum(r.reused for r in result), len(result), CODECS[encoder])
    return out_path, result, frames_total


class _Work:
    """Progress in work units: a frame rendered counts 1, a frame joined (packets copied, sound
    mixed and encoded) _JOIN_WEIGHT; both are the "rendering" stage, reported in output frames."""

    def __init__(self, report: Reporter, to_render: int, frames_total: int) -> None:
        self._report, self._total = report, frames_total
        self._units = to_render + _JOIN_WEIGHT * frames_total
        self.rendered = 0
        self._joined = 0

    def render_more(self, before: int, frames: int) -> None:
        """``frames`` rendered of the part begun when ``before`` frames were done."""
        self.rendered = before + frames
        self._send()

    def join(self, frames: int) -> None:
        self._joined = frames
        self._send()

    def _send(self) -> None:
        done = (self.rendered + _JOIN_WEIGHT * self._joined) / self._units
        self._report("rendering", min(self._total, round(self._total * done)), self._total)


def _first_frame(t: float, fps: Fraction) -> int:
    """The first output frame the one-pass renderer shows a clip starting at ``t`` in."""
    k = max(0, math.ceil((t - EPS) * fps))
    while k > 0 and (k - 1) * fps.denominator / fps.numerator + EPS >= t:
        k -= 1
    while k * fps.denominator / fps.numerator + EPS < t:
        k += 1
    return k


def _video_doc(out: OutputSettings, encoder: VideoEncoder) -> dict[str, object]:
    """The encoder settings a part's pictures and bits depend on (not the sound's)."""
    return {**{k: getattr(out, k) for k in ("width", "height", "fps_num", "fps_den", "crf", "preset")},
            "upscaler": out.upscaler.value, "encoder": encoder.value}


def _plan(placements: list[Placement], out: OutputSettings, frames_total: int,
          encoder: VideoEncoder) -> list[_Part]:
    firsts = [_first_frame(p.start, out.fps) for p in placements] + [frames_total]
    firsts[0] = 0
    video = _video_doc(out, encoder)
    parts = []
    for i, p in enumerate(placements):
        first, end = firsts[i], min(firsts[i + 1], frames_total)
        if end <= first:
            continue  # a clip shorter than a frame shows in no frame of its own
        drawn = placements[i - 1: i + 1] if i and p.mix_in > 0 else [p]
        doc = {
            "format": PART_FORMAT, "av": av.__version__, "video": video, "frames": end - first,
            "phase": round(first * out.fps_den / out.fps_num - p.start, 9),
            "clips": [{
                "spec": {k: v for k, v in dataclasses.asdict(q.clip).items() if k != "title"},
                "offset": round(q.start - p.start, 9), "duration": round(q.duration, 9),
                "ramps": [round(x, 9) for x in (q.fade_in, q.fade_out, q.mix_in, q.mix_out)],
            } for q in drawn],
        }
        key = blake3(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
        parts.append(_Part(i, first, end, list(drawn), key))
    return parts


def _title_part(spec: RenderSpec, placements: list[Placement], out: OutputSettings,
                encoder: VideoEncoder) -> _Part | None:
    card = spec.title_card
    if card is None:
        return None
    frames = lead_frames(card, out.fps)
    source = card_clip(spec)
    doc = {"format": PART_FORMAT, "av": av.__version__, "frames": frames, "video": _video_doc(out, encoder),
           "card": dataclasses.asdict(card),
           "source": None if source is None else {k: v for k, v in dataclasses.asdict(source).items()
                                                  if k not in ("title", "text_regions", "regions")}}
    key = blake3(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    return _Part(-1, -frames, 0, placements, key)


def _encode_part(part: _Part, spec: RenderSpec, resolve_media: Callable[[str], Path], path: Path,
                 cancelled: Callable[[], bool], progress: Callable[[int], None], encoder: VideoEncoder) -> None:
    """Encode one part: the title card (the reel's first frames) or a clip's output frames."""
    out = spec.output
    if part.clip < 0:
        source = ReelPictures(spec, part.placements, out, resolve_media)
        first, end = 0, part.end - part.first
    else:
        source = ReelPictures(spec, part.placements, out, resolve_media, with_card=False)
        first, end = part.first, part.end
    with av.open(str(path), "w", format="mp4") as container:
        video = add_video_stream(container, out, encoder)
        # Create the file now, not at the first packet (the encoder's look-ahead holds dozens of
        # frames back): a render killed mid-part then leaves its partial where recovery sweeps.
        container.start_encoding()
        pictures = PictureQueue(source, out, first, end)
        try:
            for k in range(first, end):
                if cancelled():
                    raise RenderCancelled()
                vf = pictures.get()
                vf.pts = k - first
                for packet in video.encode(vf):
                    container.mux(packet)
                progress(k + 1 - first)
        finally:
            pictures.close()
        for packet in video.encode(None):
            container.mux(packet)


def _join(spec: RenderSpec, placements: list[Placement], files: Iterator[tuple[_Part, Path]],
          frames_total: int, card_frames: int, path: Path, cancelled: Callable[[], bool],
          progress: Callable[[int], None]) -> None:
    """Copy the parts' packets into one MP4 at their output times (the clips after the title
    card's ``card_frames``), mixing the sound alongside."""
    out = spec.output
    lead_s = card_frames * out.fps_den / out.fps_num
    placements = after_card(placements, card_frames, out.fps)  # the sound of every clip plays behind the card
    audio_total = (frames_total * AUDIO_RATE * out.fps_den) // out.fps_num
    options = {"movflags": "+faststart"} if out.faststart else {}
    with av.open(str(path), "w", format="mp4", container_options=options) as container:
        first = next(files)
        with av.open(str(first[1])) as template:
            stream = container.add_stream_from_template(template.streams.video[0])
        audio = AudioTrack(container, out, audio_total) if out.audio else None
        container.set_chapters(chapters(spec, lead_s))
        next_clip = 0
        joined = 0
        for part, part_path in itertools.chain([first], files):
            with av.open(str(part_path)) as src:
                source = src.streams.video[0]
                tb = source.time_base
                if tb is None:
                    raise RenderError(f"part {part_path.name} has no time base")
                shift = Fraction((part.first + card_frames) * out.fps_den, out.fps_num) / tb
                if shift.denominator != 1:
                    raise RenderError(f"part time base {tb} cannot place frame {part.first} exactly")
                for packet in src.demux(source):
                    if packet.dts is None:
                        continue  # the demuxer's end-of-stream marker
                    if cancelled():
                        raise RenderCancelled()
                    if packet.pts is not None:
                        packet.pts += int(shift)
                    packet.dts += int(shift)
                    if audio is not None:
                        next_clip = audio.follow(placements, next_clip, float(packet.dts * tb), cancelled)
                    packet.stream = stream
                    container.mux(packet)
                    joined += 1
                    progress(joined)
        if audio is not None:
            while next_clip < len(placements):
                audio.add(placements[next_clip], clip_audio(placements[next_clip], cancelled))
                next_clip += 1
            audio.flush(audio_total, final=True)
