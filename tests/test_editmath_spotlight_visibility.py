"""Where a spotlight ring lies outside the crop (the export would show no ring there)."""
from __future__ import annotations

from fractions import Fraction

import pytest

from core.editmath.box import Box
from core.editmath.spotlight import rotate_point
from core.editmath.spotlight_visibility import ellipse_meets_box, hidden_spotlight_spans
from core.enums import AspectRatio

W, H = 640.0, 360.0  # 9:16 default crop: x 218.75 .. 421.25


def region(uid: str, start: float, end: float, *keys: tuple[float, float, float], enabled: bool = True) -> dict:
    return {"uid": uid, "start": start, "end": end, "enabled": enabled,
            "keyframes": [{"time": t, "x": x, "y": y, "rx": 20.0, "ry": 40.0} for t, x, y in keys]}


def edit(*regions: dict, rotation: float = 0.0) -> dict:
    return {"crop_keyframes": [], "rotation": rotation, "regions": list(regions)}


def test_a_ring_that_walks_out_of_the_crop_is_hidden_from_when_it_leaves() -> None:
    # x goes 320 -> 20 over 0..3 s (linear between two keys); the ring leaves when x + 20 < 218.75
    spans = hidden_spotlight_spans(edit(region("r", 0.0, 3.0, (0.0, 320.0, 180.0), (3.0, 20.0, 180.0))),
                                   W, H, Fraction(30), AspectRatio.PORTRAIT)
    assert [s.region for s in spans] == ["r"]
    assert spans[0].end == pytest.approx(3.0)
    # Catmull-Rom with repeated ends eases; the leaving time lies inside the walk, frame-aligned
    assert 1.0 < spans[0].start < 3.0
    assert spans[0].start * 30 == pytest.approx(round(spans[0].start * 30))


def test_inside_disabled_and_keyless_regions_are_fine() -> None:
    e = edit(region("in", 0.0, 2.0, (0.0, 320.0, 180.0)), region("off", 0.0, 2.0, (0.0, 10.0, 180.0), enabled=False),
             {"uid": "bare", "start": 0.0, "end": 1.0, "enabled": True, "keyframes": []})
    assert hidden_spotlight_spans(e, W, H, Fraction(30), AspectRatio.PORTRAIT) == []
    # the same ring far left is visible in a 16:9 crop (the whole frame)
    e = edit(region("left", 0.0, 1.0, (0.0, 30.0, 180.0)))
    assert hidden_spotlight_spans(e, W, H, Fraction(30), AspectRatio.LANDSCAPE) == []
    assert len(hidden_spotlight_spans(e, W, H, Fraction(30), AspectRatio.PORTRAIT)) == 1


def test_rotation_turns_the_centre_with_the_picture() -> None:
    assert rotate_point(320.0, 180.0, W, H, 15.0) == pytest.approx((320.0, 180.0))
    x, y = rotate_point(420.0, 180.0, W, H, 90.0)  # clockwise, y down: right of centre goes below
    assert (x, y) == pytest.approx((320.0, 280.0))
    assert ellipse_meets_box(0.0, 0.0, 10.0, 10.0, Box(5.0, 5.0, 10.0, 10.0))
    assert not ellipse_meets_box(0.0, 0.0, 10.0, 10.0, Box(8.0, 8.0, 10.0, 10.0))  # corner beyond the arc
