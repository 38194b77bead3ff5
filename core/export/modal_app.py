"""ReelDesk's Modal app: export renders on cloud GPUs.

Deploy from the repository root::

    modal deploy core/export/modal_app.py

* ``render_chunk`` (GPU): runs the SAME ``core.export.render.render`` as the local backend on a
  RenderSpec, with Real-ESRGAN (official weights through ``spandrel``, fp16, colour conversion
  and resampling on the GPU) as the upscaler when the spec asks for it. Sources are read
  straight from presigned GET URLs with HTTP range requests (FFmpeg seeks over HTTP), so a
  chunk fetches only the part of the game it shows; the result goes to a presigned PUT URL (or
  back to the orchestrator). CPU and memory are reserved for x264 and the frame work, and
  failed inputs are retried.
* ``orchestrate`` (CPU): splits a render into time chunks (``plan_chunks``: at most
  ``MAX_CHUNK_S`` of output each and up to ``max_containers`` of them for parallelism; cut on
  whole output frames, preferably at clip cuts and segment boundaries, never inside a
  transition), renders them in parallel on ``render_chunk``, and joins them WITHOUT re-encoding
  the picture (``join_chunks``: a packet remux; every chunk is its own encode, so it starts on
  an IDR frame of a closed GOP). Chunks carry PCM sound, so the reel's AAC is encoded once.
* Progress goes into the ``modal.Dict`` ``reeldesk-export-progress`` keyed by job uid (chunks
  under ``{job}/{i}``); outside a Modal container (``.local()``) into ``LOCAL_PROGRESS``.

Modal never holds R2 keys: every URL is minted, short-lived, by the desktop. The module imports
without GPU libraries (torch / Real-ESRGAN are imported inside the function that needs them), so
``render_chunk.local(...)`` runs in tests; file:// URLs are read and written in place there.
"""
from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import modal

from core.editmath.timebase import frame_time
from core.enums import AudioCodec, TransitionType, Upscaler
from core.export.modal_backend import (
    APP_NAME,
    MAX_CHUNK_S,
    MAX_CONTAINERS,
    MIN_CHUNK_S,
    ORCHESTRATOR,
    PROGRESS_DICT,
    RENDER_FUNCTION,
)
from core.export.spec import RenderSpec, Transition

__all__ = [
    "LOCAL_PROGRESS",
    "Chunk",
    "app",
    "join_chunks",
    "orchestrate",
    "plan_chunks",
    "render_chunk",
    "run_render",
    "upload",
]

log = logging.getLogger(__name__)

WEIGHTS_URL = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth"
WEIGHTS_SHA256 = "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"
WEIGHTS = "/weights/RealESRGAN_x4plus.pth"
GPU = "L4"
CHUNK_CPU, CHUNK_MEMORY_MB = 4.0, 8192  # x264, decoding and the frame warps run beside the GPU
_PROGRESS_EVERY_S = 1.0  # Dict writes are network calls
_EPS = 1e-9

image = (
    modal.Image.debian_slim(python_version="3.11")
    # PyAV wheels carry their own FFmpeg; no GUI libraries: only the headless OpenCV.
    .pip_install(
        "numpy>=1.26,<3", "av>=14,<20", "opencv-python-headless>=4.9,<5", "Pillow>=10.1,<13",
        "torch==2.5.1", "spandrel==0.4.2",
    )
    # Weights are part of the image (a cold container never downloads them), checked against
    # a pinned SHA-256: a changed file fails the build instead of running an unknown model.
    .run_commands(
        "mkdir -p /weights",
        f"python -c \"import urllib.request; urllib.request.urlretrieve('{WEIGHTS_URL}', '{WEIGHTS}')\"",
        f"echo '{WEIGHTS_SHA256}  {WEIGHTS}' | sha256sum -c -",
        f"python -c \"import spandrel, av, cv2; spandrel.ModelLoader().load_from_file('{WEIGHTS}')\"",
    )
    # resources: the bundled fonts that text overlays are drawn with.
    .add_local_python_source("core", "resources")
)
app = modal.App(APP_NAME, image=image)

LOCAL_PROGRESS: dict[str, dict[str, Any]] = {}


def progress_store() -> MutableMapping[str, Any]:
    """The job progress Dict inside Modal; a plain dict when run locally (``.local()``)."""
    if modal.is_local():
        return LOCAL_PROGRESS
    return modal.Dict.from_name(PROGRESS_DICT, create_if_missing=True)


