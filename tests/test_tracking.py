"""Tracking a player on generated footage with a known truth: the crossing team-mate, the lost
player, keyframe simplification, one undo step, the CLI, and the exported spotlight's pixels."""
from __future__ import annotations

import json
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest

from core.editmath import Box, crop_at, default_crop, frame_index, interpolate
from core.enums import AspectRatio
from core.enums import GestureKind as K
from core.export.build import build_spec
from core.export.render import render
from core.gestures.fold import SNAP_FRAMES
from core.gestures.model import Gesture
from core.media.importer import ImportService
from core.tracking.run import TrackCancelled, TrackError, apply_track, plan_track, track_clip
from core.tracking.keyframes import SPOT_TOL_PX, camera_path, simplify
from desktop.cli import main
from tests.fixtures.pitch import PitchScene

FPS = 30
W, H, PLAYER = 480, 270, 22.0


def _scene(**kw) -> PitchScene:
    return PitchScene(width=W, height=H, player_h=PLAYER, seconds=2.4, pan_px_s=12.0, **kw)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory) -> tuple[PitchScene, Path]:
    scene = _scene()
    return scene, scene.write(tmp_path_factory.mktemp("pitch") / "crossing.mp4")


@pytest.fixture(scope="module")
def vanishing(tmp_path_factory) -> tuple[PitchScene, Path]:
    scene = _scene(crossing=False, vanish_at=1.0)
    return scene, scene.write(tmp_path_factory.mktemp("pitch") / "vanish.mp4")


def _source(scene: PitchScene, media: str = "ab" * 32) -> dict:
    return {"media": media, "start": 0.0, "end": scene.frames / FPS, "width": W, "height": H,
            "fps_num": FPS, "fps_den": 1}


def _errors(scene: PitchScene, run) -> np.ndarray:
    idx = [frame_index(t + 1e-6, Fraction(FPS)) for t in run.times]
    truth = np.array([scene.truth[i] for i in idx])
    return np.hypot(*(run.boxes[:, :2] - truth).T)


def test_same_kit_crossing_does_not_steal_the_track(crossing):
    scene, path = crossing
    run = track_clip(path, _source(scene), 0.0, Box(*scene.start_box(0)))
    assert not run.lost and run.tracked_from == 0.0 and len(run.times) == scene.frames
    err = _errors(scene, run)
    assert err.mean() < 5.0 and err.max() < 10.0, (err.mean(), err.max())
    # After the two players separate, the track is on the tracked one, far from the crosser.
    tc = scene.frames // 2
    late = range(tc + 12, scene.frames)
    crosser = np.array([scene.crosser[i] for i in late])
    assert (np.hypot(*(run.boxes[list(late), :2] - crosser).T) > 2 * PLAYER).all()


def test_tracks_backwards_and_forwards_from_mid_clip(crossing):
    scene, path = crossing
    at = 50  # backwards takes two chunks of decoding (a second each)
    run = track_clip(path, _source(scene), at / FPS, Box(*scene.start_box(at)))
    assert run.tracked_from == 0.0 and len(run.times) == scene.frames
    assert run.times == sorted(run.times)
    # Backwards it meets the crossing soon after starting, before it knows the player's pace:
    # pulled a little, but it stays on the player (never nearer the crosser).
    err = _errors(scene, run)
    assert err.mean() < 5.0 and err.max() < 0.75 * PLAYER, (err.mean(), err.max())
    apart = [i for i in range(len(err)) if np.hypot(*np.subtract(scene.truth[i], scene.crosser[i])) > PLAYER]
    crosser = np.array([scene.crosser[i] for i in apart])
    assert (np.hypot(*(run.boxes[apart, :2] - crosser).T) > err[apart]).all()


def test_a_lost_player_stops_the_track_there(vanishing):
    scene, path = vanishing
    run = track_clip(path, _source(scene), 0.0, Box(*scene.start_box(0)))
    assert run.lost and run.lost_at == [run.tracked_to]
    # It stops where the player went, having followed only the player until then.
    assert 0.85 <= run.tracked_to <= 1.05, run.tracked_to
    assert _errors(scene, run).max() < 10.0


def test_bad_start_is_refused(crossing):
    scene, path = crossing
    with pytest.raises(TrackError, match="outside the clip"):
        track_clip(path, _source(scene), 5.0, Box(*scene.start_box(0)))
    with pytest.raises(TrackError, match="inside the 480x270 frame"):
        track_clip(path, _source(scene), 0.0, Box(470, 100, 20, 30))


def test_cancel_stops_tracking(crossing):
    scene, path = crossing
    seen = []
    with pytest.raises(TrackCancelled):
        track_clip(path, _source(scene), 0.0, Box(*scene.start_box(0)), progress=seen.append,
                   cancelled=lambda: len(seen) >= 5)
    assert len(seen) == 5


