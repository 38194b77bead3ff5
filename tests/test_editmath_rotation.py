"""core.editmath.rotation: safe rects from the closed form, trig values written out.

sin20=0.3420201 cos20=0.9396926 sin40=0.6427876 ; sin5=0.0871557 cos5=0.9961947
cos10=0.9848078 sin10=0.1736482 ; sin45=cos45=0.7071068
"""
from __future__ import annotations

import math

import pytest

from core.editmath.box import Box
from core.editmath.crop import clamp_box
from core.editmath.rotation import MAX_ROTATION_DEG, clamp_rotation, clamp_to_safe, safe_rect

REL = 1e-6


def approx_box(b: Box, x: float, y: float, w: float, h: float, rel: float = REL) -> None:
    assert (b.x, b.y, b.width, b.height) == pytest.approx((x, y, w, h), rel=rel, abs=1e-6)


def test_max_rotation() -> None:
    assert MAX_ROTATION_DEG == 20.0


@pytest.mark.parametrize(("deg", "want"), [(0.0, 0.0), (12.5, 12.5), (25.0, 20.0), (-90.0, -20.0)])
def test_clamp_rotation(deg: float, want: float) -> None:
    assert clamp_rotation(deg) == want


def test_zero_degrees_is_full_frame() -> None:
    assert safe_rect(1920, 1080, 0.0) == Box(0.0, 0.0, 1920, 1080)


def test_square_at_45_degrees() -> None:
    # Half-constrained: side 1000 -> 500/sin45 = 1000/√2 = 707.10678 ;
    # x = y = (1000 - 707.10678)/2 = 146.44661
    approx_box(safe_rect(1000, 1000, 45.0), 146.44661, 146.44661, 707.10678, 707.10678)


def test_square_at_minus_45_degrees_is_symmetric() -> None:
    approx_box(safe_rect(1000, 1000, -45.0), 146.44661, 146.44661, 707.10678, 707.10678)


def test_landscape_at_20_degrees_half_constrained() -> None:
    # 2·sin20·cos20·1920 = sin40·1920 = 1234.15 >= 1080 -> half constrained, x = 1080/2 = 540:
    # w = 540/sin20 = 540/0.3420201 = 1578.8544 ; h = 540/cos20 = 540/0.9396926 = 574.6560
    # x = (1920-1578.8544)/2 = 170.5728 ; y = (1080-574.6560)/2 = 252.6720
    approx_box(safe_rect(1920, 1080, 20.0), 170.5728, 252.6720, 1578.8544, 574.6560)


def test_portrait_at_20_degrees_swaps_axes() -> None:
    # Height is the long side: w = 540/cos20 = 574.6560 ; h = 540/sin20 = 1578.8544
    approx_box(safe_rect(1080, 1920, 20.0), 252.6720, 170.5728, 574.6560, 1578.8544)


def test_landscape_at_5_degrees_fully_constrained() -> None:
    # sin10·1920 = 333.40 < 1080 -> fully constrained, cos2a = cos10 = 0.9848078:
    # w = (1920·cos5 - 1080·sin5)/cos10 = (1912.6938 - 94.1282)/0.9848078 = 1846.6199
    # h = (1080·cos5 - 1920·sin5)/cos10 = (1075.8903 - 167.3390)/0.9848078 = 922.5671
    # x = (1920-1846.6199)/2 = 36.6900 ; y = (1080-922.5671)/2 = 78.7164
    approx_box(safe_rect(1920, 1080, 5.0), 36.6900, 78.7164, 1846.6199, 922.5671, rel=1e-5)


def test_negative_angle_same_as_positive() -> None:
    assert safe_rect(1920, 1080, -7.0) == safe_rect(1920, 1080, 7.0)


def _inside_rotated_frame(px: float, py: float, fw: float, fh: float, deg: float) -> bool:
    # Un-rotate the point about the frame centre; it must land inside the unrotated frame.
    a = math.radians(deg)
    dx, dy = px - fw / 2, py - fh / 2
    ux = dx * math.cos(a) + dy * math.sin(a)
    uy = -dx * math.sin(a) + dy * math.cos(a)
    return abs(ux) <= fw / 2 + 1e-6 and abs(uy) <= fh / 2 + 1e-6


@pytest.mark.parametrize("deg", [-20.0, -13.0, -1.0, 0.5, 3.0, 10.0, 17.0, 20.0])
@pytest.mark.parametrize(("fw", "fh"), [(1920, 1080), (1080, 1920), (1000, 1000), (3840, 1600)])
def test_safe_rect_corners_lie_in_rotated_frame(fw: float, fh: float, deg: float) -> None:
    r = safe_rect(fw, fh, deg)
    assert r.center == pytest.approx((fw / 2, fh / 2))
    for px in (r.x, r.x + r.width):
        for py in (r.y, r.y + r.height):
            assert _inside_rotated_frame(px, py, fw, fh, deg)


def test_clamp_to_safe_at_zero_equals_clamp_box() -> None:
    box = Box(1800.0, -20.0, 607.5, 1080.0)
    assert clamp_to_safe(box, 1920, 1080, 0.0) == clamp_box(box, 1920, 1080)


def test_clamp_to_safe_shrinks_around_centre() -> None:
    # 9:16 default in a 1000² frame: 562.5×1000 at (218.75,0), centre (500,500). Safe at 45°:
    # 707.10678² at 146.44661. Scale = min(707.10678/562.5, 707.10678/1000) = 0.70710678
    # -> 397.74756 × 707.10678 ; x = 500 - 198.87378 = 301.12622 ; y = 146.44661
    got = clamp_to_safe(Box(218.75, 0.0, 562.5, 1000.0), 1000, 1000, 45.0)
    approx_box(got, 301.12622, 146.44661, 397.74756, 707.10678)
    assert got.width / got.height == pytest.approx(562.5 / 1000)  # aspect kept


def test_clamp_to_safe_shifts_inside() -> None:
    # 100² in the corner already fits in the 707² safe rect -> only shifted to its corner.
    approx_box(clamp_to_safe(Box(0, 0, 100, 100), 1000, 1000, 45.0), 146.44661, 146.44661, 100, 100)


def test_clamp_to_safe_leaves_fitting_box_alone() -> None:
    box = Box(400.0, 300.0, 300.0, 400.0)
    assert clamp_to_safe(box, 1000, 1000, 45.0) == box
