"""Real-ESRGAN on this computer, when it has the GPU path: PyTorch and spandrel installed (the
``ai`` extra), an NVIDIA GPU that PyTorch can use, and the official x4plus weights in the models
folder, checked against their pinned SHA-256. Otherwise AI upscaling runs on the Modal backend.

This module imports no torch: the checks the export panel and ``jobs.create`` make are cheap (a
package lookup and a file test). The GPU itself is asked for in the worker, which fails the job
with a clear message when there is none.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from core.export.picture import RenderError, Upscale

__all__ = ["ENV_MODELS", "FetchError", "WEIGHTS_NAME", "WEIGHTS_SHA256", "WEIGHTS_URL", "fetch_weights",
           "local_ai_problem", "local_upscaler", "missing_packages", "models_dir", "needs_weights",
           "weights_path"]

log = logging.getLogger(__name__)

WEIGHTS_URL = "https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/RealESRGAN_x4plus.pth"
WEIGHTS_SHA256 = "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1"
WEIGHTS_NAME = "RealESRGAN_x4plus.pth"
ENV_MODELS = "REELDESK_MODELS"
FETCH_COMMAND = "reeldesk models fetch"
_PACKAGES = ("torch", "spandrel")
_BLOCK = 1 << 20


class FetchError(RuntimeError):
    """The weights could not be fetched; the message says why, for people."""


def models_dir() -> Path:
    """``REELDESK_MODELS`` if set, else ``models`` in the per-user data folder (shared by every
    library on this computer: the weights belong to the machine, not to a library)."""
    env = os.environ.get(ENV_MODELS)
    if env:
        return Path(env)
    import platformdirs  # not in the Modal image, which imports this module for the constants

    return Path(platformdirs.user_data_dir("ReelDesk", "ReelDesk")) / "models"


def weights_path(folder: Path | None = None) -> Path:
    return (folder or models_dir()) / WEIGHTS_NAME


def missing_packages() -> list[str]:
    return [name for name in _PACKAGES if importlib.util.find_spec(name) is None]


def needs_weights(folder: Path | None = None) -> bool:
    """The packages are there and only the weights are missing (a download fixes it)."""
    return not missing_packages() and not weights_path(folder).is_file()


def local_ai_problem(folder: Path | None = None) -> str | None:
    """Why Real-ESRGAN cannot run on this computer, or None when it can be tried."""
    missing = missing_packages()
    if missing:
        return (f"AI upscaling on this computer needs {' and '.join(missing)} (pip install "
                f"\"reeldesk[ai]\" with an NVIDIA GPU); otherwise export on the Modal GPU backend")
    path = weights_path(folder)
    if not path.is_file():
        return (f"the Real-ESRGAN weights are not on this computer ({path}): run "
                f"'{FETCH_COMMAND}', or export on the Modal GPU backend")
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def fetch_weights(folder: Path | None = None, *, url: str | None = None, sha256: str | None = None,
                  on_progress: Callable[[int, int | None], None] | None = None,
                  timeout: float = 60.0) -> Path:
    """Download the weights (``WEIGHTS_URL``) into the models folder and check their SHA-256
    (``WEIGHTS_SHA256``) before they are put in place; a broken or changed file is deleted and
    named in the error. Returns the path."""
    url, sha256 = url or WEIGHTS_URL, sha256 or WEIGHTS_SHA256
    target = weights_path(folder)
    if target.is_file() and _sha256(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, part.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            while block := response.read(_BLOCK):
                out.write(block)
                digest.update(block)
                done += len(block)
                if on_progress is not None:
                    on_progress(done, total)
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise FetchError(f"downloading {url} failed: HTTP {exc.code} {exc.reason}") from None
    except OSError as exc:
        part.unlink(missing_ok=True)
        why = exc.reason if isinstance(exc, urllib.error.URLError) else exc  # not "<urlopen error ...>"
        raise FetchError(f"downloading {url} into {target.parent} failed: {why}") from None
    if digest.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        raise FetchError(f"{url} is not the expected file (SHA-256 {digest.hexdigest()}, expected "
                           f"{sha256}); nothing was kept")
    os.replace(part, target)
    log.info("Real-ESRGAN weights saved to %s (%d bytes)", target, done)
    return target


def local_upscaler(folder: Path | None = None) -> Upscale:
    """The upscaler on this computer's GPU; RenderError saying what is missing otherwise."""
    problem = local_ai_problem(folder)
    if problem:
        raise RenderError(problem)
    import torch

    if not torch.cuda.is_available():
        raise RenderError("AI upscaling on this computer needs an NVIDIA GPU that PyTorch can use, and "
                          "it found none; export on the Modal GPU backend instead")
    from core.export.realesrgan import load_upscaler

    # The file was checked against its SHA-256 when it was fetched (it only gets its name then).
    try:
        return load_upscaler(weights_path(folder))
    except Exception as exc:  # spandrel's errors for a file that is not a model it knows
        raise RenderError(f"cannot load {weights_path(folder)}: {exc}; delete it and run "
                          f"'{FETCH_COMMAND}'") from None
