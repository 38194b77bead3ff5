#!/usr/bin/env python3
"""Set up and run ReelDesk from a clone with nothing but a Python ≥ 3.11 (standard library only).

    python3 bootstrap.py app [ARGS...]     # venv + install + launch the app (ARGS go to reeldesk)
    python3 bootstrap.py test [ARGS...]    # venv + install the test extras + run the whole suite

On Windows type ``py`` instead of ``python3``. Both commands create ``.venv`` next to this file
(``REELDESK_VENV`` overrides the folder) or reuse it, install the pinned versions from
``requirements/lock.txt`` (the versions the installer ships and CI tests), and reinstall only
when ``pyproject.toml`` or the lock changed. The exit code is the app's or pytest's.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements" / "lock.txt"
MIN_PYTHON = (3, 11)
STAMP = "reeldesk-install.stamp"
EXTRAS = {"app": "", "test": "[test,build]"}


class SetupError(Exception):
    """A set-up step failed; the message says what to do."""


def _say(text: str) -> None:
    sys.stderr.write(f"bootstrap: {text}\n")
    sys.stderr.flush()


def venv_dir() -> Path:
    return Path(os.environ.get("REELDESK_VENV") or ROOT / ".venv")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _works(python: Path) -> bool:
    if not python.is_file():
        return False
    probe = subprocess.run([str(python), "-c", "import pip, sys; sys.exit(sys.version_info < (3, 11))"],
                           capture_output=True, check=False)
    return probe.returncode == 0


def ensure_venv(venv: Path) -> Path:
    python = venv_python(venv)
    if _works(python):
        return python
    if venv.exists():
        _say(f"{venv} is not a usable virtual environment; making it again")
        shutil.rmtree(venv)
    _say(f"creating the virtual environment {venv}")
    made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True,
                          check=False)
    if made.returncode != 0 or not _works(python):
        shutil.rmtree(venv, ignore_errors=True)
        detail = (made.stderr or made.stdout).strip().splitlines()
        hint = ""
        if sys.platform.startswith("linux"):
            hint = (f" On Debian/Ubuntu install it first: sudo apt-get install python3-venv"
                    f" (or python{sys.version_info[0]}.{sys.version_info[1]}-venv).")
        raise SetupError(f"cannot create a virtual environment with {sys.executable}"
                         f" ({detail[-1] if detail else 'no output'}).{hint}")
    return python


def _digest(what: str) -> str:
    """What an install of ``what`` depends on: pyproject.toml, the lock and the extras."""
    digest = hashlib.sha256()
    for f in (ROOT / "pyproject.toml", LOCK):
        digest.update(f.read_bytes() if f.is_file() else b"-")
    digest.update(EXTRAS[what].encode())
    return digest.hexdigest()


def install(python: Path, venv: Path, what: str) -> None:
    """pip-install the project (editable) with the extras ``what`` needs, pinned by the lock.
    Skipped when the same pyproject.toml + lock were installed before."""
    stamp = venv / STAMP
    recorded = stamp.read_text(encoding="utf-8").split() if stamp.is_file() else []
    # A test install holds everything the app needs too.
    if len(recorded) == 2 and recorded[1] in (what, "test") and recorded[0] == _digest(recorded[1]):
        return
    _say(f"installing ReelDesk{EXTRAS[what]} into {venv} (the first time takes a few minutes)")
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if LOCK.is_file():
        cmd += ["--constraint", str(LOCK)]
    cmd += ["--editable", f"{ROOT}{EXTRAS[what]}"]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SetupError("pip could not install ReelDesk's dependencies (see pip's message above)")
    stamp.write_text(f"{_digest(what)} {what}\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        sys.stderr.write(__doc__ or "")
        return 2
    what, rest = argv[0], argv[1:]
    if sys.version_info < MIN_PYTHON:
        _say(f"ReelDesk needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is "
             f"{sys.version.split()[0]} ({sys.executable})")
        return 2
    venv = venv_dir()
    try:
        python = ensure_venv(venv)
        install(python, venv, what)
    except SetupError as exc:
        _say(f"error: {exc}")
        return 2
    if what == "app":
        cmd = [str(python), "-m", "desktop", *rest]
    else:
        cmd = [str(python), "-m", "pytest", *rest]
    try:
        return subprocess.run(cmd, cwd=ROOT, check=False).returncode
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
