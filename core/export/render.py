"""The export pipeline (docs/ARCHITECTURE.md, "Export"): one pass from the sources to one MP4, no files in between.

decode → rotate → animated crop → scale/upscale → spotlight → speed → transitions → encode

Per output frame at the output fps the clip Timeline gives the source time; the source is decoded
sequentially (one seek per clip) and the latest frame at or before that time is shown, which
conforms any source frame rate (and slow motion) to the output fps. Rotation, crop and scale are
ONE affine warp per plane, done on the decoded YUV 4:2:0 planes: no RGB round trip, the source's
colours pass through untouched. Each output picture is composed by
``core.export.program.ProgramFrames``, the function the program view (preview) calls too, so
preview and render cannot disagree.

A title card comes first (``core.export.title_card.ReelPictures``, shared with the incremental
export and the Modal chunks). The sound is ``core.export.sound``'s. Transitions blend in memory:
a dissolve renders the two overlapping clips from two decoders side by side.
"""
from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import av

from core.enums import Upscaler, VideoEncoder
from core.export.chapters import chapters
from core.export.destination import remove_partial, write_error
from core.export.encode import PictureQueue, add_video_stream
from core.export.encoders import CODECS, codec_chain
from core.export.picture import RenderError, Source, Upscale
from core.export.program import Placement, layout, resolve_source
from core.export.progress import Progress, RenderCancelled, Reporter
from core.export.sound import AUDIO_RATE, AudioTrack
from core.export.spec import OutputSettings, RenderSpec
from core.export.title_card import ReelPictures, after_card, reel_frames

# Progress, RenderCancelled and RenderError are imported from here by the worker, the package
# and many tests: this module stays their address.
__all__ = ["Progress", "RenderCancelled", "RenderError", "Upscale", "render"]

log = logging.getLogger(__name__)


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
    AI upscaler for ``Upscaler.REALESRGAN`` (the worker or the Modal GPU backend injects it). Write errors
    name ``destination`` (the file asked for, when ``out_path`` is a staging name), else
    ``out_path``.
    """
    out_path = Path(out_path)
    is_cancelled = cancelled or (lambda: False)
    report = Reporter(on_progress)
    report("preparing", 0, 0)
    out = spec.output
    if out.upscaler is Upscaler.REALESRGAN and realesrgan is None:
        raise RenderError("Real-ESRGAN upscaling needs a GPU: this computer's (PyTorch with CUDA) or "
                          "the Modal backend's; export with upscaler 'none' or 'lanczos' otherwise")
    paths = [resolve_source(clip, resolve_media) for clip in spec.clips]
    placements = layout(spec, paths)
    frames_total = reel_frames(spec)
    fps = out.fps
    audio_total = (frames_total * AUDIO_RATE * fps.denominator) // fps.numerator

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.{uuid.uuid4().hex[:12]}.partial.mp4")
    started = time.monotonic()
    try:
        for encoder in codec_chain(out.encoder):
            try:
                pictures = ReelPictures(spec, placements, out, resolve_media, realesrgan)
                _encode_file(tmp, encoder, spec, pictures, placements, frames_total, audio_total,
                             is_cancelled, report)
                break
            except av.FFmpegError as e:
                if encoder is VideoEncoder.X264 or isinstance(e, OSError):
                    raise
                # A GPU encoder that passed its test encode can still fail (driver, session
                # limit, frame size): render again with x264 rather than fail the export.
                log.warning("%s failed (%s); rendering with x264 instead", CODECS[encoder], e)
                remove_partial(tmp)
        report.encoder = CODECS[encoder]
        if is_cancelled():  # the close (faststart rewrite) can take a while on long reels
            raise RenderCancelled()
        os.replace(tmp, out_path)
    except RenderCancelled:
        log.info("render of project %s cancelled", spec.project_uid)
        remove_partial(tmp)
        raise
    except OSError as e:  # PyAV's write errors are OSErrors too (permission, disk full)
        remove_partial(tmp)
        raise RenderError(write_error(destination or out_path, e)) from e
    except av.FFmpegError as e:
        remove_partial(tmp)
        raise RenderError(f"encoding failed: {e}") from e
    except BaseException:
        remove_partial(tmp)
        raise
    log.info(
        "rendered project %s: %d frames %dx%d with %s in %.1f s -> %s", spec.project_uid,
        frames_total, out.width, out.height, report.encoder, time.monotonic() - started, out_path,
    )
    report("done", frames_total, frames_total)
    return out_path


def _encode_file(
    tmp: Path, encoder: VideoEncoder, spec: RenderSpec, pictures: ReelPictures,
    placements: list[Placement], frames_total: int, audio_total: int,
    is_cancelled: Callable[[], bool], report: Reporter,
) -> None:
    out = spec.output
    with av.open(
        str(tmp), "w", format="mp4",
        container_options={"movflags": "+faststart"} if out.faststart else {},
    ) as container:
        video = add_video_stream(container, out, encoder)
        audio = AudioTrack(container, out, audio_total) if out.audio else None
        container.set_chapters(chapters(spec, pictures.lead * out.fps_den / out.fps_num))
        _render_frames(
            pictures, after_card(placements, pictures.lead, out.fps), out, frames_total, video,
            container, audio, is_cancelled, report,
        )
        report("finishing", frames_total, frames_total)
        for packet in video.encode(None):
            container.mux(packet)
        if audio is not None:
            audio.flush(audio_total, final=True)


def _render_frames(
    pictures: ReelPictures, placements: list[Placement], out: OutputSettings, frames_total: int,
    video: av.VideoStream, container: av.container.OutputContainer, audio: AudioTrack | None,
    cancelled: Callable[[], bool], report: Reporter,
) -> None:
    """Encode and mux on this thread while a PictureQueue thread decodes and warps the next
    frames; the sound of the clips (``placements``, behind the card) follows the picture."""
    fps_num, fps_den = out.fps_num, out.fps_den
    queue = PictureQueue(pictures, out, 0, frames_total)
    next_clip = 0
    try:
        for k in range(frames_total):
            if cancelled():
                raise RenderCancelled()
            t = k * fps_den / fps_num
            if audio is not None:
                next_clip = audio.follow(placements, next_clip, t, cancelled)
            vf = queue.get()
            vf.pts = k
            for packet in video.encode(vf):
                container.mux(packet)
            report("rendering", k + 1, frames_total)
    finally:
        queue.close()