# -- transfers --------------------------------------------------------------------------------


def _file_path(url: str) -> Path | None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "file":
        return None
    path = urllib.request.url2pathname(parts.path)
    if parts.netloc and parts.netloc != "localhost":  # \\server\share on Windows
        path = f"//{parts.netloc}{path}"
    return Path(path)


def upload(path: Path, url: str, *, attempts: int = 4, timeout: float = 120.0) -> None:
    """PUT ``path`` to a presigned URL (file:// writes the file), retrying transient errors."""
    local = _file_path(url)
    if local is not None:
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(local.name + ".part")
        shutil.copyfile(path, tmp)
        os.replace(tmp, local)
        return
    size = path.stat().st_size
    for attempt in range(attempts):
        try:
            with open(path, "rb") as f:
                # An explicit length: presigned PUTs reject chunked transfer encoding.
                req = urllib.request.Request(url, data=f, method="PUT", headers={
                    "Content-Length": str(size), "Content-Type": "video/mp4"})
                with urllib.request.urlopen(req, timeout=timeout):
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500 or attempt + 1 == attempts:
                raise RuntimeError(f"upload failed: HTTP {exc.code} {exc.reason}") from None
        except OSError as exc:
            if attempt + 1 == attempts:
                raise RuntimeError(f"upload failed: {exc}") from None
        time.sleep(2 ** attempt)


def _resolve_sources(spec: RenderSpec, media_urls: dict[str, str]) -> dict[str, Path | str]:
    """file:// URLs as paths; http(s) URLs as they are: the renderer reads them with range
    requests, only the bytes of the frames and sound the chunk uses."""
    paths: dict[str, Path | str] = {}
    for media_hash in dict.fromkeys(c.media_hash for c in spec.clips):
        url = media_urls.get(media_hash)
        if url is None:
            raise RuntimeError(f"no URL for source {media_hash[:12]}")
        local = _file_path(url)
        paths[media_hash] = local if local is not None else url
    return paths


# -- upscaler ---------------------------------------------------------------------------------

_UPSCALER: Callable[[list[Any], tuple[int, int]], list[Any]] | None = None


def realesrgan_upscaler(weights: str = WEIGHTS) -> Callable[[list[Any], tuple[int, int]], list[Any]]:
    """Real-ESRGAN x4plus loaded by spandrel, on the GPU in half precision, a batch of frames per
    call; I420 in and out, with the colour conversion and the resampling to the output size done
    on the GPU too (only output-size pictures come back). Loaded once per container."""
    global _UPSCALER
    if _UPSCALER is None:
        import numpy as np
        import spandrel
        import torch

        from core.export.gpu_colour import i420_to_rgb, rgb_to_i420

        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.float16 if device == "cuda" else torch.float32
        model = spandrel.ModelLoader(device=device).load_from_file(weights).model.eval().to(dtype)

        def upscale(crops: list[Any], size: tuple[int, int]) -> list[Any]:
            out: list[Any] = [None] * len(crops)
            by_shape: dict[tuple[int, ...], list[int]] = {}
            for i, crop in enumerate(crops):
                by_shape.setdefault(crop.shape, []).append(i)
            with torch.inference_mode():
                for idx in by_shape.values():  # one model call per crop size (usually one)
                    frames = torch.from_numpy(np.stack([crops[i] for i in idx])).to(device)
                    big = model(i420_to_rgb(frames, dtype)).clamp_(0, 1)
                    for i, picture in zip(idx, rgb_to_i420(big, size).cpu().numpy()):
                        out[i] = picture
            return out

        _UPSCALER = upscale
    return _UPSCALER


# -- one render -------------------------------------------------------------------------------


class _ProgressWriter:
    def __init__(self, store: MutableMapping[str, Any], key: str) -> None:
        self._store = store
        self._key = key
        self._last = -math.inf
        self._stage = ""

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        if p.stage == self._stage and now - self._last < _PROGRESS_EVERY_S and p.fraction < 1.0:
            return
        self._last, self._stage = now, p.stage
        state = "finishing" if p.stage == "done" else p.stage
        self.put({"state": state, "fraction": p.fraction, "frames_done": p.frames_done,
                  "frames_total": p.frames_total, "eta_s": p.eta_s,
                  "stage": f"rendering frame {p.frames_done} of {p.frames_total}"
                  if p.stage == "rendering" else state})

    def put(self, value: dict[str, Any]) -> None:
        try:
            self._store[self._key] = value
        except Exception:
            log.warning("progress update failed", exc_info=True)


