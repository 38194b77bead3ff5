"""VideoViewer (crop and spotlight editing as single gestures) and FrameSource (exact frames).

Clip documents come from a real library and every emitted gesture is applied back to it.
"""
from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage

from core.editmath import Box, crop_at, frame_index, safe_rect
from core.editmath.spotlight import (
    OutputMap,
    RegionTrack,
    dim_opacity,
    region_alpha,
    ring_ellipse,
    ring_width,
    shown_regions,
)
from core.enums import AspectRatio, GestureKind, OverlayShape
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui.frame_source import FrameSource
from desktop.ui.viewer import HANDLE_SIZE, VideoViewer, ViewerMode
from tests.fixtures.library import seed_clip
from tests.fixtures.media import make_frame_rgb, make_video, read_frame_number

W, H = 1920, 1080
KF_BOX = {"x": 400.0, "y": 200.0, "width": 405.0, "height": 720.0}  # 9:16
REGION = {"x": 760.0, "y": 560.0, "rx": 70.0, "ry": 150.0}


@pytest.fixture
def framed(library: Library) -> tuple[Library, str, Callable[[], dict[str, Any]]]:
    """A 6 s 1920x1080 working clip for a 9:16 project: a crop keyframe at 0 s, a spotlight
    region 0.5–5 s with a keyframe at 1 s."""
    _raw, project, wc = seed_clip(library)
    library.apply(Gesture(GestureKind.ADD_CROP_KEYFRAME, wc, {"time": 0.0, **KF_BOX}))
    library.apply(Gesture(GestureKind.ADD_REGION, wc, {"start": 0.5, "end": 5.0, **REGION}))
    doc = library.show_project(project)["clips"][0]
    region_kf = doc["edit"]["regions"][0]["keyframes"][0]["uid"]
    library.apply(Gesture(GestureKind.UPDATE_REGION_KEYFRAME, wc,
                          {"region": doc["edit"]["regions"][0]["uid"], "keyframe": region_kf, "time": 1.0}))

    def current() -> dict[str, Any]:
        return library.show_project(project)["clips"][0]

    return library, wc, current


def frame_image(n: int = 37) -> QImage:
    rgb = make_frame_rgb(n, W, H)
    return QImage(rgb.data, W, H, W * 3, QImage.Format.Format_RGB888).copy()


@pytest.fixture
def viewer(qtbot, framed) -> VideoViewer:
    v = VideoViewer()
    qtbot.addWidget(v)
    v.resize(900, 540)
    v.show()
    qtbot.waitExposed(v)
    v.set_clip(framed[2](), AspectRatio.PORTRAIT)
    v.set_frame(frame_image())
    v.mode = ViewerMode.FRAME
    return v


def collect(widget: Any) -> list[Gesture]:
    got: list[Gesture] = []
    widget.gestureRequested.connect(got.append)
    return got


def pt(p: QPointF) -> QPoint:
    return QPoint(round(p.x()), round(p.y()))


def drag(qtbot, widget, start: QPoint, end: QPoint, steps: int = 5) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(widget, pos=start + (end - start) * i / steps)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def widget_rect(v: VideoViewer) -> tuple[QPointF, QPointF]:
    box = v.crop_box()
    assert box is not None
    r = v.box_to_widget(box)
    return r.topLeft(), r.bottomRight()


# -- framing -------------------------------------------------------------------------------------


def test_viewer_shows_the_renderer_crop(viewer, framed) -> None:
    viewer.set_time(3.0)
    doc = framed[2]()
    track = [(k["time"], k) for k in doc["edit"]["crop_keyframes"]]
    assert viewer.crop_box() == crop_at(track, 3.0, W, H, AspectRatio.PORTRAIT, 0.0)
    # Mapping round trip and letterboxing: the frame keeps the source aspect.
    fr = viewer.frame_rect()
    assert fr.width() / fr.height() == pytest.approx(W / H, rel=1e-6)
    p = QPointF(1234.5, 321.25)
    back = viewer.widget_to_source(viewer.source_to_widget(p))
    assert back.x() == pytest.approx(p.x()) and back.y() == pytest.approx(p.y())


