"""Cold start to the first painted main window, against a bare Qt window in the same run.

    python -m benchmarks.bench_startup [--runs 5]

Each run is a fresh process (imports, QApplication, library open with its migration check,
MainWindow on a library holding 20 clips and a reel); the clock starts before the process is
spawned and stops at the window's first paint event. The bare baseline shows a QMainWindow with
a label, so the ratio says what ReelDesk adds on top of Qt itself.
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

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint:
            out.write_text(repr(time.time()))
            QTimer.singleShot(0, QApplication.instance().quit)
        return False

if kind == "bare":
    app = QApplication([])
    window = QMainWindow(); window.setCentralWidget(QLabel("hello")); window.resize(1280, 800)
else:
    from core.library import Library
    from desktop.app import _application
    app = _application()
    from desktop.ui.main_window import MainWindow
    window = MainWindow(Library(Path(lib_dir)), services=False)
    window.resize(1280, 800)
probe = FirstPaint()
window.installEventFilter(probe)
window.show()
app.exec()
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


def one_run(kind: str, lib_dir: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "painted"
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
        t0 = time.time()
        subprocess.run([sys.executable, "-c", CHILD, kind, str(out), str(lib_dir)], check=True, env=env,
                       cwd=Path(__file__).resolve().parents[1], timeout=120)
        return float(out.read_text()) - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib_dir = Path(tmp) / "lib"
        seed(lib_dir)
        bare, ours = [], []
        for _ in range(args.runs):  # interleaved, so machine noise hits both alike
            bare.append(one_run("bare", lib_dir))
            ours.append(one_run("reeldesk", lib_dir))
    b, o = statistics.median(bare), statistics.median(ours)
    sys.stdout.write(f"cold start to first paint (median of {args.runs}): bare Qt window {b * 1000:.0f} ms, "
                     f"ReelDesk main window {o * 1000:.0f} ms, ratio {o / b:.2f}x\n")


if __name__ == "__main__":
    main()
