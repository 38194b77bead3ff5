"""Plain-words sync problems: what went wrong and what the editor can do about it.

A `StoreUnavailable` is told apart by looking at this machine's network: when the endpoint's host
name does not even resolve, this computer is offline; when it resolves but does not answer, the
endpoint (or the way to it) is down. Runs on the sync thread (a name lookup can take a moment).
"""
from __future__ import annotations

import logging
import socket
from enum import Enum
from urllib.parse import urlsplit

from sync.store import AccessDenied, BucketMissing, StoreUnavailable

log = logging.getLogger(__name__)


class Problem(str, Enum):
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    BAD_CREDENTIALS = "bad_credentials"
    BUCKET_MISSING = "bucket_missing"
    OTHER = "other"


ADVICE = {
    Problem.OFFLINE: "This computer is offline. Edits are kept here and go up when the network is back.",
    Problem.UNREACHABLE: ("The {where} does not answer. Check its address in Sync settings, or try again "
                          "later; edits are kept here meanwhile."),
    Problem.BAD_CREDENTIALS: ("The access key was refused. Enter the key ID and secret again in Sync settings "
                              "(R2: Manage API tokens, with Object Read & Write on this bucket)."),
    Problem.BUCKET_MISSING: ("The bucket does not exist. Create it in your R2 dashboard, or correct its name in "
                             "Sync settings."),
    Problem.OTHER: "Sync failed. Try again with Sync now; if it stays, run 'reeldesk doctor'.",
}


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def classify(exc: BaseException, endpoint_url: str | None) -> tuple[Problem, str]:
    """The problem behind a failed cycle and one sentence with the fix."""
    host = urlsplit(endpoint_url).hostname if endpoint_url else None
    if isinstance(exc, AccessDenied):
        problem = Problem.BAD_CREDENTIALS
    elif isinstance(exc, BucketMissing):
        problem = Problem.BUCKET_MISSING
    elif isinstance(exc, StoreUnavailable):
        problem = Problem.UNREACHABLE if host is None or _resolves(host) else Problem.OFFLINE
    else:
        problem = Problem.OTHER
    where = f"sync server {host}" if host else "sync folder"
    return problem, ADVICE[problem].format(where=where)
