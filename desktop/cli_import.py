"""``reeldesk import`` and ``reeldesk watch``: the import service and the watch folder from a terminal.

``import`` prints one result per file (imported / duplicate / skipped / failed), with a progress bar
on stderr when stderr is a terminal; Ctrl+C cancels cleanly (the file being copied leaves nothing
behind) and exits 130. ``watch`` runs the watch folder headless until Ctrl+C.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from core.library import Library
from core.media.cache import CacheWorker
from core.media.importer import ImportProgress, ImportResult, ImportService, ImportStatus
from core.media.watch_service import DEFAULT_SETTLE_S, WatchService, set_watch_folder, watch_folder
from desktop.cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    CliError,
    Outcome,
    number,
    write_text,
    write_utf8,
)


log = logging.getLogger(__name__)

_BAR_WIDTH = 24
_REFRESH_S = 0.1


# -- parsers -------------------------------------------------------------------------------------
def _seconds(text: str) -> float:
    value = number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def add_parsers(cmd: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the ``import`` and ``watch`` sub-commands through cli.build_parser's factory."""
    p = cmd("import", "import video files or folders (copied into the library) as whole-file clips or one game")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files, or folders searched recursively")
    p.add_argument("--game", metavar="NAME",
                   help="import the files as one game (several files = halves, in the order given)")
    p.add_argument("--link", action="store_true",
                   help="hard-link instead of copying where possible (saves space with huge files)")
    p.add_argument("--no-cache", action="store_true",
                   help="skip thumbnails and waveforms now (they are made when first needed)")

    p = cmd("watch", "import new files from a folder as they finish, until Ctrl+C")
    p.add_argument("folder", nargs="?", type=Path, metavar="DIR",
                   help="the folder to watch (default: the library's configured watch folder)")
    p.add_argument("--settle", type=_seconds, default=DEFAULT_SETTLE_S, metavar="S",
                   help=f"seconds a file must stay unchanged before it is imported (default {DEFAULT_SETTLE_S:g})")
    p.add_argument("--save", action="store_true", help="remember DIR as the library's watch folder")
    p.add_argument("--link", action="store_true", help="hard-link instead of copying where possible")


