"""Cold start to the first painted main window, against a bare Qt window in the same run.

    python -m benchmarks.bench_startup [--runs 5]

Each run is a fresh process that starts the app the way ``reeldesk --library DIR`` does
(``desktop.cli.main`` -> ``desktop.app.launch``: QApplication, the main window, the library opened
with its migration check, here one holding 20 clips and a reel); the clock starts before the
process is spawned and stops at the window's first paint event. A second figure is when the
library is open and the panels are filled, a third when the Library page lists the clips. The bare
baseline shows a QMainWindow with a label, so the ratio says what ReelDesk adds on top of Qt itself.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import sys, time
from pathlib import Path
kind, out, lib_dir = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
marks = []
stretch = {"last": 0.0, "longest": 0.0}  # the longest UI-thread stretch between the first paint and the clips

def mark():
    marks.append(repr(time.time()))
    out.write_text(" ".join(marks))
    out.with_suffix(".stretch").write_text(repr(stretch["longest"]))

def tick():
    now = time.perf_counter()
    if stretch["last"]:
        stretch["longest"] = max(stretch["longest"], now - stretch["last"])
    stretch["last"] = now

ticker = QTimer()  # fires every few ms when the event loop is free: a long gap is the UI thread busy
ticker.timeout.connect(tick)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not marks:
            mark()
            ticker.start(4)  # (an idle loop turning flat out would slow the start it measures)
            if kind == "bare":
                QTimer.singleShot(0, QApplication.instance().quit)
        return False

probe = FirstPaint()
if kind == "bare":
    app = QApplication([])
    window = QMainWindow(); window.setCentralWidget(QLabel("hello")); window.resize(1280, 800)
    window.installEventFilter(probe)
    window.show()
    app.exec()
else:  # the app's own start: ``reeldesk --library DIR`` (desktop.cli.main -> desktop.app.launch)
    import desktop.app

    def watch(window):
        window.resize(1280, 800)
        window.installEventFilter(probe)
        def listed():  # the Library page shows the clips (read on a worker): the third figure
            ticker.stop()
            mark()
            QTimer.singleShot(0, window.close)
        def filled():  # the library is open and the panels are built: the second figure
            mark()
            panel = window.library_panel
            shown = getattr(panel, "clipsShown", None)  # absent where the page read its clips while filling
            if shown is None or panel.clip_model.rowCount():  # (the library has clips)
                listed()
            else:
                shown.connect(listed)
        window.libraryReady.connect(filled)
        window.libraryFailed.connect(lambda text: sys.exit(text))

    launch = desktop.app.launch  # the CLI looks it up when it opens the window; the probe rides along
    desktop.app.launch = lambda root, **options: launch(root, on_window=watch, **options)
    from desktop.cli import main

    sys.exit(main(["--library", lib_dir]))
"""


def seed(lib_dir: Path) -> None:
    from core.enums import GestureKind as K
    from core.gestures.model import Gesture
    from core.library import Library

    lib = Library(lib_dir)
    h = "ef" * 32
    lib.apply(Gesture(K.IMPORT_MEDIA, h, {"info": {"duration": 7200.0, "fps_num": 30, "fps_den": 1, "width": 1920,
                                                   "height": 1080, "rotation": 0, "has_audio": True, "vfr": False}}))
    clips = [lib.apply(Gesture(K.MARK_CLIP, None, {"media": h, "start": i * 60.0, "end": i * 60.0 + 9.0,
                                                   "name": f"Clip {i}"})).entity for i in range(20)]
    project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Reel"})).entity
    for c in clips[:5]:
        lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": c}))
    lib.close()


def one_run(kind: str, lib_dir: Path) -> tuple[float, float, float, float]:
    """Seconds from spawning the process to the window's first paint, to the library being open with
    the panels built, and to the Library page showing the clips (the same for the bare window); and
    the longest the UI thread was busy in one go between the first paint and the clips."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "painted"
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        t0 = time.time()
        subprocess.run([sys.executable, "-c", CHILD, kind, str(out), str(lib_dir)], check=True, env=env,
                       cwd=Path(__file__).resolve().parents[1], timeout=120)
        marks = [float(x) - t0 for x in out.read_text().split()]
        return marks[0], marks[min(1, len(marks) - 1)], marks[-1], float(out.with_suffix(".stretch").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib_dir = Path(tmp) / "lib"
        seed(lib_dir)
        sys.stdout.write(compare(lib_dir, args.runs, "ReelDesk main window") + "\n")


def compare(lib_dir: Path, runs: int, label: str) -> str:
    """Bare Qt window against ReelDesk, runs interleaved so that machine noise hits both alike."""
    bare, paint, filled, listed, stretches = [], [], [], [], []
    for _ in range(runs):
        bare.append(one_run("bare", lib_dir)[0])
        first, ready, clips, stretch = one_run("reeldesk", lib_dir)
        paint.append(first)
        filled.append(ready)
        listed.append(clips)
        stretches.append(stretch)
    b, o = statistics.median(bare), statistics.median(paint)
    f, c = statistics.median(filled), statistics.median(listed)
    return (f"cold start to first paint (median of {runs}): bare Qt window {b * 1000:.0f} ms, {label} "
            f"{o * 1000:.0f} ms, ratio {o / b:.2f}x (goal 4x); library open and panels filled at "
            f"{f * 1000:.0f} ms ({(f - o) * 1000:.0f} ms after the first paint); clips listed at "
            f"{c * 1000:.0f} ms; longest UI-thread stretch in between {statistics.median(stretches) * 1000:.0f} ms "
            f"(median; max {max(stretches) * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