def test_moving_the_box_emits_one_add_keyframe_moved_by_the_mapped_pixels(viewer, framed, qtbot) -> None:
    library, wc, doc = framed
    viewer.set_time(3.0)  # 90 frames from the keyframe: a new keyframe
    got = collect(viewer)
    start = viewer.box_to_widget(viewer.crop_box()).center()
    dx, dy = 40, -25
    drag(qtbot, viewer, pt(start), pt(start) + QPoint(dx, dy))
    assert len(got) == 1
    g = got[0]
    assert g.kind is GestureKind.ADD_CROP_KEYFRAME and g.entity_uid == wc
    s = viewer.scale()
    assert g.payload["time"] == 3.0
    assert g.payload["x"] == pytest.approx(KF_BOX["x"] + dx / s, abs=2e-3)
    assert g.payload["y"] == pytest.approx(KF_BOX["y"] + dy / s, abs=2e-3)
    assert (g.payload["width"], g.payload["height"]) == (KF_BOX["width"], KF_BOX["height"])
    assert g.payload["width"] / g.payload["height"] == pytest.approx(9 / 16)
    library.apply(g)
    assert len(doc()["edit"]["crop_keyframes"]) == 2


def test_moving_near_a_keyframe_updates_it(viewer, framed, qtbot) -> None:
    library, _wc, doc = framed
    kf = doc()["edit"]["crop_keyframes"][0]
    viewer.set_time(9 * 1001 / 30000)  # 9 frames after it: within 10 frames
    got = collect(viewer)
    start = viewer.box_to_widget(viewer.crop_box()).center()
    drag(qtbot, viewer, pt(start), pt(start) + QPoint(-30, 0))
    assert [g.kind for g in got] == [GestureKind.UPDATE_CROP_KEYFRAME]
    assert got[0].payload["keyframe"] == kf["uid"] and "time" not in got[0].payload
    library.apply(got[0])
    assert len(doc()["edit"]["crop_keyframes"]) == 1
    assert doc()["edit"]["crop_keyframes"][0]["x"] < KF_BOX["x"]


def test_moving_is_stopped_by_the_frame_edge(viewer, qtbot) -> None:
    viewer.set_time(3.0)
    got = collect(viewer)
    start = viewer.box_to_widget(viewer.crop_box()).center()
    drag(qtbot, viewer, pt(start), pt(start) + QPoint(-2000, 2000))
    p = got[0].payload
    assert p["x"] == 0.0 and p["y"] == pytest.approx(H - KF_BOX["height"])


