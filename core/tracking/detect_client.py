"""Asking the Modal detection app for person boxes, like exports ask for renders: spawn, poll
progress and ``get(timeout=0)``, cancel; never on a UI thread (a call without network can hang).

Results are cached per (media hash, frame) in the library's cache folder, so a frame is sent to
Modal once. Offline there is no detection: the editor draws the box by hand.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.export.modal_backend import ModalClient, Presigner, _is_pending
from core.ids import new_uid
from core.tracking.detect_protocol import APP_NAME, DETECT_FUNCTION, MAX_FRAMES, PROGRESS_DICT, Box

log = logging.getLogger(__name__)


class DetectCancelled(Exception):
    """The caller cancelled; the remote call was cancelled too."""


class DetectionCache:
    """Person boxes per (media hash, frame index), one small JSON file per media."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _file(self, media_hash: str) -> Path:
        return self.folder / f"{media_hash}.json"

    def _load(self, media_hash: str) -> dict[str, list[list[float]]]:
        try:
            data = json.loads(self._file(media_hash).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, media_hash: str, frames: Iterable[int]) -> dict[int, list[Box]]:
        data = self._load(media_hash)
        return {f: [(b[0], b[1], b[2], b[3], b[4]) for b in data[str(f)]] for f in frames if str(f) in data}

    def put(self, media_hash: str, results: dict[int, list[Box]]) -> None:
        data = self._load(media_hash)
        data.update({str(f): [list(b) for b in boxes] for f, boxes in results.items()})
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._file(media_hash).with_suffix(".part")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, self._file(media_hash))


def detect_frames(client: ModalClient | Any, presigner: Presigner, cache: DetectionCache, media_hash: str,
                  media_path: Path, frames: Iterable[int], fps: Fraction, *,
                  cancelled: Callable[[], bool] | None = None,
                  progress: Callable[[float], None] | None = None,
                  poll_s: float = 0.5) -> dict[int, list[Box]]:
    """Person boxes (source pixels, with confidence) for ``frames`` of a media: from the cache,
    the rest from one Modal call. Blocks: call it on a worker thread."""
    wanted = sorted(set(frames))[:MAX_FRAMES]
    found = cache.get(media_hash, wanted)
    missing = [f for f in wanted if f not in found]
    if not missing:
        return found
    pause = threading.Event()  # never set: a bounded wait between polls of the remote call
    job = new_uid()
    url = presigner.media_url(media_hash, media_path)
    call = client.function(APP_NAME, DETECT_FUNCTION).spawn(job, url, missing, fps.numerator, fps.denominator)
    store = None
    while True:
        if cancelled is not None and cancelled():
            call.cancel()
            raise DetectCancelled()
        try:
            result = call.get(timeout=0)
            break
        except Exception as exc:
            if not _is_pending(exc):
                raise
        try:
            store = store or client.dict(PROGRESS_DICT)
            state = store.get(job) or {}
            if progress is not None and state.get("total"):
                progress(state["done"] / state["total"])
        except Exception:  # progress is a nicety: a failed read must not fail detection
            log.debug("detection progress read failed", exc_info=True)
        pause.wait(poll_s)
    got = {int(f): [tuple(b) for b in boxes] for f, boxes in result.items()}
    got.update({f: [] for f in missing if f not in got})  # no person in that frame is an answer too
    cache.put(media_hash, got)
    return {**found, **got}
