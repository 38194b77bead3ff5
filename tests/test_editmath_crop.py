"""core.editmath.crop: default framing, clamping, refit, snapping and crop_at."""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import pytest

from core.editmath.crop import (
    Box,
    clamp_box,
    crop_at,
    default_crop,
    find_snap_keyframe,
    refit_crop,
)
from core.enums import AspectRatio

P, L, S, F = AspectRatio.PORTRAIT, AspectRatio.LANDSCAPE, AspectRatio.SQUARE, AspectRatio.FOUR_FIVE
NTSC = Fraction(30000, 1001)


def tup(b: Box) -> tuple[float, float, float, float]:
    return (b.x, b.y, b.width, b.height)


# --- Box ------------------------------------------------------------------------------------


def test_box_center_and_dict() -> None:
    b = Box(10.0, 20.0, 100.0, 50.0)
    assert b.center == (60.0, 45.0)  # (10+100/2, 20+50/2)
    assert b.as_dict() == {"x": 10.0, "y": 20.0, "width": 100.0, "height": 50.0}


def test_box_is_frozen() -> None:
    with pytest.raises(AttributeError):
        Box(0, 0, 1, 1).x = 5  # type: ignore[misc]


# --- default_crop ---------------------------------------------------------------------------


def test_default_portrait_in_landscape_frame() -> None:
    # w = 1080·9/16 = 607.5 ; x = (1920-607.5)/2 = 656.25
    assert default_crop(1920, 1080, P) == Box(656.25, 0.0, 607.5, 1080.0)


def test_default_landscape_in_landscape_frame_is_full() -> None:
    assert default_crop(1920, 1080, L) == Box(0.0, 0.0, 1920.0, 1080.0)  # same ratio


def test_default_square() -> None:
    # 1080×1080 ; x = (1920-1080)/2 = 420
    assert default_crop(1920, 1080, S) == Box(420.0, 0.0, 1080.0, 1080.0)


def test_default_four_five() -> None:
    # w = 1080·4/5 = 864 ; x = (1920-864)/2 = 528
    assert default_crop(1920, 1080, F) == Box(528.0, 0.0, 864.0, 1080.0)


def test_default_landscape_in_portrait_frame() -> None:
    # full width 1080 ; h = 1080·9/16 = 607.5 ; y = (1920-607.5)/2 = 656.25
    assert default_crop(1080, 1920, L) == Box(0.0, 656.25, 1080.0, 607.5)


def test_default_square_in_4k_dci() -> None:
    # 4096×2160 -> 2160×2160 at x = (4096-2160)/2 = 968
    assert default_crop(4096, 2160, S) == Box(968.0, 0.0, 2160.0, 2160.0)


# --- clamp_box ------------------------------------------------------------------------------


def test_clamp_inside_unchanged() -> None:
    b = Box(100.0, 0.0, 607.5, 1080.0)
    assert clamp_box(b, 1920, 1080) == b


def test_clamp_shift_left() -> None:
    # x max = 1920-607.5 = 1312.5
    assert clamp_box(Box(1800.0, 0.0, 607.5, 1080.0), 1920, 1080) == Box(1312.5, 0.0, 607.5, 1080.0)


def test_clamp_shift_negative_into_frame() -> None:
    assert clamp_box(Box(-100.0, -50.0, 400.0, 300.0), 1920, 1080) == Box(0.0, 0.0, 400.0, 300.0)


def test_clamp_shrinks_oversized_keeping_aspect() -> None:
    # 2400×1350 centred (1200,675): scale min(1920/2400, 1080/1350) = 0.8 -> 1920×1080,
    # x = 1200-960 = 240 -> shifted to 0 ; y = 675-540 = 135 -> shifted to 0
    assert clamp_box(Box(0.0, 0.0, 2400.0, 1350.0), 1920, 1080) == Box(0.0, 0.0, 1920.0, 1080.0)


