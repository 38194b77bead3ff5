"""Child process for the crash test: applies gestures forever, reporting each one that returned."""
from __future__ import annotations

import sys
from pathlib import Path

from core.enums import GestureKind as K
from core.gestures.model import Gesture
from core.library import Library
from tests.fixtures.library import seed_clip


def main(root: str) -> None:
    lib = Library(Path(root))
    _raw, _project, wc = seed_clip(lib)
    i = 0
    while True:
        i += 1
        t = (i % 500) / 100.0
        r = lib.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": t, "x": float(i % 900), "y": 0.0,
                                                        "width": 607.5, "height": 1080.0}))
        sys.stdout.write(r.op_id + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