# -- terminal progress ---------------------------------------------------------------------------
class ProgressBar:
    """A one-line progress bar on a terminal (ASCII only: Windows consoles may be cp1252)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = False

    @classmethod
    def for_stderr(cls) -> ProgressBar | None:
        """A bar on stderr, or None when stderr is not a terminal (pipes and logs stay clean)."""
        stream = sys.stderr
        try:
            return cls(stream) if stream.isatty() else None
        except (AttributeError, ValueError):
            return None

    def update(self, p: ImportProgress) -> None:
        now = time.monotonic()
        final = p.overall_done >= p.overall_total
        if now - self._last < _REFRESH_S and not final:
            return
        self._last = now
        filled = int(_BAR_WIDTH * p.fraction)
        rate = p.overall_done / max(now - self.started, 1e-6) / 1e6
        self.show(f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {p.fraction * 100:3.0f}%  "
                  f"{p.file_index + 1}/{p.file_count}  {rate:6.1f} MB/s  {p.path.name}")

    def show(self, text: str) -> None:
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        line = text if len(text) <= width else text[: width - 3] + "..."
        self._write("\r" + line.ljust(width))
        self._shown = True

    def close(self) -> None:
        if self._shown:
            width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
            self._write("\r" + " " * width + "\r")
            self._shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except UnicodeEncodeError:  # a file name the console cannot show
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            self.stream.write(text.encode(encoding, "replace").decode(encoding))
        self.stream.flush()


@contextlib.contextmanager
def cancel_on_ctrl_c() -> Iterator[threading.Event]:
    """The first Ctrl+C sets the event (a clean cancel); a second one aborts at once."""
    event = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield event
        return

    def handler(signum: int, frame: object) -> None:
        if event.is_set():
            raise KeyboardInterrupt
        event.set()
        sys.stderr.write("\nreeldesk: cancelling... (Ctrl+C again to abort)\n")
        sys.stderr.flush()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


# -- import --------------------------------------------------------------------------------------
def _result_line(r: ImportResult) -> str:
    media = f"media {r.media[:12]}..." if r.media else ""
    where = f"clip {r.clip}" if r.clip else (f"game {r.game}" if r.game else "")
    if r.status is ImportStatus.IMPORTED:
        return f"imported   {r.path}  {where}  ({media})"
    if r.status is ImportStatus.DUPLICATE:
        return f"duplicate  {r.path}  {where}  ({media} already in library)"
    if r.status is ImportStatus.SKIPPED:
        return f"skipped    {r.path}: {r.error}"
    if r.status is ImportStatus.CANCELLED:
        return f"cancelled  {r.path}"
    return f"failed     {r.path}: {r.error}"


def _summary(results: list[ImportResult]) -> str:
    counts = {s: sum(1 for r in results if r.status is s) for s in ImportStatus}
    parts = [f"{counts[ImportStatus.IMPORTED]} imported", f"{counts[ImportStatus.DUPLICATE]} duplicate"]
    if counts[ImportStatus.ERROR]:
        parts.append(f"{counts[ImportStatus.ERROR]} of {len(results)} file(s) failed")
    if counts[ImportStatus.SKIPPED]:
        parts.append(f"{counts[ImportStatus.SKIPPED]} skipped (not video)")
    if counts[ImportStatus.CANCELLED]:
        parts.append(f"{counts[ImportStatus.CANCELLED]} cancelled")
    return ", ".join(parts)


def _wait_for_cache(cache: CacheWorker, bar: ProgressBar | None, stop: threading.Event) -> None:
    """Let thumbnails and waveforms finish (the import itself is already recorded); Ctrl+C skips them."""
    while not cache.wait_idle(0.2):
        if stop.is_set():
            cache.stop()  # partial caches are removed; they are regenerated when first needed
            return
        if bar is not None:
            bar.show(f"thumbnails and waveforms: {cache.pending} file(s) to go")


def cmd_import(lib: Library, args: argparse.Namespace) -> Outcome:
    cache = None if args.no_cache else CacheWorker.for_library(lib)
    service = ImportService(lib, cache=cache)
    bar = ProgressBar.for_stderr()
    try:
        with cancel_on_ctrl_c() as stop:
            try:
                results = service.import_paths(args.paths, game_name=args.game, link=args.link,
                                               progress=bar.update if bar else None, cancelled=stop.is_set)
                if cache is not None and not stop.is_set():
                    _wait_for_cache(cache, bar, stop)
            finally:
                if bar is not None:
                    bar.close()
    finally:
        if cache is not None:
            cache.stop()

    lines = [_result_line(r) for r in results]
    game = next((r.game for r in results if r.game), None)
    if game is not None:
        lines.append(f"game {args.game!r}: {game} ({sum(1 for r in results if r.game)} file(s))")
    elif args.game is not None:
        lines.append(f"game {args.game!r} not created: no file was imported")
    lines.append(_summary(results) if results else "no files found")

    if any(r.status is ImportStatus.CANCELLED for r in results):
        code = EXIT_INTERRUPTED
    elif any(r.status is ImportStatus.ERROR for r in results) or not any(r.ok for r in results):
        code = EXIT_FAILED  # a failure, or nothing importable at all
    else:
        code = EXIT_OK
    return Outcome([r.to_json() for r in results], "\n".join(lines), code)


# -- watch ---------------------------------------------------------------------------------------
def cmd_watch(lib: Library, args: argparse.Namespace) -> Outcome:
    folder: Path | None = args.folder or watch_folder(lib)
    if folder is None:
        raise CliError("no watch folder: give DIR, or save one with 'reeldesk watch DIR --save'")
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder")
    if args.save:
        set_watch_folder(lib, folder)

    out_lock = threading.Lock()
    results: list[ImportResult] = []

    def on_result(r: ImportResult) -> None:
        with out_lock:
            results.append(r)
            if r.status is ImportStatus.SKIPPED and not args.json:
                return  # noise in a downloads folder; the log has it
            if args.json:  # JSON Lines: one document per result as it happens
                write_utf8(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
            else:
                write_text(_result_line(r) + "\n")

    cache = CacheWorker.for_library(lib)
    service = WatchService(lib, folder, cache=cache, on_result=on_result, settle_s=args.settle, link=args.link)
    service.start()
    sys.stderr.write(f"{PROG}: watching {service.folder} (Ctrl+C to stop)\n")
    sys.stderr.flush()
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        cache.stop()
    with out_lock:
        counts: dict[str, Any] = {s.value: sum(1 for r in results if r.status is s) for s in ImportStatus}
    done = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing new"
    return Outcome({"stopped": str(service.folder), **counts}, f"stopped watching {service.folder}: {done}")
