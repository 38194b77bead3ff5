"""What every ``reeldesk`` command module shares: exit codes, the user-error type, the outcome a
command returns and how it is printed, strict number/JSON parsing, and opening the library.

``desktop.cli`` (the parser and the entry point) and the ``desktop.cli_*`` command modules all
import from here, so no command module imports ``desktop.cli`` back.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from core.redact import redact

if TYPE_CHECKING:
    from core.library import Library

PROG = "reeldesk"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """Bad input from the user: reported as one line, exit code 2."""


@dataclass
class Outcome:
    """What a command produced: one JSON document, its human rendering, and the exit code."""

    data: Any
    text: str
    code: int = EXIT_OK
    canonical: str | None = None  # already-serialised JSON that must be printed byte for byte


def open_library(root: Path) -> Library:
    """The library at ``root``; an unusable folder is a user error, not a crash."""
    from core.library import Library  # not at import: starting the window needs no database code

    try:
        return Library.open(root)
    except OSError as exc:
        raise CliError(f"cannot open library {root}: {exc.strerror or exc}") from exc


# -- output ------------------------------------------------------------------------------------
def write_utf8(text: str) -> None:
    """Write exact UTF-8 bytes with LF endings (Windows text mode would turn \\n into \\r\\n)."""
    out = sys.stdout
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        out.write(text)
        return
    out.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def write_text(text: str) -> None:
    """Human output in the console's encoding; unencodable characters (cp1252 pipes) become '?'."""
    out = sys.stdout
    try:
        out.write(text)
    except UnicodeEncodeError:
        encoding = getattr(out, "encoding", None) or "ascii"
        out.write(text.encode(encoding, "replace").decode(encoding))
    out.flush()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit(outcome: Outcome, as_json: bool) -> None:
    """Print a command's outcome: its text, or exactly one JSON document."""
    if not as_json:
        if outcome.text:
            write_text(outcome.text if outcome.text.endswith("\n") else outcome.text + "\n")
        return
    if outcome.canonical is not None:
        write_utf8(outcome.canonical + "\n")
        return
    indent = 2 if sys.stdout.isatty() else None
    write_utf8(json.dumps(outcome.data, ensure_ascii=False, allow_nan=False, indent=indent,
                          default=_json_default) + "\n")


def error_line(message: str) -> None:
    """Report an error as one ``reeldesk: error:`` line on stderr."""
    one_line = redact(" ".join(str(message).split()))
    sys.stderr.write(f"{PROG}: error: {one_line}\n")
    sys.stderr.flush()


# -- parsing -----------------------------------------------------------------------------------
def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not allowed (numbers must be finite)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf without reaching parse_constant
        raise ValueError(f"{text} is out of range (numbers must be finite)")
    return value


def parse_json(text: str, what: str = "gesture") -> Any:
    """Strict JSON: NaN, Infinity and overflowing numbers are errors (Python accepts them by default)."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise CliError(f"{what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:
        raise CliError(f"{what} is not valid JSON: {exc}") from None


def number(text: str) -> float:
    """argparse type: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def integer(text: str) -> int:
    """argparse type: a whole number."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "PROG", "CliError", "Outcome", "emit",
           "error_line", "integer", "number", "open_library", "parse_json", "write_text", "write_utf8"]
