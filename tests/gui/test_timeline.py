"""TimelineView: zoom, scrubbing, keyframe/region drags as single gestures, media mode at scale.

Clip documents come from a real library (gestures applied through ``Library.apply``), and every
gesture the view emits is applied back to it, so the payloads are the ones the engine accepts.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication, QPushButton

from core.editmath import frame_index, frame_time, snap_to_frame
from core.enums import GestureKind
from core.gestures.model import Gesture
from core.library import Library
from desktop.ui import theme
from desktop.ui.timecode import format_timecode
from desktop.ui.timeline import TimelineView
from desktop.ui.timeline_drag import SNAP_PX
from desktop.ui.timeline_model import TimelineMode, format_speed
from desktop.ui.timeline_scale import PAD, ZOOM_STEP
from tests.fixtures.library import seed_clip

NTSC = Fraction(30000, 1001)


@pytest.fixture
def framed(library: Library) -> tuple[Library, str, Callable[[], dict[str, Any]]]:
    """A 6 s working clip (29.97 fps, 1920x1080) with two crop keyframes, a split at 3 s with
    half speed after it, a trim, and one spotlight region."""
    _raw, project, wc = seed_clip(library)

    def apply(kind: GestureKind, payload: dict[str, Any]) -> Any:
        return library.apply(Gesture(kind, wc, payload))

    apply(GestureKind.ADD_CROP_KEYFRAME, {"time": 1.0, "x": 100.0, "y": 0.0, "width": 607.5, "height": 1080.0})
    apply(GestureKind.ADD_CROP_KEYFRAME, {"time": 4.0, "x": 900.0, "y": 0.0, "width": 607.5, "height": 1080.0})
    apply(GestureKind.SPLIT, {"time": 3.0})
    apply(GestureKind.SET_SEGMENT_SPEED, {"time": 3.5, "speed": 0.5})
    apply(GestureKind.SET_TRIM, {"start": 0.5, "end": 5.5})
    apply(GestureKind.ADD_REGION, {"start": 2.0, "end": 4.5, "x": 900.0, "y": 500.0, "rx": 60.0, "ry": 140.0})

    def doc() -> dict[str, Any]:
        return library.show_project(project)["clips"][0]

    return library, wc, doc


@pytest.fixture
def timeline(qtbot) -> TimelineView:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(1000, 240)
    view.show()
    qtbot.waitExposed(view)
    return view


def collect(view: Any) -> list[Gesture]:
    got: list[Gesture] = []
    view.gestureRequested.connect(got.append)
    return got


def vx(view: TimelineView, t: float) -> int:
    return round(view.viewport_x_for_time(t))


def lane_y(view: TimelineView, name: str) -> int:
    rect = view.lane_rect(name)
    assert rect is not None
    return round(rect.center().y() - view.verticalScrollBar().value())


def render(view: TimelineView) -> QImage:
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    view.render(painter)
    painter.end()
    return image


# -- zoom ----------------------------------------------------------------------------------------


def test_fit_shows_the_whole_clip_and_zoom_halves_the_range_around_the_playhead(timeline, framed) -> None:
    _lib, _wc, doc = framed
    timeline.set_clip(doc())
    t0, t1 = timeline.visible_range()
    assert t0 == pytest.approx(0.0, abs=1e-9) and t1 == pytest.approx(6.0, abs=1e-6)
    assert timeline.pixels_per_second() == pytest.approx((timeline.viewport().width() - 2 * PAD) / 6.0)

    timeline.set_playhead(3.0)
    x_before = timeline.viewport_x_for_time(3.0)
    timeline.zoom_in(2.0)
    z0, z1 = timeline.visible_range()
    assert z1 - z0 == pytest.approx((t1 - t0 + 2 * PAD / timeline.fit_pps()) / 2, rel=0.02)
    assert timeline.viewport_x_for_time(3.0) == pytest.approx(x_before, abs=1.0)  # anchored

    timeline.zoom_out(2.0)
    assert timeline.pixels_per_second() == pytest.approx(timeline.fit_pps())
    timeline.zoom_out(4.0)  # never beyond fit
    assert timeline.pixels_per_second() == pytest.approx(timeline.fit_pps())
    assert timeline.visible_range()[1] == pytest.approx(6.0, abs=1e-6)

    timeline.zoom_in(8.0)
    assert timeline.visible_range()[1] - timeline.visible_range()[0] < 1.0
    timeline.zoom_to_fit()
    assert timeline.visible_range() == pytest.approx((0.0, 6.0), abs=1e-6)


def test_zoom_is_capped_at_a_few_dozen_pixels_per_frame(timeline, framed) -> None:
    timeline.set_clip(framed[2]())
    timeline.zoom_in(10_000.0)
    assert timeline.pixels_per_second() == pytest.approx(timeline.max_pps())
    assert timeline.pixels_per_second() / float(NTSC) <= 48.0 + 1e-9


def test_ctrl_wheel_zooms_around_the_cursor_and_keys_zoom(timeline, framed, qtbot) -> None:
    timeline.set_clip(framed[2]())
    cursor_x = 700.0
    t_under = timeline.time_at_viewport_x(cursor_x)
    pos = QPointF(cursor_x, 60.0)
    event = QWheelEvent(pos, timeline.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(timeline.viewport(), event)
    assert timeline.pixels_per_second() == pytest.approx(timeline.fit_pps() * 1.25 ** 2)
    assert timeline.time_at_viewport_x(cursor_x) == pytest.approx(t_under, abs=1.0 / timeline.pixels_per_second())

    before = timeline.pixels_per_second()
    qtbot.keyClick(timeline, Qt.Key.Key_Plus)
    assert timeline.pixels_per_second() == pytest.approx(before * 1.5)
    qtbot.keyClick(timeline, Qt.Key.Key_Minus)
    assert timeline.pixels_per_second() == pytest.approx(before)
    qtbot.keyClick(timeline, Qt.Key.Key_Backslash)
    assert timeline.pixels_per_second() == pytest.approx(timeline.fit_pps())


def test_zoom_slots_work_from_buttons(timeline, framed) -> None:
    # clicked(bool) must not arrive as the zoom factor.
    timeline.set_clip(framed[2]())
    zoom_in, zoom_out = QPushButton(), QPushButton()
    zoom_in.clicked.connect(timeline.zoom_in)
    zoom_out.clicked.connect(timeline.zoom_out)
    fit = timeline.pixels_per_second()
    zoom_in.click()
    assert timeline.pixels_per_second() == pytest.approx(fit * ZOOM_STEP)
    zoom_out.click()
    assert timeline.pixels_per_second() == pytest.approx(fit)


def test_plain_wheel_scrolls_time(timeline, framed) -> None:
    timeline.set_clip(framed[2]())
    timeline.zoom_in(4.0, anchor_x=0.0)
    start = timeline.visible_range()[0]
    pos = QPointF(400.0, 60.0)
    event = QWheelEvent(pos, timeline.viewport().mapToGlobal(pos), QPoint(0, 0), QPoint(0, -240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(timeline.viewport(), event)
    assert timeline.visible_range()[0] > start


# -- playhead ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lane", ["ruler", "thumbs", "wave"])
def test_click_moves_the_playhead_to_the_frame_under_the_pointer(timeline, framed, qtbot, lane) -> None:
    timeline.set_clip(framed[2]())
    x = 377
    expected_raw = (x + timeline.horizontalScrollBar().value() - PAD) / timeline.pixels_per_second()
    expected = frame_time(frame_index(expected_raw, NTSC), NTSC)
    with qtbot.waitSignal(timeline.playheadMoved, timeout=1000) as blocker:
        qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, lane_y(timeline, lane)))
    assert blocker.args[0] == pytest.approx(expected, abs=1e-9)
    assert timeline.playhead() == pytest.approx(expected, abs=1e-9)


def test_click_after_zoom_and_scroll_accounts_for_the_offset(timeline, framed, qtbot) -> None:
    timeline.set_clip(framed[2]())
    timeline.set_playhead(4.0)
    timeline.zoom_in(5.0)
    scroll = timeline.horizontalScrollBar().value()
    assert scroll > 0
    x = 250
    raw = (x + scroll - PAD) / timeline.pixels_per_second()
    with qtbot.waitSignal(timeline.playheadMoved, timeout=1000) as blocker:
        qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, lane_y(timeline, "ruler")))
    assert blocker.args[0] == pytest.approx(frame_time(frame_index(raw, NTSC), NTSC), abs=1e-9)


def test_dragging_on_the_ruler_scrubs_and_arrows_step_frames(timeline, framed, qtbot) -> None:
    timeline.set_clip(framed[2]())
    moves: list[float] = []
    timeline.playheadMoved.connect(moves.append)
    y = lane_y(timeline, "ruler")
    qtbot.mousePress(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(100, y))
    for x in (200, 300, 400):
        qtbot.mouseMove(timeline.viewport(), pos=QPoint(x, y))
    qtbot.mouseRelease(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(400, y))
    assert len(moves) == 4 and moves == sorted(moves)
    n = frame_index(moves[-1], NTSC)
    qtbot.keyClick(timeline, Qt.Key.Key_Right)
    assert timeline.playhead() == pytest.approx(frame_time(n + 1, NTSC))
    qtbot.keyClick(timeline, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert timeline.playhead() == pytest.approx(frame_time(n - 9, NTSC))


def test_set_playhead_does_not_emit(timeline, framed) -> None:
    timeline.set_clip(framed[2]())
    moves: list[float] = []
    timeline.playheadMoved.connect(moves.append)
    timeline.set_playhead(2.0)
    assert moves == [] and timeline.playhead() == 2.0


# -- keyframes -----------------------------------------------------------------------------------


def drag(qtbot, widget, start: QPoint, end: QPoint, steps: int = 6) -> None:
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, steps + 1):
        qtbot.mouseMove(widget, pos=start + (end - start) * i / steps)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=end)


def test_dragging_a_diamond_emits_one_move_snapped_to_the_playhead(timeline, framed, qtbot) -> None:
    library, wc, doc = framed
    timeline.set_clip(doc())
    kf1 = doc()["edit"]["crop_keyframes"][0]
    assert kf1["time"] == 1.0
    timeline.set_playhead(2.2)
    got = collect(timeline)
    selected: list[str] = []
    timeline.keyframeSelected.connect(selected.append)
    y = lane_y(timeline, "keys")
    # Drop a few pixels beside the playhead: it snaps (within SNAP_PX).
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 1.0), y), QPoint(vx(timeline, 2.2) + int(SNAP_PX) - 3, y))
    assert selected == [kf1["uid"]]
    assert len(got) == 1
    g = got[0]
    assert g.kind is GestureKind.MOVE_CROP_KEYFRAME and g.entity_uid == wc
    assert g.payload == {"keyframe": kf1["uid"], "time": 2.2}
    library.apply(g)
    assert [k["time"] for k in doc()["edit"]["crop_keyframes"]] == [2.2, 4.0]


def test_dragging_a_diamond_away_from_targets_lands_on_a_frame(timeline, framed, qtbot) -> None:
    library, _wc, doc = framed
    timeline.set_clip(doc())
    timeline.set_playhead(0.0)
    got = collect(timeline)
    y = lane_y(timeline, "keys")
    target_x = vx(timeline, 1.9) + 0.37
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 4.0), y), QPoint(round(target_x), y))
    assert len(got) == 1 and got[0].kind is GestureKind.MOVE_CROP_KEYFRAME
    t = got[0].payload["time"]
    assert t == pytest.approx(snap_to_frame(t, NTSC), abs=1e-6)  # on a frame start
    assert abs(t - timeline.time_at_viewport_x(round(target_x))) <= 0.5 / float(NTSC) + 1e-6
    library.apply(got[0])


def test_snapping_to_a_split_and_a_click_without_drag_emits_nothing(timeline, framed, qtbot) -> None:
    _library, _wc, doc = framed
    timeline.set_clip(doc())
    got = collect(timeline)
    y = lane_y(timeline, "keys")
    qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(vx(timeline, 4.0), y))
    assert got == []
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 4.0), y), QPoint(vx(timeline, 3.0) + 4, y))
    assert [g.payload["time"] for g in got] == [3.0]  # the split


def test_delete_key_deletes_the_selected_keyframe(timeline, framed, qtbot) -> None:
    library, wc, doc = framed
    timeline.set_clip(doc())
    kf2 = doc()["edit"]["crop_keyframes"][1]
    with qtbot.waitSignal(timeline.keyframeSelected, timeout=1000) as blocker:
        qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(vx(timeline, 4.0), lane_y(timeline, "keys")))
    assert blocker.args == [kf2["uid"]]
    got = collect(timeline)
    qtbot.keyClick(timeline, Qt.Key.Key_Delete)
    assert len(got) == 1
    assert got[0].kind is GestureKind.DELETE_CROP_KEYFRAME and got[0].entity_uid == wc
    assert got[0].payload == {"keyframe": kf2["uid"]}
    qtbot.keyClick(timeline, Qt.Key.Key_Delete)  # nothing selected any more
    assert len(got) == 1
    library.apply(got[0])
    assert [k["uid"] for k in doc()["edit"]["crop_keyframes"]] != [] and kf2["uid"] not in {
        k["uid"] for k in doc()["edit"]["crop_keyframes"]}


# -- regions -------------------------------------------------------------------------------------


def test_dragging_a_region_bar_emits_one_update_region(timeline, framed, qtbot) -> None:
    library, _wc, doc = framed
    timeline.set_clip(doc())
    region = doc()["edit"]["regions"][0]
    got = collect(timeline)
    y = lane_y(timeline, "regions")
    pps = timeline.pixels_per_second()
    # Move the whole bar right by ~0.5 s (no target within reach: lands on frames).
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 3.0), y), QPoint(vx(timeline, 3.0) + round(0.5 * pps), y))
    assert len(got) == 1 and got[0].kind is GestureKind.UPDATE_REGION
    p = got[0].payload
    assert p["region"] == region["uid"]
    assert p["end"] - p["start"] == pytest.approx(region["end"] - region["start"], abs=1e-6)
    assert p["start"] == pytest.approx(region["start"] + 0.5, abs=2.0 / pps + 1e-3)
    library.apply(got[0])
    # Drag its end edge onto the trim end (5.5 s): snaps exactly.
    timeline.set_clip(doc())
    got.clear()
    end_x = vx(timeline, doc()["edit"]["regions"][0]["end"])
    drag(qtbot, timeline.viewport(), QPoint(end_x, y), QPoint(vx(timeline, 5.5) - 3, y))
    assert len(got) == 1 and got[0].payload["end"] == 5.5
    library.apply(got[0])
    assert doc()["edit"]["regions"][0]["end"] == 5.5


# -- drawing -------------------------------------------------------------------------------------


def test_clip_marks_are_drawn_where_they_belong(timeline, framed) -> None:
    _library, _wc, doc = framed
    timeline.set_clip(doc())
    image = render(timeline)
    keys_y = lane_y(timeline, "keys")
    assert QColor(image.pixel(vx(timeline, 1.0), keys_y)) == theme.KEYFRAME
    split = QColor(image.pixel(vx(timeline, 3.0), lane_y(timeline, "keys") - 2))
    assert split == theme.SPLIT
    # Trimmed time is veiled: darker than kept time on the same lane.
    wave_y = lane_y(timeline, "wave") - 15
    trimmed = QColor(image.pixel(vx(timeline, 0.2), wave_y)).lightness()
    kept = QColor(image.pixel(vx(timeline, 2.0), wave_y)).lightness()
    assert trimmed < kept
    assert format_speed(0.5) == "0.5×" and format_speed(2.0) == "2×"


def test_waveform_and_thumbnails_paint(timeline, framed, qtbot, tmp_path: Path) -> None:
    _library, _wc, doc = framed
    timeline.set_clip(doc())
    peaks = np.zeros(60 * 50, np.float32)
    peaks[12 * 50:13 * 50] = 1.0  # a loud second at media 12 s = clip 2 s (the clip starts at 10 s)
    timeline.set_peaks(peaks, 50, media_start=10.0)
    paths = []
    for i, color in enumerate(("#FF0000", "#00FF00", "#0000FF")):
        img = QImage(160, 90, QImage.Format.Format_RGB32)
        img.fill(QColor(color))
        path = tmp_path / f"{i:05d}.jpg"
        assert img.save(str(path))
        paths.append((10.0 + 2.0 * i, path))
    timeline.set_thumbnails(paths, media_start=10.0)
    qtbot.waitUntil(lambda: all(img is not None for img in timeline._thumbs.images), timeout=3000)
    image = render(timeline)
    wave_y = lane_y(timeline, "wave")
    loud = QColor(image.pixel(vx(timeline, 2.5), wave_y - 12))
    quiet = QColor(image.pixel(vx(timeline, 1.5), wave_y - 12))
    assert loud == theme.WAVEFORM and quiet != theme.WAVEFORM
    thumb_y = lane_y(timeline, "thumbs")
    # Filmstrip slots show their nearest thumbnail (sampled inside the kept, unveiled range).
    first = QColor(image.pixel(vx(timeline, 0.8), thumb_y))
    last = QColor(image.pixel(vx(timeline, 5.0), thumb_y))
    assert first.red() > 200 and first.green() < 80
    assert last.blue() > 200 and last.red() < 80


def test_timecodes_use_the_real_frame_rate() -> None:
    assert format_timecode(0.0, NTSC) == "00:00:00:00"
    assert format_timecode(frame_time(29, NTSC), NTSC) == "00:00:00:29"
    assert format_timecode(frame_time(30, NTSC), NTSC) == "00:00:01:00"
    assert format_timecode(61.48, Fraction(25)) == "00:01:01:12"
    assert format_timecode(3600.0 + 62.0, Fraction(50)) == "01:01:02:00"
    # 29.97 does not drift: after an hour of frames the seconds are still real seconds.
    assert format_timecode(frame_time(107_893, NTSC), NTSC).startswith("01:00:00")


# -- media mode ----------------------------------------------------------------------------------


def marked_clips(n: int = 300, duration: float = 7200.0, seed: int = 7) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        start = rnd.uniform(0.0, duration - 60.0)
        out.append({"uid": f"clip-{i:03d}", "start": start, "end": start + rnd.uniform(4.0, 45.0),
                    "rating": rnd.randint(0, 5), "name": f"Play {i}"})
    return out


def test_two_hours_with_300_clips_render_and_select(timeline, qtbot) -> None:
    clips = marked_clips()
    timeline.set_media(7200.0, NTSC, clips)
    assert timeline.mode is TimelineMode.MEDIA
    assert timeline.visible_range() == pytest.approx((0.0, 7200.0), abs=1e-6)
    render(timeline)
    target = max(clips, key=lambda c: c["end"] - c["start"])
    timeline.zoom_in(200.0, anchor_x=timeline.viewport_x_for_time(target["start"]))
    image = render(timeline)
    t0, t1 = timeline.visible_range()
    assert t1 - t0 < 120.0
    x = vx(timeline, (target["start"] + target["end"]) / 2)
    lane_rect = timeline._media_clip_rect(next(c for c in timeline._clips if c.uid == target["uid"]))
    y = round(lane_rect.center().y())
    colour = QColor(image.pixel(x, y))
    expected = theme.rating_color(target["rating"])
    assert abs(colour.hue() - expected.hue()) <= 12 or expected.saturation() < 40
    with qtbot.waitSignal(timeline.clipSelected, timeout=1000) as blocker:
        qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert blocker.args == [target["uid"]]
    # Scrolling across the whole game repaints without error.
    bar = timeline.horizontalScrollBar()
    for value in range(bar.minimum(), bar.maximum(), max(1, (bar.maximum() - bar.minimum()) // 12)):
        bar.setValue(value)
        render(timeline)


def test_media_mode_gestures_never_emit(timeline, qtbot) -> None:
    timeline.set_media(600.0, 25.0, marked_clips(20, 600.0))
    got = collect(timeline)
    qtbot.keyClick(timeline, Qt.Key.Key_Delete)
    qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, lane_y(timeline, "ruler")))
    assert got == []
    assert timeline.fps == Fraction(25)


# -- trim edges ----------------------------------------------------------------------------------


@pytest.mark.parametrize("lane", ["thumbs", "wave"])
def test_dragging_a_trim_edge_emits_one_set_trim_on_release(timeline, framed, qtbot, lane) -> None:
    library, wc, doc = framed
    timeline.set_clip(doc())  # trimmed to 0.5 .. 5.5
    got = collect(timeline)
    moves: list[float] = []
    timeline.playheadMoved.connect(moves.append)
    y = lane_y(timeline, lane)
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 5.5), y), QPoint(vx(timeline, 4.2), y))
    assert [g.kind for g in got] == [GestureKind.SET_TRIM]
    assert got[0].payload["start"] == pytest.approx(0.5)
    assert got[0].payload["end"] == pytest.approx(snap_to_frame(4.2, NTSC), abs=0.5 / timeline.pixels_per_second())
    assert moves == []  # grabbing an edge is not a scrub
    library.apply(got[0])
    timeline.set_clip(doc())
    # the start edge of an untrimmed clip is the clip's start: drag it in
    library.apply(Gesture(GestureKind.CLEAR_TRIM, wc, {}))
    timeline.set_clip(doc())
    got.clear()
    drag(qtbot, timeline.viewport(), QPoint(vx(timeline, 0.0), y), QPoint(vx(timeline, 1.0), y))
    assert [g.kind for g in got] == [GestureKind.SET_TRIM]
    assert got[0].payload["start"] == pytest.approx(1.0, abs=1.0 / timeline.pixels_per_second())
    assert got[0].payload["end"] == pytest.approx(doc()["source"]["duration"])
    library.apply(got[0])
    assert doc()["edit"]["trim"]["start"] == pytest.approx(got[0].payload["start"])


def test_the_lost_track_marker_is_drawn_on_its_own_clip_only(timeline, framed) -> None:
    """Where tracking lost the player: a red line across the lanes at that clip time, on the
    clip that was tracked and on no other."""
    _library, wc, doc = framed
    timeline.set_clip(doc())
    y = lane_y(timeline, "regions")
    before = QColor(render(timeline).pixel(vx(timeline, 3.7), y))
    timeline.set_lost_marker(wc, 3.7)
    assert QColor(render(timeline).pixel(vx(timeline, 3.7), y)) == theme.ERROR != before
    timeline.set_lost_marker("01a00000-0000-7000-8000-000000000000", 3.7)  # another clip's
    assert QColor(render(timeline).pixel(vx(timeline, 3.7), y)) == before
    timeline.set_lost_marker(wc, None)
    assert QColor(render(timeline).pixel(vx(timeline, 3.7), y)) == before
