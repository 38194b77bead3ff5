"""Killing the process mid-stream of applies loses nothing that apply() returned."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from core.db import models as m
from core.library import Library

ROOT = Path(__file__).resolve().parents[1]


def test_kill_during_applies_keeps_every_returned_gesture(tmp_path: Path) -> None:
    lib_dir = tmp_path / "lib"
    proc = subprocess.Popen([sys.executable, "-m", "tests.procs.apply_stream", str(lib_dir)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    returned: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while len(returned) < 150 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            returned.append(line.strip())
    finally:
        proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows: no clean-up runs
        _, err = proc.communicate(timeout=10)  # reaps it and closes both pipes
    assert len(returned) >= 150, err
    lib = Library(lib_dir)
    try:
        assert lib.integrity_check() == "ok"
        with lib.read() as conn:
            logged = set(conn.execute(select(m.GestureRow.op_id)).scalars())
        missing = [op for op in returned if op not in logged]
        assert missing == []
        # and the library keeps working after the crash
        assert lib.projects()
    finally:
        lib.close()