def test_clamp_shrinks_tall_box() -> None:
    # 1000×2000 centred (600,1100): scale 1080/2000 = 0.54 -> 540×1080 ;
    # x = 600-270 = 330 ; y = 1100-540 = 560 -> shifted to 0
    assert clamp_box(Box(100.0, 100.0, 1000.0, 2000.0), 1920, 1080) == Box(330.0, 0.0, 540.0, 1080.0)


# --- refit_crop -----------------------------------------------------------------------------


def test_refit_default_maps_to_default() -> None:
    # zoom = 1080/1080 = 1 -> the 16:9 default, centred at 960 -> the full frame
    assert refit_crop(default_crop(1920, 1080, P), L, 1920, 1080) == default_crop(1920, 1080, L)


def test_refit_keeps_centre_and_zoom() -> None:
    # 303.75×540 at (800,300): centre (951.875, 570), zoom = 540/1080 = 0.5 ;
    # 16:9 default 1920×1080 ×0.5 = 960×540 -> x = 951.875-480 = 471.875, y = 570-270 = 300
    box = Box(800.0, 300.0, 303.75, 540.0)
    assert tup(refit_crop(box, L, 1920, 1080)) == pytest.approx((471.875, 300.0, 960.0, 540.0))


def test_refit_round_trip_without_clamping() -> None:
    box = Box(800.0, 300.0, 303.75, 540.0)
    there = refit_crop(box, L, 1920, 1080)
    # back: zoom = 540/1080 = 0.5 -> 607.5·0.5 = 303.75 × 540, x = 951.875-151.875 = 800
    assert tup(refit_crop(there, P, 1920, 1080)) == pytest.approx(tup(box))


@pytest.mark.parametrize("zoom", [0.25, 0.4, 0.5, 0.61])
@pytest.mark.parametrize("cx", [700.0, 960.0, 1100.0])
def test_refit_round_trip_many(zoom: float, cx: float) -> None:
    # 16:9 box at zoom z is 1920z × 1080z; for z <= 0.61 and these centres it fits (no clamping).
    w, h = 607.5 * zoom, 1080.0 * zoom
    box = Box(cx - w / 2, 540.0 - h / 2, w, h)
    back = refit_crop(refit_crop(box, L, 1920, 1080), P, 1920, 1080)
    assert tup(back) == pytest.approx(tup(box))


def test_refit_to_square() -> None:
    # 9:16 default zoom 1 -> 1:1 default 1080×1080 centred at 960 -> x = 420
    assert refit_crop(default_crop(1920, 1080, P), S, 1920, 1080) == Box(420.0, 0.0, 1080.0, 1080.0)


def test_refit_clamps_when_needed() -> None:
    # 9:16 zoom 1 at the left edge, centre (303.75, 540) -> 1920×1080 at x = -656.25 -> clamped 0
    got = refit_crop(Box(0.0, 0.0, 607.5, 1080.0), L, 1920, 1080)
    assert got == Box(0.0, 0.0, 1920.0, 1080.0)


def test_refit_in_portrait_frame() -> None:
    # Frame 1080×1920: 16:9 default 1080×607.5; a half-zoom 540×303.75 centred (540,960)
    # -> 9:16 default is 1080×1920, ×0.5 = 540×960 -> x = 540-270 = 270, y = 960-480 = 480
    box = Box(270.0, 808.125, 540.0, 303.75)
    assert tup(refit_crop(box, P, 1080, 1920)) == pytest.approx((270.0, 480.0, 540.0, 960.0))


def test_refit_degenerate_box_gives_default() -> None:
    assert refit_crop(Box(5, 5, 0, 0), P, 1920, 1080) == default_crop(1920, 1080, P)


# --- find_snap_keyframe ---------------------------------------------------------------------


def test_snap_empty() -> None:
    assert find_snap_keyframe([], 1.0, NTSC) is None


def test_snap_within_ten_frames_at_ntsc() -> None:
    # limit = 10·1001/30000 = 0.33367 s ; |1.3336 - 1.0| = 0.3336 <= 0.33367
    assert find_snap_keyframe([("a", 1.0), ("b", 2.0)], 1.3336, NTSC) == "a"


