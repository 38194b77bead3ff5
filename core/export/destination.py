"""Where an export is written: checked before a job exists, named in every write error."""
from __future__ import annotations

import logging
import tempfile
from pathlib import Path

__all__ = ["DestinationError", "check_writable", "remove_partial", "write_error"]

log = logging.getLogger(__name__)


class DestinationError(ValueError):
    """The output folder cannot take the export (missing, read-only, not a folder)."""


def check_writable(folder: Path) -> None:
    """Raise DestinationError naming ``folder`` unless a file can be created in it. A real
    probe file, not ``os.access``: ACLs, read-only mounts and Windows attributes all answer."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".reeldesk-probe-"):
            pass
    except OSError as e:
        raise DestinationError(f"cannot write exports to {folder}: {_reason(e)}") from None


def write_error(destination: Path, exc: BaseException) -> str:
    """One line naming the destination (never only the hidden partial file beside it)."""
    return f"cannot write the export to {destination}: {_reason(exc)}"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def remove_partial(path: Path) -> None:
    """Remove an unfinished output; a failure is logged, never raised (the render's own result
    or error stands)."""
    try:
        path.unlink(missing_ok=True)
    except OSError as e:  # e.g. still locked on Windows
        log.warning("could not remove temporary file %s: %s", path, e)