@pytest.mark.parametrize("rotation", [0.0, 12.0])
def test_corner_resize_keeps_the_aspect_and_stays_inside(viewer, framed, qtbot, rotation) -> None:
    library, wc, doc = framed
    kf = doc()["edit"]["crop_keyframes"][0]
    small = {"x": 600.0, "y": 300.0, "width": 270.0, "height": 480.0}
    library.apply(Gesture(GestureKind.UPDATE_CROP_KEYFRAME, wc, {"keyframe": kf["uid"], **small}))
    if rotation:
        library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": rotation}))
    viewer.set_clip(doc(), AspectRatio.PORTRAIT)
    viewer.set_time(3.0)
    safe = safe_rect(W, H, rotation)
    got = collect(viewer)
    # Pull the bottom-right handle far beyond the frame: grows as far as the safe area allows.
    _tl, br = widget_rect(viewer)
    drag(qtbot, viewer, pt(br), pt(br) + QPoint(900, 900))
    assert len(got) == 1
    library.apply(got[0])
    # Then pull the top-left handle inwards: shrinks around the fixed bottom-right corner.
    viewer.set_clip(doc(), AspectRatio.PORTRAIT)
    tl, _br = widget_rect(viewer)
    before = viewer.crop_box()
    drag(qtbot, viewer, pt(tl), pt(tl) + QPoint(60, 10))
    assert len(got) == 2
    for g in got:
        p = g.payload
        assert p["width"] / p["height"] == pytest.approx(9 / 16, rel=1e-4)
        assert p["x"] >= safe.x - 1e-3 and p["y"] >= safe.y - 1e-3
        assert p["x"] + p["width"] <= safe.x + safe.width + 1e-3
        assert p["y"] + p["height"] <= safe.y + safe.height + 1e-3
    grown, shrunk = got[0].payload, got[1].payload
    assert grown["width"] > small["width"]
    assert (grown["x"], grown["y"]) == pytest.approx((small["x"], small["y"]), abs=1e-3)  # anchored
    assert grown["y"] + grown["height"] == pytest.approx(safe.y + safe.height, abs=1e-2)  # the binding side
    assert shrunk["width"] < before.width
    assert shrunk["x"] + shrunk["width"] == pytest.approx(before.x + before.width, abs=1e-2)
    assert shrunk["y"] + shrunk["height"] == pytest.approx(before.y + before.height, abs=1e-2)
    library.apply(got[1])


def test_edge_handle_resizes_around_the_centre_line(viewer, qtbot) -> None:
    viewer.set_time(3.0)
    box = viewer.crop_box()
    got = collect(viewer)
    r = viewer.box_to_widget(box)
    right = QPointF(r.right(), r.center().y())
    drag(qtbot, viewer, pt(right), pt(right) + QPoint(-40, 0))
    p = got[0].payload
    assert p["x"] == pytest.approx(box.x, abs=1e-3)
    assert p["y"] + p["height"] / 2 == pytest.approx(box.y + box.height / 2, abs=1e-2)
    assert p["width"] / p["height"] == pytest.approx(9 / 16, rel=1e-4)


def test_nudges_commit_as_one_gesture_when_they_rest(viewer, qtbot) -> None:
    viewer.set_time(3.0)
    got = collect(viewer)
    viewer.nudge(10.0, 0.0)
    viewer.nudge(0.0, -1.0)
    assert got == []  # shown at once, committed when the burst ends
    assert viewer.crop_box().x == KF_BOX["x"] + 10
    qtbot.waitUntil(lambda: len(got) == 1, timeout=3000)
    assert got[0].kind is GestureKind.ADD_CROP_KEYFRAME
    assert got[0].payload["x"] == KF_BOX["x"] + 10 and got[0].payload["y"] == KF_BOX["y"] - 1
    # Plain arrows are the window's frame steps: the viewer itself ignores them.
    got.clear()
    viewer.set_time(3.5)
    qtbot.keyClick(viewer, Qt.Key.Key_Left)
    for _ in range(5):
        viewer.nudge(-1.0, 0.0)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=3000)
    assert len(got) == 1 and got[0].payload["x"] == KF_BOX["x"] - 5


def test_plain_mode_and_no_clip_do_not_edit(viewer, qtbot) -> None:
    got = collect(viewer)
    viewer.mode = ViewerMode.PLAIN
    start = viewer.box_to_widget(viewer.crop_box()).center()
    drag(qtbot, viewer, pt(start), pt(start) + QPoint(50, 0))
    viewer.nudge(1.0, 0.0)
    viewer.set_clip(None)
    viewer.mode = ViewerMode.FRAME
    drag(qtbot, viewer, pt(start), pt(start) + QPoint(50, 0))
    assert got == []
    assert viewer.mode is ViewerMode.FRAME and ViewerMode("plain") is ViewerMode.PLAIN == "plain"


