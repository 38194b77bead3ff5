"""Files and processes of export jobs: output names, unfinished renders, owner processes."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from core.export.worker import STAGED_PREFIX

log = logging.getLogger(__name__)

_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
_BAD_CHARS = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_file_stem(name: str, fallback: str = "reel") -> str:
    """A project name usable as a file name on Windows too (no reserved names or characters)."""
    stem = _BAD_CHARS.sub("_", name).strip().rstrip(". ")
    stem = " ".join(stem.split())[:100].rstrip(". ")
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = f"{stem}_" if stem else fallback
    return stem


def partial_files(folder: Path, job_uid: str | None = None) -> list[Path]:
    """Unfinished renders in ``folder``: ``render()``'s ``.<name>.<hex>.partial.mp4`` files and
    staged outputs never recorded, of one job or of all."""
    if not folder.is_dir():
        return []
    pattern = f"*{job_uid}*" if job_uid else ".*"
    found = []
    for path in folder.glob(pattern):
        name = path.name
        if not name.startswith("."):
            continue
        if name.endswith(".partial.mp4") or (name.startswith(STAGED_PREFIX) and name.endswith(".mp4")):
            found.append(path)
    return found


def job_of_file(name: str) -> str | None:
    match = re.search(r"\.reeldesk-([0-9a-f-]{36})", name)
    return match.group(1) if match else None


def remove_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # still open on Windows: the next start-up sweeps it
        log.warning("could not remove %s: %s", path, exc)


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` is running (a zombie counts as gone)."""
    if not pid or pid <= 0:
        return False
    if os.name == "nt":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:  # Linux: an exited child nobody reaped yet is still "there" for kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _pid_alive_windows(pid: int) -> bool:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]  # Windows only
    kernel32.OpenProcess.restype = wintypes.HANDLE
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return bool(ctypes.get_last_error() == 5)  # type: ignore[attr-defined]  # access denied: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return bool(code.value == 259)  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
