"""``reeldesk models``: the AI model files that local Real-ESRGAN exports need on this computer.

``models fetch`` downloads the official Real-ESRGAN x4plus weights into the models folder and
keeps them only when their SHA-256 matches the pinned one; ``models status`` says whether AI
upscaling can run here, and what is missing when it cannot.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from core.export.ai_local import FetchError, fetch_weights, local_ai_problem, models_dir, weights_path
from core.library import Library
from desktop.cli_common import EXIT_FAILED, CliError, Outcome

_BAR_WIDTH = 24


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Add ``models`` to the ``reeldesk`` parser."""
    p = subparsers.add_parser("models", parents=list(parents), help="AI model files for local upscaling",
                              description="Download or check the Real-ESRGAN weights that AI upscaling "
                                          "on this computer needs (Modal renders bring their own).")
    sub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    sub.add_parser("fetch", parents=list(parents), help="download the Real-ESRGAN x4plus weights (64 MB), "
                                                        "checked against their SHA-256")
    sub.add_parser("status", parents=list(parents), help="can AI upscaling run on this computer?")


def _show(bar: Any) -> Callable[[int, int | None], None]:
    def show(done: int, total: int | None) -> None:
        if total:
            filled = int(_BAR_WIDTH * done / total)
            bar.show(f"[{'#' * filled}{'-' * (_BAR_WIDTH - filled)}] {done / total * 100:3.0f}%  "
                     f"{done / 1e6:.1f} of {total / 1e6:.1f} MB")
        else:
            bar.show(f"{done / 1e6:.1f} MB")

    return show


def cmd_models(_lib: Library, args: argparse.Namespace) -> Outcome:
    if args.models_command == "fetch":
        from desktop.cli_import import ProgressBar

        bar = ProgressBar.for_stderr()  # None when stderr is not a terminal
        try:
            path = fetch_weights(on_progress=_show(bar) if bar else None)
        except FetchError as exc:
            raise CliError(str(exc)) from None
        finally:
            if bar:
                bar.close()
        return Outcome({"weights": str(path)}, f"Real-ESRGAN weights ready: {path}")
    problem = local_ai_problem()
    data = {"models": str(models_dir()), "weights": str(weights_path()), "ready": problem is None,
            "problem": problem}
    if problem:
        return Outcome(data, f"Not ready: {problem}", EXIT_FAILED)
    return Outcome(data, "AI upscaling on this computer: ready (the GPU is checked when an export starts)")


COMMANDS: dict[str, Callable[[Library, argparse.Namespace], Any]] = {"models": cmd_models}
