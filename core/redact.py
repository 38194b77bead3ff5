"""The one secret redactor: every text that leaves the process or is stored passes through it.

It knows two kinds of secret:

* values: the R2 secret access key and the Modal token secret, registered with :func:`remember`
  by the code that reads them from the keyring or the environment (a process-wide set, so the log
  filter, error messages and export job rows all know every secret read so far);
* shapes: presigned URL signatures and credentials (``X-Amz-Signature=...``), ``Authorization``
  headers, Modal token secrets (``as-...``) and ``key=value`` pairs naming a secret.

Used by the log handlers (:class:`RedactingFilter`, installed on every handler including the log
file), by error text shown to the user (:func:`error_text`) and by job messages stored for export
jobs. A redacted value becomes ``***``.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
# Shorter values are not redacted: a one-character "secret" would mangle every message.
MIN_SECRET_CHARS = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Presigned URLs (S3/R2 signature v4 and v2): the signature and temporary credentials.
    (re.compile(r"(?i)\b(X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=[^&\s\"'<>]+"),
     rf"\1={MASK}"),
    # HTTP Authorization headers, in header, repr and dict forms.
    (re.compile(r"(?i)\b((?:Proxy-)?Authorization['\"]?\s*[:=]\s*['\"]?)((?:Bearer|Basic|AWS4-HMAC-SHA256|AWS)\s+)?"
                r"[^'\"\r\n]+"), rf"\1\2{MASK}"),
    # Modal token secrets ("as-" + base62); token ids ("ak-") are not secret.
    (re.compile(r"\bas-[A-Za-z0-9]{16,}\b"), MASK),
    # key=value or "key": "value" pairs naming a secret (config dumps, boto3/modal reprs).
    (re.compile(r"(?i)\b((?:aws_)?secret(?:_access)?_key|token_secret|session_token|password)(['\"]?\s*[:=]\s*['\"]?)"
                r"[^'\"\s,&}]+"), rf"\1\2{MASK}"),
)

_lock = threading.Lock()
_values: tuple[str, ...] = ()


def remember(*secrets: str | None) -> None:
    """Register secret values so that every later :func:`redact` blanks them out."""
    global _values
    new = [s for s in secrets if s and len(s) >= MIN_SECRET_CHARS]
    if not new:
        return
    with _lock:
        # Longest first, so a secret that contains another is blanked whole.
        _values = tuple(sorted(set(_values).union(new), key=len, reverse=True))


def forget_all() -> None:
    """Drop every registered value (tests)."""
    global _values
    with _lock:
        _values = ()


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every known secret value and secret-shaped token replaced by ``***``."""
    values = _values + tuple(s for s in extra if s and len(s) >= MIN_SECRET_CHARS)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def error_text(exc: BaseException, *, limit: int | None = None) -> str:
    """One redacted line for an error shown to the user: ``Type: message`` (or just the type)."""
    text = " ".join(str(exc).split())
    line = redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
    return line if limit is None else line[:limit]


class RedactingFilter(logging.Filter):
    """Redacts a record's message, traceback and stack before any handler formats it.

    Install it on handlers (not loggers): a logger's filters do not see records propagated from
    child loggers, a handler's filters see every record it writes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what can be shown
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