def run_render(job_uid: str, spec_json: str, media_urls: dict[str, str], output_url: str | None,
               progress_key: str | None = None, *, store: MutableMapping[str, Any] | None = None,
               upscaler: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Render a spec: the body of ``render_chunk``. Returns the file's duration/width/height/
    size_bytes, plus ``data`` (the MP4 bytes) when there is no ``output_url``."""
    from core.export.render import render
    from core.export.worker import probe

    spec = RenderSpec.from_json(spec_json)
    writer = _ProgressWriter(store if store is not None else progress_store(), progress_key or job_uid)
    if spec.output.upscaler is Upscaler.REALESRGAN and upscaler is None:
        upscaler = realesrgan_upscaler()
    with tempfile.TemporaryDirectory(prefix="reeldesk-render-") as tmp:
        paths = _resolve_sources(spec, media_urls)
        out = Path(tmp) / "render.mp4"
        render(spec, paths.__getitem__, out, writer, realesrgan=upscaler)
        info: dict[str, Any] = {**probe(out), "size_bytes": out.stat().st_size}
        if output_url:
            writer.put({"state": "finishing", "fraction": 0.995, "stage": "uploading the render",
                        "eta_s": None})
            upload(out, output_url)
        else:
            info["data"] = out.read_bytes()
    return info


@app.function(name=RENDER_FUNCTION, gpu=GPU, cpu=CHUNK_CPU, memory=CHUNK_MEMORY_MB, timeout=3600,
              max_containers=MAX_CONTAINERS,
              retries=modal.Retries(max_retries=2, initial_delay=2.0, backoff_coefficient=2.0))
def render_chunk(job_uid: str, spec_json: str, media_urls: dict[str, str],
                 output_url: str | None = None, progress_key: str | None = None) -> dict[str, Any]:
    return run_render(job_uid, spec_json, media_urls, output_url, progress_key)


# -- chunks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    index: int
    first_frame: int  # in the whole reel's output frames
    frames: int
    spec: RenderSpec


def chunk_count(frames: int, fps: Fraction, max_chunk_s: float = MAX_CHUNK_S,
                max_containers: int = MAX_CONTAINERS, min_chunk_s: float = MIN_CHUNK_S) -> int:
    """How many chunks: none longer than ``max_chunk_s``, and as many as ``max_containers``
    allow while each keeps at least ``min_chunk_s`` (a GPU container's start-up and model load
    would dominate a shorter one). 15 s: 5 chunks of 3 s; 10 min: 60 chunks of 10 s."""
    if max_chunk_s <= 0:
        return 1
    needed = math.ceil(frames / (max_chunk_s * fps) - _EPS)
    parallel = min(max_containers, math.floor(frames / (min_chunk_s * fps) + _EPS))
    return max(1, needed, parallel)


def plan_chunks(spec: RenderSpec, max_chunk_s: float = MAX_CHUNK_S,
                max_containers: int = MAX_CONTAINERS, min_chunk_s: float = MIN_CHUNK_S) -> list[Chunk]:
    """Split a render into ``chunk_count`` chunks at whole output frames.

    Cuts never fall inside a transition (fades and dissolves need both neighbours); near the ideal
    place a cut prefers a clip cut or a segment boundary (the frame at or before it, so the chunk
    after starts with the clip that frame shows). A chunk's spec is the reel's clips cut to its
    time range by trimming, so its frames are exactly the reel's frames of that range.
    """
    fps = spec.output.fps
    total = max(1, math.floor(spec.output_duration * fps + 0.5))
    n = chunk_count(total, fps, max_chunk_s, max_containers, min_chunk_s)
    if n <= 1:
        return [Chunk(0, 0, total, spec)]
    starts = spec.clip_starts()
    clips = spec.clips
    allowed: list[tuple[float, float]] = []
    preferred: list[float] = []
    for i, clip in enumerate(clips):
        tl = clip.timeline()
        head = clip.transition_in.edge if i else 0.0
        tail = clips[i + 1].transition_in.edge if i + 1 < len(clips) else 0.0
        lo, hi = starts[i] + head, starts[i] + tl.output_duration - tail
        allowed.append((lo, hi))
        if i and clip.transition_in.type is TransitionType.CUT:
            preferred.append(starts[i])
        preferred += [starts[i] + s.out_start for s in tl.segments[1:]
                      if lo <= starts[i] + s.out_start <= hi]

    def ok(k: int) -> bool:
        t = frame_time(k, fps)
        return any(lo - _EPS <= t <= hi + _EPS for lo, hi in allowed)

    step = total / n
    window = max(1, int(step * 0.3))
    min_gap = max(1, int(step * 0.25))
    candidates = sorted({math.floor(b * fps + _EPS) for b in preferred})
    cuts: list[int] = []
    for j in range(1, n):
        ideal = round(j * step)
        lo_k, hi_k = (cuts[-1] if cuts else 0) + min_gap, total - min_gap
        near = [k for k in candidates if lo_k <= k <= hi_k and abs(k - ideal) <= window and ok(k)]
        if near:
            cuts.append(min(near, key=lambda k: (abs(k - ideal), k)))
            continue
        for d in range(window + 1):
            k = next((k for k in (ideal - d, ideal + d) if lo_k <= k <= hi_k and ok(k)), None)
            if k is not None:
                cuts.append(k)
                break
    bounds = [0, *cuts, total]
    # PCM sound in the chunks: the join encodes the reel's AAC once, from lossless samples.
    pcm = replace(spec, output=replace(spec.output, audio_codec=AudioCodec.PCM))
    return [Chunk(i, a, b - a, _slice(pcm, frame_time(a, fps),
                                      frame_time(b, fps) if b < total else None))
            for i, (a, b) in enumerate(itertools.pairwise(bounds))]


def _slice(spec: RenderSpec, t0: float, t1: float | None) -> RenderSpec:
    """The reel between output times t0 and t1 (None: the end), clips cut by trimming."""
    if t0 <= _EPS and t1 is None:
        return spec
    pieces = []
    for clip, start in zip(spec.clips, spec.clip_starts()):
        tl = clip.timeline()
        end = start + tl.output_duration
        a, b = max(start, t0), end if t1 is None else min(end, t1)
        if b - a <= _EPS:
            continue
        u0, u1 = a - start, b - start
        whole_head, whole_tail = u0 <= _EPS, u1 >= tl.output_duration - _EPS
        piece = clip
        if not (whole_head and whole_tail):
            lo = tl.trim_start if whole_head else tl.output_to_source(u0)
            hi = tl.trim_end if whole_tail else tl.output_to_source(u1)
            piece = replace(clip, trim=(lo, hi))
        if not (whole_head and pieces):  # a piece that starts mid-clip, or a chunk's first clip
            piece = replace(piece, transition_in=Transition())
        pieces.append(piece)
    return replace(spec, clips=tuple(pieces))


def join_chunks(paths: Sequence[Path], out_path: Path, *, faststart: bool = True) -> Path:
    """Concatenate chunk MP4s into one. The picture is remuxed packet by packet (no re-encode,
    frame-exact: every chunk starts on its own IDR frame), each chunk shifted by the frames
    before it. The sound is decoded per chunk, cut to exactly its frames' duration and encoded
    ONCE as one AAC stream: AAC packets cannot be spliced cleanly (each join would lose the MDCT
    overlap, an audible click, and a chunk that is not a whole number of 1024-sample AAC frames
    drifts the sound against the picture). That costs seconds of CPU for a whole reel."""
    import av

    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.join.mp4")
    options = {"movflags": "+faststart"} if faststart else {}
    try:
        with av.open(str(paths[0])) as first:
            template = first.streams.video[0]
            fps = Fraction(template.average_rate or template.guessed_rate)
            audio_in = first.streams.audio[0] if first.streams.audio else None
            bit_rate = (audio_in.codec_context.bit_rate or 160_000) if audio_in else 0
            with av.open(str(tmp), "w", format="mp4", options=options) as dst:
                add = getattr(dst, "add_stream_from_template", None)
                vout = add(template) if add else dst.add_stream(template=template)
                sound = _AudioJoin(dst, bit_rate) if audio_in is not None else None
                frames_before = 0
                last_dts = -(1 << 62)
                for index, path in enumerate(paths):
                    with av.open(str(path)) as src:
                        video = src.streams.video[0]
                        frames = video.frames or _count_frames(path)
                        if sound is not None:
                            sound.add_chunk(src, frames_before, frames, fps)
                        v0 = Fraction(video.start_time or 0) * video.time_base
                        offset = Fraction(frames_before) / fps - v0
                        for packet in src.demux(video):
                            if packet.dts is None or packet.size == 0:
                                continue  # demuxer flush packets
                            shift = round(offset / packet.time_base)
                            packet.dts += shift
                            if packet.pts is not None:
                                packet.pts += shift
                            if packet.dts <= last_dts:
                                raise ValueError(f"chunk {index} cannot be joined: its timestamps "
                                                 "overlap the chunk before")
                            last_dts = packet.dts
                            if sound is not None:  # keep the file interleaved
                                sound.mux_until(packet.dts * packet.time_base)
                            packet.stream = vout
                            dst.mux(packet)
                    frames_before += frames
                if sound is not None:
                    sound.finish()
        os.replace(tmp, out_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return out_path


class _AudioJoin:
    """One AAC stream fed with each chunk's decoded sound, cut to the chunk's exact length."""

    RATE = 48_000
    FRAME = 1024

    def __init__(self, dst: Any, bit_rate: int) -> None:
        import numpy as np

        self._np = np
        self._dst = dst
        self._stream = dst.add_stream("aac", rate=self.RATE)
        self._stream.layout = "stereo"
        self._stream.bit_rate = bit_rate
        self._carry = np.zeros((2, 0), np.float32)
        self._sent = 0  # samples handed to the encoder
        self._pending: list[Any] = []

    def add_chunk(self, src: Any, frames_before: int, frames: int, fps: Fraction) -> None:
        np = self._np
        first = frames_before * self.RATE * fps.denominator // fps.numerator
        last = (frames_before + frames) * self.RATE * fps.denominator // fps.numerator
        pcm = np.zeros((2, last - first), np.float32)
        if src.streams.audio:
            stream = src.streams.audio[0]
            origin = Fraction(src.start_time or 0, 1_000_000)
            resampler = _resampler(self.RATE)
            for frame in src.decode(stream):
                for out in resampler.resample(frame):
                    self._place(pcm, out, origin)
            for out in resampler.resample(None):
                self._place(pcm, out, origin)
        src.seek(0)
        self._carry = np.concatenate([self._carry, pcm], axis=1)
        whole = self._carry.shape[1] - self._carry.shape[1] % self.FRAME
        self._encode(self._carry[:, :whole])
        self._carry = self._carry[:, whole:]

    def _place(self, pcm: Any, frame: Any, origin: Fraction) -> None:
        if frame.pts is None:
            return
        at = round((Fraction(frame.pts) * frame.time_base - origin) * self.RATE)
        data = frame.to_ndarray()
        lo, hi = max(at, 0), min(at + data.shape[1], pcm.shape[1])
        if hi > lo:
            pcm[:, lo:hi] = data[:, lo - at: hi - at]

    def _encode(self, samples: Any) -> None:
        import av

        np = self._np
        for i in range(0, samples.shape[1], self.FRAME):
            chunk = np.ascontiguousarray(samples[:, i: i + self.FRAME])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate = self.RATE
            frame.pts = self._sent
            frame.time_base = Fraction(1, self.RATE)
            self._sent += chunk.shape[1]
            self._pending.extend(self._stream.encode(frame))

    def mux_until(self, t: Fraction) -> None:
        while self._pending and self._pending[0].dts is not None \
                and self._pending[0].dts * self._pending[0].time_base <= t:
            self._dst.mux(self._pending.pop(0))

    def finish(self) -> None:
        if self._carry.shape[1]:
            self._encode(self._carry)
        self._pending.extend(self._stream.encode(None))
        for packet in self._pending:
            self._dst.mux(packet)
        self._pending.clear()


def _resampler(rate: int) -> Any:
    import av

    return av.AudioResampler(format="fltp", layout="stereo", rate=rate)


def _count_frames(path: Path) -> int:
    import av

    with av.open(str(path)) as src:
        return sum(1 for p in src.demux(src.streams.video[0]) if p.size)


# -- the orchestrator -------------------------------------------------------------------------


class _Handle:
    def __init__(self, call: Any = None, result: Any = None, error: BaseException | None = None):
        self.call, self.result, self.error = call, result, error

    def poll(self) -> Any:
        if self.error is not None:
            raise self.error
        if self.call is None:
            return self.result
        try:
            return self.call.get(timeout=0)
        except TimeoutError as exc:
            if type(exc) is TimeoutError:  # builtin: not finished yet
                return None
            raise

    def cancel(self) -> None:
        if self.call is not None:
            try:
                self.call.cancel()
            except Exception:
                log.warning("cancelling a chunk failed", exc_info=True)


def _spawn_chunk(*args: Any) -> _Handle:
    if modal.is_local():  # .local() runs: chunks one after another, in this process
        try:
            return _Handle(result=render_chunk.local(*args))
        except Exception as exc:  # noqa: BLE001 - re-raised by poll, like a remote failure
            return _Handle(error=exc)
    return _Handle(call=render_chunk.spawn(*args))


def run_orchestration(job_uid: str, spec_json: str, media_urls: dict[str, str], output_url: str,
                      chunk_s: float = MAX_CHUNK_S, max_containers: int = MAX_CONTAINERS, *,
                      store: MutableMapping[str, Any] | None = None,
                      spawn: Callable[..., _Handle] = _spawn_chunk,
                      poll_s: float = 1.0) -> dict[str, Any]:
    """The body of ``orchestrate``."""
    store = store if store is not None else progress_store()
    spec = RenderSpec.from_json(spec_json)
    chunks = plan_chunks(spec, chunk_s, max_containers)
    total = sum(c.frames for c in chunks)

    def put(value: dict[str, Any]) -> None:
        try:
            store[job_uid] = value
        except Exception:
            log.warning("progress update failed", exc_info=True)

    put({"state": "preparing", "fraction": 0.0, "stage": f"starting {len(chunks)} GPU render(s)",
         "eta_s": None})
    if len(chunks) == 1:  # the GPU function writes the output and the job's progress itself
        handle = spawn(job_uid, spec_json, media_urls, output_url, job_uid)
        handles = [handle]
    else:
        handles = [spawn(job_uid, c.spec.to_json(),
                         {h: media_urls[h] for h in {x.media_hash for x in c.spec.clips}},
                         None, f"{job_uid}/{c.index}") for c in chunks]
    results: list[Any] = [None] * len(handles)
    try:
        while True:
            for i, h in enumerate(handles):
                if results[i] is None:
                    results[i] = h.poll()
            if all(r is not None for r in results):
                break
            if len(chunks) > 1:
                done = sum(c.frames if results[c.index] is not None else
                           int((_get(store, f"{job_uid}/{c.index}") or {}).get("frames_done") or 0)
                           for c in chunks)
                etas = [(_get(store, f"{job_uid}/{c.index}") or {}).get("eta_s") for c in chunks
                        if results[c.index] is None]
                put({"state": "rendering", "fraction": 0.95 * done / total,
                     "stage": f"rendering {len(chunks)} chunks in parallel",
                     "eta_s": max((e for e in etas if isinstance(e, (int, float))), default=None)})
            time.sleep(poll_s)
    except BaseException:  # cancelled (InputCancellation) or a chunk failed: stop the others
        for h in handles:
            h.cancel()
        raise
    if len(chunks) == 1:
        return results[0]
    put({"state": "finishing", "fraction": 0.96, "stage": "joining the chunks", "eta_s": None})
    from core.export.worker import probe

    with tempfile.TemporaryDirectory(prefix="reeldesk-join-") as tmp:
        parts = []
        for c, r in zip(chunks, results):
            part = Path(tmp) / f"chunk-{c.index:04d}.mp4"
            part.write_bytes(r["data"])
            parts.append(part)
        out = join_chunks(parts, Path(tmp) / "render.mp4", faststart=spec.output.faststart)
        put({"state": "finishing", "fraction": 0.98, "stage": "uploading the render", "eta_s": None})
        upload(out, output_url)
        info = {**probe(out), "size_bytes": out.stat().st_size, "chunks": len(chunks)}
    for c in chunks:  # the job's own entry stays: the desktop reads it, then removes it
        with contextlib.suppress(Exception):
            store.pop(f"{job_uid}/{c.index}")
    return info


def _get(store: MutableMapping[str, Any], key: str) -> Any:
    try:
        return store.get(key)
    except Exception:  # noqa: BLE001
        return None


@app.function(name=ORCHESTRATOR, cpu=2.0, memory=4096, timeout=6 * 3600,
              retries=modal.Retries(max_retries=1, initial_delay=5.0))
def orchestrate(job_uid: str, spec_json: str, media_urls: dict[str, str], output_url: str,
                chunk_s: float = MAX_CHUNK_S, max_containers: int = MAX_CONTAINERS) -> dict[str, Any]:
    return run_orchestration(job_uid, spec_json, media_urls, output_url, chunk_s, max_containers)