# -- keyframes ------------------------------------------------------------------------------------
def _curve(kfs, times, props):
    ks = [(k["time"], k) for k in kfs]
    return np.array([[interpolate(ks, t, props)[p] for p in props] for t in times])


def test_simplification_keeps_the_curve_near_the_path_with_few_snapped_keyframes():
    fps = Fraction(30)
    times = [i / 30 for i in range(300)]
    path = np.array([[400 + 200 * np.sin(t), 300 + 80 * np.cos(1.7 * t)] for t in times])
    keep = simplify(times, path, ("x", "y"), SPOT_TOL_PX, fps)
    assert 3 <= len(keep) <= 20
    assert all(b - a > SNAP_FRAMES for a, b in pairwise(keep))
    kfs = [{"time": times[i], "x": path[i, 0], "y": path[i, 1]} for i in keep]
    err = np.abs(_curve(kfs, times, ("x", "y")) - path).max(axis=1)
    # Within tolerance between the first and last spans; in those the curve eases in and out
    # (end points repeat) and the snap distance leaves no room for a keyframe, so a few px more.
    assert err[keep[1]:keep[-2] + 1].max() <= SPOT_TOL_PX and err.max() <= 4 * SPOT_TOL_PX
    # Fewer keyframes than sampling every 20 frames, which strays further (checked side by side).
    uniform = list(range(0, 300, 20)) + [299]
    ukfs = [{"time": times[i], "x": path[i, 0], "y": path[i, 1]} for i in uniform]
    assert len(keep) <= len(uniform) + 2
    assert np.abs(_curve(ukfs, times, ("x", "y")) - path).max() > err.max()
    # A player standing still needs only the two ends; a path shorter than the snap distance one.
    still = np.tile([[640.0, 360.0]], (300, 1)) + np.sin(np.arange(300))[:, None]  # 1 px of jitter
    assert simplify(times, still, ("x", "y"), SPOT_TOL_PX, fps) == [0, 299]
    assert simplify(times[:8], path[:8], ("x", "y"), SPOT_TOL_PX, fps) == [0]


def test_camera_path_keeps_the_player_central_smoothly_inside_the_safe_area():
    times = [i / 30 for i in range(240)]
    w, h = 1920.0, 1080.0
    # Runs right, stops, runs back left faster.
    xs = np.concatenate([np.linspace(300, 1200, 100), np.full(40, 1200.0), np.linspace(1200, 500, 100)])
    centres = np.column_stack([xs, np.full(240, 600.0)])
    crops = camera_path(times, centres, w, h, AspectRatio.PORTRAIT, 5.0)
    cw = crops[0, 2]
    off = np.abs(crops[:, 0] + cw / 2 - xs) / cw
    assert (off <= 0.3).mean() >= 0.95
    accel = np.abs(np.diff(crops[:, 0], 2))
    assert accel.max() <= 0.8 * cw / 900 + 1e-6  # bounded acceleration: no jerks, no jitter
    still = crops[110:140, 0]
    assert np.ptp(still[10:]) < 1.0  # the player stands in the dead zone: the camera rests
    from core.editmath import safe_rect

    safe = safe_rect(w, h, 5.0)
    assert (crops[:, 0] >= safe.x - 1e-6).all() and (crops[:, 0] + cw <= safe.x + safe.width + 1e-6).all()
    assert cw <= default_crop(w, h, AspectRatio.PORTRAIT).width


# -- through the library --------------------------------------------------------------------------
def _seed(lib, path: Path, aspect: str = "9:16") -> tuple[str, str]:
    (result,) = ImportService(lib).import_paths([path])
    assert result.ok, result.error
    raw = lib.apply(Gesture(K.MARK_CLIP, None, {"media": result.media, "start": 0.0, "end": 2.4})).entity
    project = lib.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Reel", "aspect": aspect})).entity
    wc = lib.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    return project, wc


def _edit(lib, project):
    return lib.show_project(project)["clips"][0]["edit"]


