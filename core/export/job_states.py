"""The export job state machine: which state may follow which, and the text each state shows.

    queued → preparing → rendering → finishing → done
       └──────────┴───────────┴───────────┴──────→ failed | cancelled
"""
from __future__ import annotations

from core.enums import JobState
from core.redact import redact

ACTIVE_STATES = (JobState.QUEUED, JobState.PREPARING, JobState.RENDERING, JobState.FINISHING)
# The forward chain a job walks while it runs; failing and cancelling may leave it at any stage.
CHAIN = (JobState.QUEUED, JobState.PREPARING, JobState.RENDERING, JobState.FINISHING, JobState.DONE)

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.QUEUED: frozenset({JobState.PREPARING, JobState.FAILED, JobState.CANCELLED}),
    # → queued: ``recover`` restarts a job whose process died.
    JobState.PREPARING: frozenset({JobState.RENDERING, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.RENDERING: frozenset({JobState.FINISHING, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.FINISHING: frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED,
                                   JobState.QUEUED}),
    JobState.DONE: frozenset(),
    # → queued: ``retry``.
    JobState.FAILED: frozenset({JobState.QUEUED}),
    JobState.CANCELLED: frozenset({JobState.QUEUED}),
}

STAGE_TEXT = {
    JobState.QUEUED: "queued",
    JobState.PREPARING: "preparing",
    JobState.RENDERING: "rendering",
    JobState.FINISHING: "finishing",
    JobState.DONE: "done",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
}
_MAX_ERROR = 2000


class JobStateError(ValueError):
    """An illegal state change (retry a running job, cancel a finished one...)."""


def check_transition(current: JobState, target: JobState) -> None:
    if target not in TRANSITIONS[current]:
        raise JobStateError(f"an export job cannot go from {current.value} to {target.value}")


def clean_error(message: str) -> str:
    """One line for the job row: no secrets (presigned URL signatures, keys, tokens), bounded length."""
    text = redact(" ".join(str(message).split()))
    return text[:_MAX_ERROR] or "unknown error"
