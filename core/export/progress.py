"""Render progress: what a render reports (``Progress``), how often (``Reporter``), and how it
stops when asked (``RenderCancelled``)."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "RenderCancelled", "Reporter"]

_PROGRESS_EVERY_S = 0.1


class RenderCancelled(Exception):
    """The caller's cancel flag was raised; nothing was left at the output path."""


@dataclass(frozen=True, slots=True)
class Progress:
    fraction: float  # 0..1, never decreases, 1.0 exactly once at the end
    stage: str  # "preparing" | "rendering" | "finishing" | "done"
    frames_done: int
    frames_total: int
    eta_s: float | None  # None until there is a rate to extrapolate from
    encoder: str = ""  # the FFmpeg encoder that wrote the file ("done" only), e.g. libx264


class Reporter:
    """Throttled (≤ 10/s), monotonic progress; stage changes and the final call always go out."""

    def __init__(self, callback: Callable[[Progress], None] | None) -> None:
        self._callback = callback
        self._started = time.monotonic()  # opening the sources counts towards the ETA too
        self._last_sent = -math.inf
        self._stage = ""
        self._fraction = 0.0
        self.encoder = ""  # the FFmpeg encoder that wrote the file, known at the end

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if stage == self._stage and now - self._last_sent < _PROGRESS_EVERY_S:
            return
        # Encoding dominates; the last 1 % is left for flushing the encoder and the moov atom.
        if stage == "done":
            fraction = 1.0
        elif stage == "finishing":
            fraction = 0.99
        else:
            fraction = 0.99 * done / total if total else 0.0
        self._fraction = max(self._fraction, fraction)
        eta = None
        if stage == "done":
            eta = 0.0
        elif done and total:
            eta = (now - self._started) / done * (total - done)
        self._stage, self._last_sent = stage, now
        self._callback(Progress(self._fraction, stage, done, total, eta, self.encoder))