def test_one_tracking_run_is_one_undo_step_and_syncs(make_library, crossing):
    scene, path = crossing
    lib = make_library("a")
    project, wc = _seed(lib, path)
    lib.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": 1.0, "x": 10, "y": 0, "width": 151.875, "height": 270}))
    before = lib.project_json(project)
    run, payload = plan_track(lib, wc, 0.0, Box(*scene.start_box(0)), reframe=True)
    out = apply_track(lib, wc, run, payload)
    e = _edit(lib, project)
    (region,) = e["regions"]
    assert region["uid"] == out.region and len(region["keyframes"]) == out.keyframes >= 2
    assert len(e["crop_keyframes"]) == out.crop_keyframes >= 1  # the hand-made one gave way
    after = lib.project_json(project)
    lib.undo(project)
    assert lib.project_json(project) == before
    lib.redo(project)
    assert lib.project_json(project) == after
    # Editable by hand afterwards, like any keyframe.
    k = region["keyframes"][1]
    lib.apply(Gesture(K.UPDATE_REGION_KEYFRAME, wc, {"region": out.region, "keyframe": k["uid"], "x": 5.0}))
    assert _edit(lib, project)["regions"][0]["keyframes"][1]["x"] == 5.0
    # Another device folds the same gestures to the same reel.
    other = make_library("b")
    other.merge_remote(lib.gestures())
    assert other.project_json(project) == lib.project_json(project)


def test_reframed_player_stays_in_the_middle_of_the_crop(library, crossing):
    scene, path = crossing
    project, wc = _seed(library, path)
    run, payload = plan_track(library, wc, 0.0, Box(*scene.start_box(0)), reframe=True)
    apply_track(library, wc, run, payload)
    kfs = [(k["time"], k) for k in _edit(library, project)["crop_keyframes"]]
    inside = []
    for i, (x, _y) in enumerate(scene.truth):
        box = crop_at(kfs, i / FPS, W, H, AspectRatio.PORTRAIT)
        inside.append(abs(x - (box.x + box.width / 2)) <= 0.3 * box.width)
    assert np.mean(inside) >= 0.95


def test_exported_spotlight_stays_on_the_player(library, crossing, tmp_path):
    scene, path = crossing
    project, wc = _seed(library, path, aspect="16:9")
    run, payload = plan_track(library, wc, 0.0, Box(*scene.start_box(0)), reframe=False)
    apply_track(library, wc, run, payload)
    spec = build_spec(library, project, size=(W, H), preset="ultrafast", crf=18, audio=False)
    out = render(spec, library.media_path, tmp_path / "out.mp4")
    with av.open(str(out)) as got, av.open(str(path)) as src:
        pairs = list(zip(got.decode(video=0), src.decode(video=0), strict=False))
    near, far = [], []
    yy, xx = np.ogrid[:H, :W]
    for i, (a, b) in enumerate(pairs[:-10]):  # the ring fades out over the region's last 0.3 s
        x, y = scene.truth[i]
        a, b = a.to_ndarray(format="gray").astype(float), b.to_ndarray(format="gray").astype(float)
        d = ((xx - x) / (0.25 * PLAYER)) ** 2 + ((yy - y) / (0.4 * PLAYER)) ** 2
        body, outside = d <= 1.0, d >= 16.0
        near.append(a[body].mean() / max(1.0, b[body].mean()))
        far.append(a[outside].mean() / max(1.0, b[outside].mean()))
    # Everything but the player is dimmed in every frame; the player never is.
    assert max(far) < 0.6
    assert min(near) > 0.9, near


# -- CLI --------------------------------------------------------------------------------------------
def test_cli_track_prints_the_document(capsys, library, crossing):
    scene, path = crossing
    project, wc = _seed(library, path)
    x, y, w, h = scene.start_box(0)
    code = main(["--library", str(library.root), "--json", "track", wc, "--at", "0", "--box",
                 f"{x},{y},{w},{h}", "--reframe"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(doc) == {"region", "keyframes", "crop_keyframes", "tracked_from", "tracked_to", "lost"}
    assert doc["lost"] is False and doc["tracked_from"] == 0.0 and doc["crop_keyframes"] >= 1
    assert _edit(library, project)["regions"][0]["uid"] == doc["region"]


@pytest.mark.parametrize("args, message", [
    (["--at", "0", "--box", "470,100,20,30"], "inside the 480x270 frame"),
    (["--at", "9", "--box", "100,100,20,30"], "outside the clip"),
    (["--at", "0", "--box", "1,2,3"], "X,Y,W,H"),
    (["--at", "nan", "--box", "100,100,20,30"], "not a time"),
    (["--at", "0", "--box", "100,100,20,30", "--bogus"], "unrecognized"),
])
def test_cli_track_bad_input_is_one_line_exit_2_and_changes_nothing(capsys, library, crossing, args, message):
    _scene_, path = crossing
    project, wc = _seed(library, path)
    count, before = library.gesture_count(), library.project_json(project)
    code = main(["--library", str(library.root), "track", wc, *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert library.gesture_count() == count and library.project_json(project) == before


def test_cli_track_unknown_clip(capsys, library):
    code = main(["--library", str(library.root), "track", "0190d5f0-0000-7000-8000-000000000001",
                 "--at", "0", "--box", "1,2,30,40"])
    assert code == 2 and "unknown working clip" in capsys.readouterr().err
