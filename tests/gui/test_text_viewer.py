"""Text overlays on the viewer: drawn in the crop box (output space) where and when the export
draws them, and moved by a drag that stores one update_text_element gesture."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture
from desktop.ui.timeline import TimelineView
from desktop.ui.viewer import VideoViewer, ViewerMode
from tests.gui.test_viewer import collect, drag, frame_image, pt, widget_rect


def grabbed(v: VideoViewer) -> np.ndarray:
    image = v.grab().toImage().convertToFormat(frame_image().Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


@pytest.fixture
def text_viewer(qtbot, framed):
    library, wc, doc = framed
    region = library.apply(Gesture(GestureKind.ADD_TEXT_REGION, wc, {"start": 1.0, "end": 4.0})).created["text_region"]
    element = library.apply(Gesture(GestureKind.ADD_TEXT_ELEMENT, wc, {
        "text_region": region, "text": "GOAL", "size": 0.1, "color": "#FF00FF", "preset": "middle-center"})).created
    v = VideoViewer()
    qtbot.addWidget(v)
    v.resize(900, 540)
    v.show()
    qtbot.waitExposed(v)
    v.set_clip(doc(), AspectRatio.PORTRAIT)
    v.set_frame(frame_image())
    v.mode = ViewerMode.SPOTLIGHT
    return v, library, wc, doc, region, element["text_element"]


def magenta(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 200) & (rgb[..., 1] < 80) & (rgb[..., 2] > 200)


def test_text_shows_inside_the_crop_box_only_over_its_region(text_viewer) -> None:
    v, *_ = text_viewer
    v.set_time(0.5)
    assert magenta(grabbed(v)).sum() == 0  # before the region
    v.set_time(2.0)
    ys, xs = np.nonzero(magenta(grabbed(v)))
    tl, br = widget_rect(v)
    assert len(xs) > 100
    assert tl.x() <= xs.min() and xs.max() <= br.x() and tl.y() <= ys.min() and ys.max() <= br.y()
    # Centred in the crop box (middle-center preset).
    assert xs.mean() == pytest.approx((tl.x() + br.x()) / 2, abs=6)
    assert ys.mean() == pytest.approx((tl.y() + br.y()) / 2, abs=8)
    v.set_time(4.0)
    assert magenta(grabbed(v)).sum() == 0  # the end is excluded


def test_dragging_text_moves_it_as_one_gesture(text_viewer, qtbot) -> None:
    v, library, wc, doc, region, element = text_viewer
    v.set_time(2.0)
    got = collect(v)
    tl, br = widget_rect(v)
    centre = (tl + br) / 2
    drag(qtbot, v, pt(centre), pt(centre) + QPoint(20, -40))
    assert len(got) == 1
    g = got[0]
    assert g.kind is GestureKind.UPDATE_TEXT_ELEMENT and g.entity_uid == wc
    assert (g.payload["text_region"], g.payload["text_element"]) == (region, element)
    w, h = br.x() - tl.x(), br.y() - tl.y()
    assert g.payload["x"] == pytest.approx(0.5 + 20 / w, abs=0.01)
    assert g.payload["y"] == pytest.approx(0.5 - 40 / h, abs=0.01)
    library.apply(g)
    v.set_clip(doc(), AspectRatio.PORTRAIT)
    ys, _xs = np.nonzero(magenta(grabbed(v)))
    assert ys.mean() == pytest.approx((tl.y() + br.y()) / 2 - 40, abs=8)  # drawn where it was dropped
    assert len(doc()["edit"]["regions"][0]["keyframes"]) == 1  # the spotlight under it was not dragged


def test_the_timeline_has_a_text_lane_with_the_region(text_viewer, qtbot) -> None:
    from desktop.ui import theme
    from tests.gui.test_timeline import lane_y, render, vx

    _v, _library, _wc, doc, _region, _element = text_viewer
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    view.set_clip(doc())
    assert view.lane_rect("text") is not None
    image = render(view)
    y = lane_y(view, "text")
    accent = theme.ACCENT

    def is_accent(x: int) -> bool:  # some row of the bar at x (its label is drawn over the middle)
        colours = [image.pixelColor(x, y + dy) for dy in range(-6, 7)]
        return any(abs(c.red() - accent.red()) < 60 and abs(c.green() - accent.green()) < 60 and c.blue() < 120
                   for c in colours)

    inside = [is_accent(vx(view, t)) for t in (1.2, 2.0, 3.8)]
    outside = [is_accent(vx(view, t)) for t in (0.5, 4.5)]
    assert all(inside) and not any(outside)
