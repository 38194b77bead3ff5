"""Preview = export: ``reeldesk preview`` draws the exported frame, through the export's own
per-frame compose (``core.export.program``), at preview size.

The reel has everything the compose does: a moving crop, rotation, a 0.5x segment, a spotlight
and a dissolve into a second clip. Frames are compared by pixels after scaling to one size.
"""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from core.enums import GestureKind as K
from core.export.build import build_spec
from core.export.preview import open_preview
from core.export.render import render
from core.library import Library
from core.media.importer import ImportService
from desktop.cli import main
from tests.fixtures.media import make_video

EXPORT_SIZE = (540, 960)
PREVIEW_WIDTH = 360
# Output seconds: clip A at 1x, inside A's 0.5x segment, inside the dissolve, clip B alone.
TIMES = (0.4, 1.7, 2.75, 3.6)
MAX_MAE = 3.0


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("preview-src") / "game.mp4", width=640, height=360,
                      fps=Fraction(30), seconds=3.0, audio=False)


def seed_reel(lib: Library, source: Path) -> str:
    """Clip A: source 0-2 s, split at 1 s, the second segment at 0.5x (3 s of output), rotated
    5 degrees, a crop moving right, a spotlight following the marker. Clip B: source 1-2.5 s,
    dissolving in over 0.5 s (starts at 2.5 s; the reel lasts 4 s)."""
    from core.gestures.model import Gesture

    (result,) = ImportService(lib).import_paths([source])
    assert result.ok, result.error
    media = result.media
    raw_a = lib.apply(Gesture(K.MARK_CLIP, None, {"media": media, "start": 0.0, "end": 2.0})).entity
    raw_b = lib.apply(Gesture(K.MARK_CLIP, None, {"media": media, "start": 1.0, "end": 2.5})).entity
    project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Derby", "aspect": "9:16"})).entity
    a = lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw_a})).created["working_clip"]
    b = lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw_b})).created["working_clip"]
    lib.apply(Gesture(K.SET_ROTATION, a, {"degrees": 5.0}))
    for t, x in ((0.0, 120.0), (2.0, 360.0)):
        lib.apply(Gesture(K.ADD_CROP_KEYFRAME, a, {"time": t, "x": x, "y": 45.0, "width": 151.875,
                                                   "height": 270.0}))
    lib.apply(Gesture(K.SPLIT, a, {"time": 1.0}))
    lib.apply(Gesture(K.SET_SEGMENT_SPEED, a, {"time": 1.5, "speed": 0.5}))
    region = lib.apply(Gesture(K.ADD_REGION, a, {"start": 0.0, "end": 2.0})).created["region"]
    for t, x in ((0.0, 200.0), (2.0, 420.0)):
        lib.apply(Gesture(K.ADD_REGION_KEYFRAME, a, {"region": region, "time": t, "x": x, "y": 180.0,
                                                     "rx": 40.0, "ry": 60.0}))
    lib.apply(Gesture(K.SET_TRANSITION, project, {"working_clip": b, "type": "dissolve", "duration": 0.5}))
    return project


def exported_frames(lib: Library, project: str, out: Path) -> list[np.ndarray]:
    spec = build_spec(lib, project, crf=10, preset="ultrafast", audio=False, size=EXPORT_SIZE)
    render(spec, lib.media_path, out)
    with av.open(str(out)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def read_png(path: Path) -> np.ndarray:
    bgr = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_reeldesk_preview_matches_the_exported_frame(capsys, library: Library, source: Path,
                                                     tmp_path: Path) -> None:
    project = seed_reel(library, source)
    spec = build_spec(library, project)
    assert spec.output_duration == pytest.approx(4.0)
    assert [c.speeds for c in spec.clips][0] and spec.clips[0].regions and spec.clips[0].rotation == 5.0
    exported = exported_frames(library, project, tmp_path / "reel.mp4")
    assert len(exported) == 120

    previews = {}
    for t in TIMES:
        png = tmp_path / f"at {t}.png"
        code = main(["--library", str(library.root), "preview", "Derby", "--at", str(t), "--out", str(png),
                     "--width", str(PREVIEW_WIDTH), "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        doc = json.loads(out)
        k = int(t * 30 + 1e-6)
        assert doc == {"output": str(png), "at": t, "frame": k, "width": 360, "height": 640}
        shown = read_png(png)
        assert shown.shape == (640, 360, 3)
        want = cv2.resize(exported[k], (360, 640), interpolation=cv2.INTER_AREA)
        assert mae(shown, want) <= MAX_MAE, (t, mae(shown, want))
        # ...and not just any frame of the reel: a neighbouring second looks different.
        other = cv2.resize(exported[(k + 30) % len(exported)], (360, 640), interpolation=cv2.INTER_AREA)
        assert mae(shown, other) > 3 * MAX_MAE, t
        previews[t] = shown
    # Inside the dissolve both clips show: the picture is neither clip A's nor clip B's alone.
    a_end = cv2.resize(exported[74], (360, 640), interpolation=cv2.INTER_AREA)
    b_only = cv2.resize(exported[90], (360, 640), interpolation=cv2.INTER_AREA)
    assert mae(previews[2.75], a_end) > MAX_MAE and mae(previews[2.75], b_only) > MAX_MAE


def test_preview_pictures_are_the_same_frames_in_any_order(library: Library, source: Path) -> None:
    """Random access (the program view scrubbing back and forth) gives the pictures that playing
    in order gives: decoders seek back and jump ahead correctly."""
    project = seed_reel(library, source)
    preview = open_preview(library, project, 180)
    try:
        in_order = {t: preview.rgb_at(t).copy() for t in (0.0, 0.5, 1.2, 1.7, 2.6, 2.75, 3.6)}
        for t in (3.6, 0.5, 2.75, 0.0, 1.7, 2.6, 1.2):
            assert mae(preview.rgb_at(t), in_order[t]) == 0.0, t
        assert preview.clip_at(1.7)[0] == 0 and preview.clip_at(2.75)[0] == 1
        assert preview.clip_at(1.7)[1] == pytest.approx(1.35)  # 1 s at 1x, then 0.7 s at 0.5x
    finally:
        preview.close()


@pytest.mark.parametrize(("args", "message"), [
    (("preview", "Nope", "--at", "1", "--out", "{tmp}/x.png"), "unknown project Nope"),
    (("preview", "Derby", "--at", "9", "--out", "{tmp}/x.png"), "--at must be between 0 and 4.000 s"),
    (("preview", "Derby", "--at", "1", "--out", "{tmp}/no/such/x.png"), "does not exist"),
    (("preview", "Derby", "--at", "1", "--out", "{tmp}/x.jpg"), "must name a .png file"),
    (("preview", "Derby", "--at", "1", "--out", "{tmp}/x.png", "--width", "4"), "must be between 16"),
])
def test_preview_bad_input_is_one_line_and_writes_nothing(capsys, library: Library, source: Path,
                                                          tmp_path: Path, args, message) -> None:
    seed_reel(library, source)
    code = main(["--library", str(library.root), *(a.replace("{tmp}", str(tmp_path)) for a in args)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.startswith("reeldesk: error: ") and message in err
    assert not any(tmp_path.rglob("x.*"))
