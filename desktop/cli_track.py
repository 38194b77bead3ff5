"""``reeldesk track``: follow a player through a working clip and put the spotlight on them.

The whole run is one ``apply_track`` gesture (one undo step). Bad input (unknown clip, time
outside the clip, box outside the frame) is one error line, exit code 2, and nothing written.
"""
from __future__ import annotations

import argparse
import math
from typing import Any, Callable, Sequence

from core.editmath import Box
from core.library import Library
from core.tracking.run import apply_track, plan_track
from desktop.cli_common import Outcome


def _box(text: str) -> Box:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} is not X,Y,W,H (four numbers, source pixels)")
    return Box(*values)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a time in seconds")
    return value


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``track`` to the ``reeldesk`` parser."""
    p = subparsers.add_parser(
        "track", parents=list(parents), help="follow a player and put the spotlight on them",
        description="Follow the player in BOX at time SECONDS through a working clip (forwards and "
                    "backwards) and add a spotlight region with keyframes on them; --reframe also "
                    "places crop keyframes that keep them in frame. One undo step.")
    p.add_argument("working_clip", metavar="WORKING_CLIP", help="working clip uid")
    p.add_argument("--at", type=_seconds, required=True, metavar="SECONDS",
                   help="time of the box, in seconds from the clip start")
    p.add_argument("--box", type=_box, required=True, metavar="X,Y,W,H",
                   help="box around the player at that time, in source pixels")
    p.add_argument("--reframe", action="store_true", help="also add crop keyframes following the player")


def cmd_track(lib: Library, args: argparse.Namespace) -> Any:
    run, payload = plan_track(lib, args.working_clip, args.at, args.box, reframe=args.reframe)
    outcome = apply_track(lib, args.working_clip, run, payload)
    data = outcome.to_json()
    text = (f"spotlight region {outcome.region}: {outcome.keyframes} keyframes"
            + (f", {outcome.crop_keyframes} crop keyframes" if args.reframe else "")
            + f", tracked {outcome.tracked_from:.2f}-{outcome.tracked_to:.2f} s"
            + (" (player lost there)" if outcome.lost else ""))
    return Outcome(data, text)


COMMANDS: dict[str, Callable[[Library, argparse.Namespace], Any]] = {"track": cmd_track}
