"""core.editmath.timebase: expectations computed by hand from fps = num/den."""
from __future__ import annotations

from fractions import Fraction

import pytest

from core.editmath.timebase import frame_duration, frame_index, frame_time, snap_to_frame

NTSC = Fraction(30000, 1001)  # 29.97
FILM = Fraction(24000, 1001)  # 23.976


def test_frame_duration_ntsc() -> None:
    assert frame_duration(NTSC) == pytest.approx(1001 / 30000)  # 0.0333666...


def test_frame_duration_25() -> None:
    assert frame_duration(Fraction(25)) == pytest.approx(0.04)  # 1/25


def test_frame_time_ntsc() -> None:
    assert frame_time(30, NTSC) == pytest.approx(1.001)  # 30 * 1001/30000 = 1.001


def test_frame_time_zero() -> None:
    assert frame_time(0, NTSC) == 0.0


def test_frame_index_one_second_at_ntsc() -> None:
    assert frame_index(1.0, NTSC) == 29  # 1.0 * 30000/1001 = 29.97 -> floor 29


def test_frame_index_one_second_at_30() -> None:
    assert frame_index(1.0, Fraction(30)) == 30  # 1.0 * 30 = 30.0 exactly


def test_frame_index_just_before_boundary() -> None:
    assert frame_index(0.999, Fraction(30)) == 29  # 0.999 * 30 = 29.97 -> 29


def test_frame_index_zero() -> None:
    assert frame_index(0.0, NTSC) == 0


def test_frame_index_negative_time() -> None:
    assert frame_index(-0.01, Fraction(30)) == -1  # -0.3 -> floor -1


@pytest.mark.parametrize("fps", [NTSC, FILM, Fraction(60000, 1001), Fraction(25), Fraction(30)])
@pytest.mark.parametrize("i", [0, 1, 2, 3, 7, 29, 30, 1001, 30000, 107_892])  # 107892 = 1 h @29.97
def test_frame_index_of_frame_time_is_identity(fps: Fraction, i: int) -> None:
    # A time exactly on a frame boundary belongs to that frame despite float error.
    assert frame_index(frame_time(i, fps), fps) == i


def test_snap_rounds_up_to_next_frame() -> None:
    # 1.0 s * 29.97 = 29.97 frames -> nearest 30 -> 30 * 1001/30000 = 1.001
    assert snap_to_frame(1.0, NTSC) == pytest.approx(1.001)


def test_snap_rounds_down() -> None:
    # 0.016 * 30 = 0.48 frames -> 0 -> 0.0 s
    assert snap_to_frame(0.016, Fraction(30)) == 0.0


def test_snap_rounds_up_small() -> None:
    # 0.017 * 30 = 0.51 frames -> 1 -> 1/30 s
    assert snap_to_frame(0.017, Fraction(30)) == pytest.approx(1 / 30)


def test_snap_half_frame_rounds_up() -> None:
    # 0.02 * 25 = 0.5 frames -> halves round up -> frame 1 = 0.04 s
    assert snap_to_frame(0.02, Fraction(25)) == pytest.approx(0.04)


def test_snap_on_frame_is_stable() -> None:
    t = frame_time(123, FILM)  # 123 * 1001/24000 = 5.130125
    assert t == pytest.approx(5.130125)
    assert snap_to_frame(t, FILM) == pytest.approx(t)
