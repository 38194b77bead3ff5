"""``reeldesk preview PROJECT --at SECONDS --out FILE.png [--width N]``.

Writes the program frame at output time SECONDS (what the export shows then: crop, rotation,
spotlight, speed and transitions) as a PNG, through ``core.export.preview`` — the path the
window's Program view uses. Prints ``{"output", "at", "frame", "width", "height"}``.
"""
from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.export.spec import MAX_OUTPUT_SIDE, SpecError
from core.library import Library
from desktop.cli_common import CliError, Outcome
from desktop.cli_export import project_uid

log = logging.getLogger(__name__)


def _width(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 16 <= value <= MAX_OUTPUT_SIDE:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 16 and {MAX_OUTPUT_SIDE}")
    return value


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser], number: Callable[[str], float]) -> None:
    p = subparsers.add_parser(
        "preview", parents=list(parents), help="write the reel's output frame at a time as a PNG",
        description="Render the program frame (the export's picture) at output time SECONDS to a PNG.")
    p.add_argument("project", metavar="PROJECT", help="project uid or name")
    p.add_argument("--at", type=number, required=True, metavar="SECONDS", help="output time, seconds")
    p.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="the PNG to write")
    p.add_argument("--width", type=_width, metavar="N", help="picture width (default: the export's)")


def cmd_preview(lib: Library, args: argparse.Namespace) -> Outcome:
    import cv2  # here, not at the top: every other command starts without OpenCV and PyAV

    from core.export.picture import RenderError
    from core.export.preview import open_preview
    out: Path = args.out
    if out.suffix.lower() != ".png":
        raise CliError(f"--out must name a .png file, got {out.name}")
    if not out.parent.is_dir():
        raise CliError(f"cannot write {out}: folder {out.parent} does not exist")
    uid = project_uid(lib, args.project)
    try:
        preview = open_preview(lib, uid, args.width)
    except (SpecError, RenderError) as exc:
        raise CliError(str(exc)) from None
    try:
        if not 0.0 <= args.at <= preview.duration:
            raise CliError(f"--at must be between 0 and {preview.duration:.3f} s (the reel's length)")
        k = preview.frame_index(args.at)
        bgr = preview.rgb_at(args.at, "bgr24")
    except RenderError as exc:
        raise CliError(str(exc)) from None
    finally:
        preview.close()
    ok, data = cv2.imencode(".png", bgr)
    if not ok:
        raise RenderError("the PNG encoder failed")
    out.write_bytes(data.tobytes())  # bytes, not cv2.imwrite: that cannot open non-ASCII paths on Windows
    h, w = bgr.shape[:2]
    log.info("preview of %s at %.3f s (frame %d) -> %s", uid, args.at, k, out)
    doc = {"output": str(out), "at": args.at, "frame": k, "width": w, "height": h}
    return Outcome(doc, f"frame {k} at {args.at:g} s ({w}x{h}) -> {out}")


COMMANDS = {"preview": cmd_preview}
