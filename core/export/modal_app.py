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
* ``orchestrate`` (CPU): splits a render into time chunks (``core.export.chunks.plan_chunks``: at most
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
import logging
import math
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import modal

from core.enums import Upscaler
from core.export.ai_local import WEIGHTS_NAME, WEIGHTS_SHA256, WEIGHTS_URL
from core.export.chunks import chunk_media, join_chunks, plan_chunks
from core.export.modal_backend import (
    APP_NAME,
    MAX_CHUNK_S,
    MAX_CONTAINERS,
    MODAL_GPU,
    ORCHESTRATOR,
    PROGRESS_DICT,
    RENDER_FUNCTION,
)
from core.export.spec import RenderSpec

if TYPE_CHECKING:
    from core.export.picture import Upscale

__all__ = [
    "LOCAL_PROGRESS",
    "app",
    "orchestrate",
    "render_chunk",
    "run_render",
    "upload",
]

log = logging.getLogger(__name__)

WEIGHTS = f"/weights/{WEIGHTS_NAME}"
CHUNK_CPU, CHUNK_MEMORY_MB = 4.0, 8192  # x264, decoding and the frame warps run beside the GPU
_PROGRESS_EVERY_S = 1.0  # Dict writes are network calls

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
    store: Any = modal.Dict.from_name(PROGRESS_DICT, create_if_missing=True)
    return cast(MutableMapping[str, Any], store)  # it has the mapping methods, not the ABC


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


def realesrgan_upscaler(weights: str = WEIGHTS) -> Upscale:
    """Real-ESRGAN x4plus from the weights baked into the image (``core.export.realesrgan``:
    spandrel, fp16, colour conversion on the GPU), loaded once per container."""
    from core.export.realesrgan import load_upscaler

    return load_upscaler(weights)


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
               upscaler: Upscale | None = None) -> dict[str, Any]:
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


@app.function(name=RENDER_FUNCTION, gpu=MODAL_GPU, cpu=CHUNK_CPU, memory=CHUNK_MEMORY_MB, timeout=3600,
              max_containers=MAX_CONTAINERS,
              retries=modal.Retries(max_retries=2, initial_delay=2.0, backoff_coefficient=2.0))
def render_chunk(job_uid: str, spec_json: str, media_urls: dict[str, str],
                 output_url: str | None = None, progress_key: str | None = None) -> dict[str, Any]:
    return run_render(job_uid, spec_json, media_urls, output_url, progress_key)


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
                         {h: media_urls[h] for h in chunk_media(c.spec)},
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
        single: dict[str, Any] = results[0]
        return single
    put({"state": "finishing", "fraction": 0.96, "stage": "joining the chunks", "eta_s": None})
    from core.export.worker import probe

    with tempfile.TemporaryDirectory(prefix="reeldesk-join-") as tmp:
        parts = []
        for c, r in zip(chunks, results, strict=True):
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