def test_frame_mode_dims_outside_the_box(viewer) -> None:
    viewer.set_time(3.0)
    image = viewer.grab().toImage()
    r = viewer.box_to_widget(viewer.crop_box())
    inside = QColor(image.pixel(round(r.left()) + 12, round(r.center().y()) + 40))
    outside = QColor(image.pixel(round(r.left()) - 12, round(r.center().y()) + 40))
    # The gradient barely changes over 24 px: the difference is the dim veil.
    assert outside.lightness() < inside.lightness() * 0.7
    corner = QColor(image.pixel(round(r.right()), round(r.bottom())))
    assert corner.lightness() > 200  # a white handle
    assert HANDLE_SIZE >= 8


# -- spotlight -----------------------------------------------------------------------------------


def region_centre(v: VideoViewer) -> QPointF:
    (_uid, e, _alpha), = v.region_ellipses()
    return v.picture_transform().map(QPointF(e.x, e.y))


def test_spotlight_drag_adds_a_region_keyframe(viewer, framed, qtbot) -> None:
    library, wc, doc = framed
    region = doc()["edit"]["regions"][0]
    viewer.mode = ViewerMode.SPOTLIGHT
    viewer.set_time(3.0)
    got = collect(viewer)
    selected: list[str] = []
    viewer.regionSelected.connect(selected.append)
    c = region_centre(viewer)
    drag(qtbot, viewer, pt(c), pt(c) + QPoint(30, 12))
    assert selected == [region["uid"]]
    assert len(got) == 1
    g = got[0]
    assert g.kind is GestureKind.ADD_REGION_KEYFRAME and g.entity_uid == wc
    s = viewer.scale()
    assert g.payload["region"] == region["uid"] and g.payload["time"] == 3.0
    assert g.payload["x"] == pytest.approx(REGION["x"] + 30 / s, abs=2e-3)
    assert g.payload["y"] == pytest.approx(REGION["y"] + 12 / s, abs=2e-3)
    assert (g.payload["rx"], g.payload["ry"]) == (REGION["rx"], REGION["ry"])
    library.apply(g)
    assert len(doc()["edit"]["regions"][0]["keyframes"]) == 2


def test_spotlight_handle_near_a_keyframe_updates_it(viewer, framed, qtbot) -> None:
    library, _wc, doc = framed
    region = doc()["edit"]["regions"][0]
    viewer.mode = ViewerMode.SPOTLIGHT
    viewer.set_time(1.1)  # 3 frames after the region keyframe at 1 s
    viewer.set_selected_region(region["uid"])
    got = collect(viewer)
    c = region_centre(viewer)
    handle = QPointF(c.x() + REGION["rx"] * viewer.scale(), c.y())
    drag(qtbot, viewer, pt(handle), pt(handle) + QPoint(20, 0))
    assert [g.kind for g in got] == [GestureKind.UPDATE_REGION_KEYFRAME]
    p = got[0].payload
    assert p["keyframe"] == region["keyframes"][0]["uid"]
    assert p["rx"] == pytest.approx(REGION["rx"] + 20 / viewer.scale(), abs=0.05 / viewer.scale() + 2e-3)
    assert p["ry"] == REGION["ry"] and p["x"] == REGION["x"]
    library.apply(got[0])


def test_spotlight_follows_rotation_like_the_renderer(viewer, framed) -> None:
    library, wc, doc = framed
    library.apply(Gesture(GestureKind.SET_ROTATION, wc, {"degrees": 90.0 / 9}))  # 10 degrees
    viewer.set_clip(doc(), AspectRatio.PORTRAIT)
    viewer.mode = ViewerMode.SPOTLIGHT
    viewer.set_time(3.0)
    c = region_centre(viewer)
    src = viewer.widget_to_source(c)  # rotated-picture coords of the ring centre
    # The picture turns clockwise about its centre: a point left of and below centre moves up.
    a = np.radians(10.0)
    x0, y0 = REGION["x"] - W / 2, REGION["y"] - H / 2
    expected = (W / 2 + x0 * np.cos(a) - y0 * np.sin(a), H / 2 + x0 * np.sin(a) + y0 * np.cos(a))
    assert (src.x(), src.y()) == pytest.approx(expected, abs=1e-6)


