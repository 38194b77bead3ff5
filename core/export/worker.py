"""The local export worker: ``python -m core.export.worker JOB_UID --library DIR``.

``LocalBackend`` starts it as a child process (a fresh interpreter: spawn-safe, no fork
assumptions, works the same on Windows). It reads the job's stored RenderSpec, renders it to the
job's staging path with ``core.export.render.render`` and reports on stdout, one JSON object per
line, nothing else::

    {"event": "progress", "state": "rendering", "fraction": 0.42, "frames_done": 50,
     "frames_total": 120, "eta_s": 3.1}
    {"event": "done", "path": "...", "duration": 4.0, "width": 1080, "height": 1920}
    {"event": "error", "message": "source of clip ... is missing: ..."}
    {"event": "cancelled"}

It never writes the database: the parent owns the job row. Cancel is cooperative so the render
removes its partial file itself: the line ``cancel`` on stdin, stdin closing (the parent died) or
SIGTERM. Exit codes: 0 done, 1 the render failed, 2 bad arguments or job, 4 cancelled.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import IO, Any

from core.export.destination import write_error
from core.redact import RedactingFilter

EXIT_DONE, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 4
DB_NAME = "library.sqlite"  # core.library.DB_NAME (not imported: it pulls in the database layer)
STAGED_PREFIX = ".reeldesk-"

log = logging.getLogger("core.export.worker")


class _Emitter:
    """JSON lines on stdout. A broken pipe means the parent is gone: stop rendering."""

    def __init__(self, stream: IO[str], cancel: threading.Event) -> None:
        self._stream = stream
        self._cancel = cancel
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, **fields}, ensure_ascii=True, allow_nan=False)
        with self._lock:
            try:
                self._stream.write(line + "\n")
                self._stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                self._cancel.set()
                raise


def _watch_stdin(cancel: threading.Event) -> None:
    stdin = sys.stdin
    if stdin is None:
        return
    try:
        for line in stdin:
            if line.strip() == "cancel":
                break
    except (OSError, ValueError):
        pass
    cancel.set()  # "cancel", or EOF: the parent closed the pipe or died


def probe(path: Path) -> dict[str, Any]:
    """Duration (of the picture), width and height of a rendered file."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        return {"duration": round(duration, 4), "width": stream.codec_context.width,
                "height": stream.codec_context.height}


def staging_path(exports_dir: Path, job_uid: str, output_path: str | None) -> Path:
    """Where a job's render lands before it is recorded: hidden, next to its final place (the
    rename into place is then atomic on one volume)."""
    folder = Path(output_path).parent if output_path else exports_dir
    return folder / f"{STAGED_PREFIX}{job_uid}.mp4"


def _load_job(root: Path, job_uid: str) -> tuple[str, str | None]:
    """(spec JSON, output path) of a running job. Plain sqlite3, read-only: the worker starts
    without the database layer (SQLAlchemy, Alembic), which halves its start-up time."""
    from core.enums import JobState

    db = root / DB_NAME
    if not db.is_file():
        raise LookupError(f"no library at {root}")
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        row = conn.execute("SELECT state, spec_json, output_path FROM export_jobs WHERE uid = ?",
                           (job_uid,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise LookupError(f"unknown export job {job_uid}")
    state = JobState(row[0])
    if state.finished or state is JobState.QUEUED:
        raise LookupError(f"export job {job_uid} is {state.value}, not running")
    return row[1], row[2]


def run(job_uid: str, root: Path, emit: _Emitter, cancel: threading.Event) -> int:
    from core.enums import Upscaler
    from core.export import part_cache
    from core.export.ai_local import local_upscaler
    from core.export.incremental import render_incremental
    from core.export.render import Progress, RenderCancelled, RenderError, render
    from core.export.spec import RenderSpec, SpecError

    try:
        spec_json, output_path = _load_job(root, job_uid)
        spec = RenderSpec.from_json(spec_json)
    except (LookupError, SpecError) as exc:
        emit("error", message=str(exc))
        return EXIT_USAGE
    out = staging_path(root / "exports", job_uid, output_path)
    shown = Path(output_path) if output_path else out.parent  # what write errors name

    used: list[str] = []

    def on_progress(p: Progress) -> None:
        if p.encoder:
            used.append(p.encoder)
        emit("progress", state=p.stage if p.stage != "done" else "finishing",
             fraction=round(p.fraction, 5), frames_done=p.frames_done,
             frames_total=p.frames_total, eta_s=None if p.eta_s is None else round(p.eta_s, 2))

    def media(media_hash: str) -> Path:
        return root / "media" / media_hash

    try:
        if spec.output.upscaler is Upscaler.REALESRGAN:  # this computer's GPU; no cached parts
            render(spec, media, out, on_progress, cancel.is_set, realesrgan=local_upscaler(),
                   destination=shown)
        else:
            # Clips whose parts are cached from an earlier export are joined, not rendered again.
            cache = part_cache.PartCache(root / "cache" / part_cache.FOLDER,
                                         part_cache.cache_bound(root / DB_NAME))
            _path, clips = render_incremental(spec, media, out, cache, on_progress, cancel.is_set,
                                              destination=shown)
            part_cache.write_report(cache.folder, job_uid, [{"working_clip": c.working_clip, "reused": c.reused}
                                                            for c in clips])
    except RenderCancelled:
        _try_emit(emit, "cancelled")
        return EXIT_CANCELLED
    except (RenderError, SpecError) as exc:
        _try_emit(emit, "error", message=str(exc))
        return EXIT_FAILED
    except (BrokenPipeError, OSError) as exc:
        if cancel.is_set():  # the parent went away while we wrote progress
            return EXIT_CANCELLED
        _try_emit(emit, "error", message=write_error(shown, exc))
        return EXIT_FAILED
    except MemoryError:
        _try_emit(emit, "error", message="out of memory while rendering")
        return EXIT_FAILED
    try:
        info = probe(out)
    except Exception as exc:  # a render we cannot read back is a failed one
        out.unlink(missing_ok=True)
        _try_emit(emit, "error", message=f"the rendered file cannot be read back: {exc}")
        return EXIT_FAILED
    emit("done", path=str(out), encoder=used[-1] if used else None, **info)
    return EXIT_DONE


def _try_emit(emit: _Emitter, event: str, **fields: Any) -> None:
    try:
        emit(event, **fields)
    except (BrokenPipeError, OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.export.worker",
                                     description="Render one export job (started by ReelDesk).")
    parser.add_argument("job", metavar="JOB_UID")
    parser.add_argument("--library", type=Path, required=True, metavar="DIR")
    args = parser.parse_args(argv)
    # stdout carries the protocol only: every log line goes to stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # stderr lines end up in the job's message
        handler.addFilter(RedactingFilter())
    cancel = threading.Event()
    try:
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, lambda *_: cancel.set())
        # Ctrl+C in a terminal reaches the whole process group: the parent decides (it cancels
        # through stdin), so the render is never torn down half-way by the signal itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread (called from a test)
        pass
    threading.Thread(target=_watch_stdin, args=(cancel,), name="stdin-watch", daemon=True).start()
    emit = _Emitter(sys.stdout, cancel)
    return run(args.job, args.library, emit, cancel)


if __name__ == "__main__":
    sys.exit(main())
