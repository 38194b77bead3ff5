"""Logging for the app and the CLI: a rotating ``reeldesk.log`` in the library folder, WARNING on the console.

Records logged with ``extra={FILE_ONLY: True}`` (tracebacks of unexpected errors) go to the file only,
so the user sees one clear line on stderr instead of a stack trace.
"""
from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from core.redact import RedactingFilter

LOG_NAME = "reeldesk.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 5
FILE_ONLY = "reeldesk_file_only"
FILE_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "reeldesk: %(levelname)s: %(message)s"
_MARK = "_reeldesk_handler"  # tags our handlers so a second setup (in-process CLI calls) replaces them


class _SharedRotatingFileHandler(RotatingFileHandler):
    """Rotation that tolerates another ReelDesk process holding the log open.

    Windows cannot rename an open file: when the GUI and a CLI run share a library, rollover fails
    with PermissionError. Keep appending to the current file instead of reporting a logging error.
    """

    def doRollover(self) -> None:
        try:
            super().doRollover()
        except OSError:
            if self.stream is None:
                self.stream = self._open()


class _ConsoleFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, FILE_ONLY, False)


class _ConsoleFormatter(logging.Formatter):
    """One line per record: the console never shows a traceback (the file has it)."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info = None
        plain.exc_text = None
        plain.stack_info = None
        return super().format(plain)


class LoggingSession:
    """The handlers installed by :func:`setup_logging`; ``close()`` (or ``with``) removes them."""

    def __init__(self, handlers: list[logging.Handler], log_file: Path | None, previous_level: int) -> None:
        self.handlers = handlers
        self.log_file = log_file
        self._previous_level = previous_level

    def close(self) -> None:
        """Remove our handlers and restore the root level (in-process callers: tests, a host app)."""
        if not self.handlers:
            return
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()  # release the file: Windows cannot delete or rotate an open log
        self.handlers = []
        root.setLevel(self._previous_level)

    def __enter__(self) -> "LoggingSession":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _remove_ours(root: logging.Logger) -> None:
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()


def setup_logging(library_root: Path | None, *, verbose: bool = False) -> LoggingSession:
    """Log to ``library_root/reeldesk.log`` (rotated) and to stderr at WARNING (INFO with ``verbose``).

    A folder that cannot be written to only loses the file log (``log_file`` is then None).
    """
    root = logging.getLogger()
    _remove_ours(root)
    previous_level = root.level
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handlers: list[logging.Handler] = []

    console = logging.StreamHandler(sys.stderr)  # the current stderr (tests swap it per call)
    console.setLevel(logging.INFO if verbose else logging.WARNING)
    console.addFilter(_ConsoleFilter())
    console.setFormatter(_ConsoleFormatter(CONSOLE_FORMAT))
    handlers.append(console)

    log_file: Path | None = None
    if library_root is not None:
        path = Path(library_root) / LOG_NAME
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Opened now (no delay) so an unwritable folder is found here, not on the first record.
            file_handler = _SharedRotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT,
                                                      encoding="utf-8")
        except OSError:
            # Not reported here: opening the library in the same folder fails next with a clear message.
            pass
        else:
            file_handler.setLevel(logging.DEBUG if verbose else logging.INFO)
            file_handler.setFormatter(logging.Formatter(FILE_FORMAT))
            handlers.append(file_handler)
            log_file = path

    # Alembic announces its SQLite context on every start; core.db.engine logs real migrations itself.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for handler in handlers:
        handler.addFilter(RedactingFilter())  # no secret reaches the console or the log file
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    return LoggingSession(handlers, log_file, previous_level)
