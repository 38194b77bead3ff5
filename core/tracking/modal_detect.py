"""ReelDesk's Modal detection app: finds people in the frames the desktop asks for, on a GPU.

Deploy from the repository root::

    modal deploy core/tracking/modal_detect.py

``detect_people`` (GPU) fetches the media from a presigned GET URL (file:// is read in place
under ``.local()``), decodes the requested frames with PyAV and runs torchvision's Faster R-CNN
(ResNet-50 FPN v2, COCO; BSD-licensed) on each, returning person boxes in source pixels with
their confidences. Progress goes into the ``modal.Dict`` ``reeldesk-detect-progress`` keyed by
job (``LOCAL_PROGRESS`` under ``.local()``). The weights are downloaded when the image is built
and checked against WEIGHTS_SHA256 there and again when loaded: a container never downloads them.
torch is imported only inside the loader, so this module imports (and ``.local()`` runs with an
injected model) without it.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, MutableMapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import modal
import numpy as np

from core.export.modal_app import _file_path
from core.tracking.detect_protocol import APP_NAME, DETECT_FUNCTION, MAX_FRAMES, PROGRESS_DICT, Box
from core.tracking.video import decode_forward

log = logging.getLogger(__name__)

GPU = "L4"
MIN_SCORE = 0.3
COCO_PERSON = 1

WEIGHTS_URL = "https://download.pytorch.org/models/fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth"
# The full SHA-256 of that file (175,221,657 bytes), as published alongside it by many users of
# these weights; torchvision's file name carries only its first 8 digits, which is no pin.
WEIGHTS_SHA256 = "dd69338a24b8d7381807e247652bdc356325bcbaf1cd3e092e00e0a1a58706bf"
WEIGHTS = "/weights/fasterrcnn_resnet50_fpn_v2_coco.pth"

Detector = Callable[[np.ndarray], list[Box]]  # RGB frame -> person boxes


class WeightsError(RuntimeError):
    """The detector's weights are missing or are not the pinned file."""


def verify_weights(path: Path, expected: str = WEIGHTS_SHA256) -> None:
    """Raise WeightsError unless ``path`` exists and its SHA-256 is exactly ``expected``."""
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected.lower()):
        raise WeightsError("no full SHA-256 is pinned for the detector weights")
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError as exc:
        raise WeightsError(f"detector weights {path} cannot be read: {exc.strerror or exc}") from None
    if digest.hexdigest() != expected.lower():
        raise WeightsError(f"detector weights {path} do not match the pinned SHA-256 {expected}")


def load_detector(path: Path = Path(WEIGHTS), expected: str = WEIGHTS_SHA256,
                  build: Callable[[Path], Detector] | None = None) -> Detector:
    """The person detector from verified weights; ``build`` makes the model from the file
    (torchvision's Faster R-CNN by default)."""
    verify_weights(path, expected)
    return (build or _torchvision_detector)(path)


def _torchvision_detector(path: Path) -> Detector:
    import torch
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, box_score_thresh=MIN_SCORE,
                                       min_size=1080, max_size=1920)  # keep 20 px players' pixels
    model.load_state_dict(torch.load(str(path), map_location=device, weights_only=True))
    model.eval().to(device)

    def detect(rgb: np.ndarray) -> list[Box]:
        with torch.no_grad():
            x = torch.from_numpy(rgb).to(device).permute(2, 0, 1).float() / 255.0
            out = model([x])[0]
        keep = (out["labels"] == COCO_PERSON) & (out["scores"] >= MIN_SCORE)
        return [(float(a), float(b), float(c - a), float(d - b), float(s)) for (a, b, c, d), s in
                zip(out["boxes"][keep].tolist(), out["scores"][keep].tolist(), strict=True)]

    return detect


image = (
    modal.Image.debian_slim(python_version="3.11")
    .apt_install("wget")
    .pip_install("numpy>=1.26,<2", "av>=14,<20", "torch==2.1.2", "torchvision==0.16.2")
    .run_commands(
        "mkdir -p /weights",
        f"wget -q -O {WEIGHTS} {WEIGHTS_URL}",
        # The build fails here, not in a user's call, when the download is not the pinned file.
        f"python -c \"import hashlib,sys; d=hashlib.sha256(open('{WEIGHTS}','rb').read()).hexdigest(); "
        f"sys.exit(0 if d == '{WEIGHTS_SHA256}' else 'weights checksum mismatch: ' + d)\"",
    )
    .add_local_python_source("core")
)
app = modal.App(APP_NAME, image=image)

LOCAL_PROGRESS: dict[str, dict[str, Any]] = {}
_DETECTOR: Detector | None = None


def progress_store() -> MutableMapping[str, Any]:
    """The progress Dict inside Modal; a plain dict when run locally (``.local()``)."""
    if modal.is_local():
        return LOCAL_PROGRESS
    # A modal.Dict takes item reads and writes like a dict; its stubs do not say MutableMapping.
    return cast(MutableMapping[str, Any], modal.Dict.from_name(PROGRESS_DICT, create_if_missing=True))


def run_detect(job: str, media_url: str, frames: Sequence[int], fps_num: int, fps_den: int,
               detector: Detector, progress: MutableMapping[str, Any]) -> dict[str, list[list[float]]]:
    """Person boxes per requested frame index: ``{"frame": [[x, y, w, h, conf], ...]}``."""
    wanted = sorted({int(f) for f in frames})[:MAX_FRAMES]
    fps = Fraction(fps_num, fps_den)
    out: dict[str, list[list[float]]] = {}
    # A presigned http(s) URL is read in place with range requests (only the GOPs of the asked
    # frames), like the export chunks read their sources; file:// is a local path.
    local = _file_path(media_url)
    media: Path | str = local if local is not None else media_url
    for n, f in enumerate(wanted):
        for i, rgb in decode_forward(media, fps, f, f, lambda fr: fr.to_ndarray(format="rgb24")):
            out[str(i)] = [list(b) for b in detector(rgb)]
        progress[job] = {"done": n + 1, "total": len(wanted)}
    return out


@app.function(name=DETECT_FUNCTION, gpu=GPU, timeout=600)
def detect_people(job: str, media_url: str, frames: list[int], fps_num: int, fps_den: int,
                  detector: Detector | None = None) -> dict[str, list[list[float]]]:
    """``detector`` is for ``.local()`` tests; in the container the baked-in weights are used."""
    global _DETECTOR
    if detector is None:
        if _DETECTOR is None:
            _DETECTOR = load_detector()
        detector = _DETECTOR
    return run_detect(job, media_url, frames, fps_num, fps_den, detector, progress_store())