def test_snap_just_outside_ten_frames_at_ntsc() -> None:
    # |1.3338 - 1.0| = 0.3338 > 0.33367 ; |2.0 - 1.3338| = 0.6662 > 0.33367
    assert find_snap_keyframe([("a", 1.0), ("b", 2.0)], 1.3338, NTSC) is None


def test_snap_exactly_ten_frames() -> None:
    t = 1.0 + 10 * 1001 / 30000  # exactly on the limit -> included
    assert find_snap_keyframe([("a", 1.0)], t, NTSC) == "a"


def test_snap_before_keyframe() -> None:
    # |0.8 - 1.0| = 0.2 <= 0.33367
    assert find_snap_keyframe([("a", 1.0)], 0.8, NTSC) == "a"


def test_snap_nearest_wins() -> None:
    # |1.2-1.0| = 0.2 vs |1.25-1.2| = 0.05 -> b
    assert find_snap_keyframe([("a", 1.0), ("b", 1.25)], 1.2, NTSC) == "b"


def test_snap_tie_goes_to_earlier() -> None:
    # |1.1-1.0| = |1.2-1.1| = 0.1 (up to float error) -> earlier a; order given reversed
    assert find_snap_keyframe([("b", 1.2), ("a", 1.0)], 1.1, Fraction(30)) == "a"


def test_snap_same_time_later_in_sequence() -> None:
    assert find_snap_keyframe([("a", 1.0), ("b", 1.0)], 1.05, Fraction(30)) == "b"


def test_snap_frames_parameter() -> None:
    # 1 frame at 25 fps = 0.04 s: |1.04-1.0| = 0.04 in ; |1.05-1.0| = 0.05 out
    assert find_snap_keyframe([("a", 1.0)], 1.04, Fraction(25), frames=1) == "a"
    assert find_snap_keyframe([("a", 1.0)], 1.05, Fraction(25), frames=1) is None


# --- crop_at --------------------------------------------------------------------------------


def ck(t: float, b: Box) -> tuple[float, Mapping[str, float]]:
    return (t, b.as_dict())


LEFT = Box(0.0, 0.0, 607.5, 1080.0)
RIGHT = Box(1312.5, 0.0, 607.5, 1080.0)


def test_crop_at_no_keyframes_is_default() -> None:
    assert crop_at([], 3.0, 1920, 1080, P) == Box(656.25, 0.0, 607.5, 1080.0)


def test_crop_at_two_keyframes_midpoint() -> None:
    # Two keys with phantom ends at u=.5 give (p1+p2)/2: x = (0+1312.5)/2 = 656.25
    got = crop_at([ck(0.0, LEFT), ck(2.0, RIGHT)], 1.0, 1920, 1080, P)
    assert tup(got) == pytest.approx((656.25, 0.0, 607.5, 1080.0))


def test_crop_at_holds_before_and_after() -> None:
    keys = [ck(1.0, LEFT), ck(2.0, RIGHT)]
    assert crop_at(keys, 0.0, 1920, 1080, P) == LEFT
    assert crop_at(keys, 9.0, 1920, 1080, P) == RIGHT


def test_crop_at_clamps_keyframe_outside_frame() -> None:
    # x 1500 + 607.5 > 1920 -> x = 1920-607.5 = 1312.5
    assert crop_at([ck(0.0, Box(1500.0, 0.0, 607.5, 1080.0))], 0.0, 1920, 1080, P) == RIGHT


def test_crop_at_rotation_shrinks_default() -> None:
    # Safe rect at 20° (see rotation tests): 1578.8544×574.6560 at (170.5728, 252.6720).
    # 607.5×1080 scaled by 574.6560/1080 = 0.5320889 -> 323.2440×574.6560 centred (960,540):
    # x = 960-161.6220 = 798.3780 ; y = 540-287.3280 = 252.6720
    got = crop_at([], 0.0, 1920, 1080, P, rotation_deg=20.0)
    assert tup(got) == pytest.approx((798.3780, 252.6720, 323.2440, 574.6560), rel=1e-6)
