"""The heap built while the window starts (modules, widgets, the library) is frozen out of the
garbage collector: a full collection while playing then scans only what playing created, instead
of stalling the UI thread for every object the start-up made (a gen-2 pass over ~200,000 objects
is the one >100 ms stall seen while playing 1080p footage).

The app runs in its own process: ``run_gui`` quits the QApplication, which the other GUI tests
of this process share."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
APP = """
import gc, sys
from pathlib import Path
from core.library import Library
from desktop.app import run_gui
library = Library(Path(sys.argv[1]))
before = gc.get_freeze_count()
code = run_gui(library, quit_after=0.0)
library.close()
print(before, gc.get_freeze_count())
sys.exit(code)
"""


def test_the_window_freezes_its_start_up_heap(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", APP, str(tmp_path / "library")], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split()[-2:])
    assert before == 0
    # Everything the start-up made: far more than a handful of objects.
    assert after > 10_000