def test_spotlight_draws_ring_and_dims_outside(viewer) -> None:
    viewer.mode = ViewerMode.SPOTLIGHT
    viewer.set_time(2.0)
    image = viewer.grab().toImage()
    c = region_centre(viewer)
    ry = REGION["ry"] * viewer.scale()
    ring = QColor(image.pixel(round(c.x()), round(c.y() - ry)))
    assert ring.red() > 200 and ring.green() > 170 and ring.blue() < 90  # the yellow ring
    inside = QColor(image.pixel(round(c.x()), round(c.y() + ry / 2)))
    outside = QColor(image.pixel(round(c.x() + 3 * REGION["rx"] * viewer.scale()), round(c.y() + ry / 2)))
    assert outside.lightness() < inside.lightness()


@pytest.mark.parametrize("shape", [OverlayShape.BODY, OverlayShape.GROUND])
def test_spotlight_paints_the_core_overlay_through_the_fade(viewer, framed, shape) -> None:
    """Every number the viewer paints is core.editmath.spotlight's (the renderer's), at times
    before, inside, across the fade-out and after the region; the dim veil is checked by pixels."""
    library, wc, doc = framed
    dim, fade, grey = 0.6, 1.0, 200
    library.apply(Gesture(GestureKind.SET_OVERLAY_STYLE, wc, {"shape": shape.value, "fade_out": fade, "dim": dim}))
    viewer.set_clip(doc(), AspectRatio.PORTRAIT)
    viewer.mode = ViewerMode.SPOTLIGHT
    flat = QImage(W, H, QImage.Format.Format_RGB32)
    flat.fill(QColor(grey, grey, grey))
    viewer.set_frame(flat)
    regions = [RegionTrack.from_doc(r) for r in doc()["edit"]["regions"]]
    fr = viewer.frame_rect()
    to_widget = OutputMap(W, H, 0.0, Box(0.0, 0.0, W, H), fr.width(), fr.height(), fr.x(), fr.y())
    alphas = []
    for t in (0.5, 1.0, 3.0, 4.2, 4.5, 4.8, 4.95):
        viewer.set_time(t)
        (shown,) = shown_regions(regions, t, fade)
        painted = viewer.overlay_shapes()
        ((uid, body, ring, alpha),) = painted.regions
        assert uid == shown.uid and alpha == shown.alpha == region_alpha(0.5, 5.0, t, fade)
        expected = to_widget.ellipse(shown.ellipse)
        assert (body.x, body.y, body.rx, body.ry) == pytest.approx((expected.x, expected.y, expected.rx, expected.ry))
        assert ring == ring_ellipse(body, shape)
        assert painted.dim == pytest.approx(dim_opacity(dim, [alpha]))
        out = viewer.box_to_widget(viewer.crop_box())
        assert painted.ring_width == pytest.approx(ring_width(4.0, out.width(), out.height()))
        image = viewer.grab().toImage()
        veil = QColor(image.pixel(round(fr.left() + 4), round(fr.center().y()))).red()
        assert veil == pytest.approx(grey * (1 - painted.dim), abs=2), t
        assert QColor(image.pixel(round(body.x), round(body.y))).red() >= grey - 2  # the player is not dimmed
        alphas.append(alpha)
    assert alphas[:3] == [1.0] * 3 and alphas[3] > alphas[4] > alphas[5] > alphas[6] > 0  # the fade-out is seen
    for t in (0.49, 5.0):
        viewer.set_time(t)
        assert viewer.overlay_shapes().regions == ()


# -- frame source --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("viewer-videos")
    return {
        "ntsc": make_video(folder / "ntsc.mp4", fps=Fraction(30000, 1001), seconds=4.0, audio=False),
        "rotated": make_video(folder / "rotated.mp4", rotation=90, seconds=2.0, audio=False),
        "vfr": make_video(folder / "vfr.mp4", vfr=True, seconds=2.0, audio=False),
    }


def image_rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, bpl)[:, : w * 3].reshape(h, w, 3).copy()


def fetch(qtbot, source: FrameSource, t: float) -> tuple[float, QImage]:
    with qtbot.waitSignal(source.frameReady, timeout=5000) as blocker:
        source.request(t)
    return blocker.args[0], blocker.args[1]


@pytest.fixture
def open_source(qtbot) -> Any:
    made: list[FrameSource] = []

    def make(path: Path) -> FrameSource:
        source = FrameSource(path)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def test_frame_source_returns_the_exact_frame_forwards_and_backwards(videos, open_source, qtbot) -> None:
    source = open_source(videos["ntsc"])
    fps = source.fps
    assert fps == Fraction(30000, 1001)
    for t in (0.0, 1.5, 1.5 + 1 / 29.97, 1.6, 0.4, 3.9, 3.2, 0.0, 2.002, 2.0019, 1.0):
        got_t, image = fetch(qtbot, source, t)
        assert got_t == t
        assert (image.width(), image.height()) == (320, 240)
        assert read_frame_number(image_rgb(image)) == frame_index(t, fps), t


def test_frame_source_turns_rotated_video_upright(videos, open_source, qtbot) -> None:
    source = open_source(videos["rotated"])
    assert source.size == (240, 320)
    for t in (1.0, 0.5):
        _t, image = fetch(qtbot, source, t)
        assert (image.width(), image.height()) == (240, 320)
        # Displayed 90 degrees clockwise: turning it back counter-clockwise restores the stripe.
        stored = np.rot90(image_rgb(image), k=1)
        assert read_frame_number(stored) == frame_index(t, Fraction(30))


def test_frame_source_shows_the_latest_frame_at_or_before_t_for_vfr(videos, open_source, qtbot) -> None:
    source = open_source(videos["vfr"])
    # The fixture's VFR timing: frames at 0, 1, 2, 4, 5, 6, 8 ... periods of 1/30 s.
    periods = [4 * (n // 3) + n % 3 for n in range(60)]
    for t in (0.0, 1.5, 1.53, 0.1, 1.0):
        expected = max(n for n, p in enumerate(periods) if p / 30 <= t + 1e-9)
        _t, image = fetch(qtbot, source, t)
        assert read_frame_number(image_rgb(image)) == expected, t


def test_frame_source_serves_only_the_newest_of_a_burst(videos, open_source, qtbot) -> None:
    source = open_source(videos["ntsc"])
    fetch(qtbot, source, 0.0)
    served: list[tuple[float, int]] = []
    source.frameReady.connect(lambda t, img: served.append((t, read_frame_number(image_rgb(img)))))
    burst = [3.5, 0.2, 2.9, 1.1, 3.3, 0.7, 2.2]
    # The whole burst arrives while the idle worker cannot take a request (it needs the request
    # lock, held here; it is reentrant, so request() still queues): no timing is involved.
    with source._thread._cond:
        for t in burst:
            source.request(t)
    fps = source.fps
    qtbot.waitUntil(lambda: bool(served), timeout=5000)
    # Frames come back in order on one queue: once a later request is served, nothing stale
    # from the burst can still be on its way.
    sentinel = 1.5
    with qtbot.waitSignal(source.frameReady, timeout=5000, check_params_cb=lambda t, _img: t == sentinel):
        source.request(sentinel)
    assert served == [(burst[-1], frame_index(burst[-1], fps)), (sentinel, frame_index(sentinel, fps))]


def test_frame_source_reports_an_unreadable_file(tmp_path: Path, open_source, qtbot) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video", encoding="utf-8")
    source = open_source(bad)  # the report is queued to the UI thread: connecting now is in time
    with qtbot.waitSignal(source.failed, timeout=5000) as blocker:
        source.request(0.0)
    assert blocker.args[0] and "Traceback" not in blocker.args[0]
    assert source.info is None
