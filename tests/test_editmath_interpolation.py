"""core.editmath.interpolation: Catmull-Rom values worked out by hand from
0.5*(2p1 + (-p0+p2)u + (2p0-5p1+4p2-p3)u² + (-p0+3p1-3p2+p3)u³)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from core.editmath.interpolation import catmull_rom, interpolate

X = ("x",)


def kf(t: float, **values: float) -> tuple[float, Mapping[str, float]]:
    return (t, values)


# --- catmull_rom -------------------------------------------------------------------------


def test_catmull_rom_constant() -> None:
    assert catmull_rom(3, 3, 3, 3, 0.37) == pytest.approx(3.0)  # all coefficients but 2p1 vanish


def test_catmull_rom_reproduces_linear_data() -> None:
    # p=(0,1,2,3): 0.5*(2 + 2u + (0-5+8-3)u² + (0+3-6+3)u³) = 1 + u -> u=0.3 gives 1.3
    assert catmull_rom(0, 1, 2, 3, 0.3) == pytest.approx(1.3)


def test_catmull_rom_endpoints() -> None:
    # u=0 -> 0.5*2p1 = p1 ; u=1 -> 0.5*(0p0 + 0p1 + 2p2 + 0p3) = p2
    assert catmull_rom(7, 2, 9, 4, 0.0) == pytest.approx(2.0)
    assert catmull_rom(7, 2, 9, 4, 1.0) == pytest.approx(9.0)


def test_catmull_rom_step_half() -> None:
    # p=(0,0,1,1), u=.5: 0.5*(0 + 1*.5 + (0-0+4-1)*.25 + (0+0-3+1)*.125) = 0.5*(.5+.75-.25) = 0.5
    assert catmull_rom(0, 0, 1, 1, 0.5) == pytest.approx(0.5)


def test_catmull_rom_step_quarter() -> None:
    # p=(0,0,1,1), u=.25: 0.5*(.25 + 3*.0625 - 2*.015625) = 0.5*(.25+.1875-.03125) = 0.203125
    assert catmull_rom(0, 0, 1, 1, 0.25) == pytest.approx(0.203125)


# --- interpolate ------------------------------------------------------------------------


def test_no_keyframes_is_none() -> None:
    assert interpolate([], 1.0, X) is None


@pytest.mark.parametrize("t", [-5.0, 0.0, 2.0, 2.5, 99.0])
def test_single_keyframe_holds_everywhere(t: float) -> None:
    assert interpolate([kf(2.0, x=42.0)], t, X) == {"x": 42.0}


def test_holds_first_before_first_keyframe() -> None:
    assert interpolate([kf(1.0, x=5.0), kf(2.0, x=9.0)], 0.2, X) == {"x": 5.0}


def test_holds_last_after_last_keyframe() -> None:
    assert interpolate([kf(1.0, x=5.0), kf(2.0, x=9.0)], 7.0, X) == {"x": 9.0}


def test_exactly_on_keyframes() -> None:
    keys = [kf(0.0, x=0.0), kf(1.0, x=10.0), kf(2.0, x=3.0)]
    assert interpolate(keys, 0.0, X) == {"x": 0.0}
    assert interpolate(keys, 1.0, X) == {"x": pytest.approx(10.0)}  # u=0 -> p1
    assert interpolate(keys, 2.0, X) == {"x": 3.0}  # last -> held


def test_two_keyframes_midpoint_with_phantoms() -> None:
    # p0=p1=0, p2=p3=10, u=.5: 0.5*(0 + 10*.5 + (0-0+40-10)*.25 + (0+0-30+10)*.125)
    #                        = 0.5*(5 + 7.5 - 2.5) = 5.0
    keys = [kf(0.0, x=0.0), kf(1.0, x=10.0)]
    assert interpolate(keys, 0.5, X)["x"] == pytest.approx(5.0)  # type: ignore[index]


def test_two_keyframes_quarter_with_phantoms() -> None:
    # u=.25: 0.5*(10*.25 + 30*.0625 - 20*.015625) = 0.5*(2.5 + 1.875 - 0.3125) = 2.03125
    keys = [kf(0.0, x=0.0), kf(1.0, x=10.0)]
    assert interpolate(keys, 0.25, X)["x"] == pytest.approx(2.03125)  # type: ignore[index]


def test_inner_span_uses_real_neighbours() -> None:
    # x = 0,10,0,10 at t=0..3 ; t=1.25 -> span 1..2, u=.25, p=(0,10,0,10):
    # 0.5*(20 + (0-0)*.25 + (0-50+0-10)*.0625 + (0+30-0+10)*.015625) = 0.5*(20 - 3.75 + .625) = 8.4375
    keys = [kf(0.0, x=0.0), kf(1.0, x=10.0), kf(2.0, x=0.0), kf(3.0, x=10.0)]
    assert interpolate(keys, 1.25, X)["x"] == pytest.approx(8.4375)  # type: ignore[index]


def test_uneven_spacing_uses_local_u() -> None:
    # span 2..3 at t=2.5 -> u=(2.5-2)/(3-2)=.5 ; p=(0 [t=0], 0 [t=2], 10 [t=3], 10 [phantom]) -> 5.0
    keys = [kf(0.0, x=0.0), kf(2.0, x=0.0), kf(3.0, x=10.0)]
    assert interpolate(keys, 2.5, X)["x"] == pytest.approx(5.0)  # type: ignore[index]
    # span 0..2 at t=0.5 -> u=.25, p=(0,0,0,10): 0.5*(0 + 0 + (0-0+0-10)*.0625 + 10*.015625)
    #                                         = 0.5*(-.625 + .15625) = -0.234375 (overshoot)
    assert interpolate(keys, 0.5, X)["x"] == pytest.approx(-0.234375)  # type: ignore[index]


def test_each_property_on_its_own() -> None:
    keys = [kf(0.0, x=0.0, y=100.0), kf(1.0, x=10.0, y=100.0)]
    # x: as test_two_keyframes_midpoint -> 5.0 ; y constant -> 100.0
    assert interpolate(keys, 0.5, ("x", "y")) == {"x": pytest.approx(5.0), "y": pytest.approx(100.0)}


def test_only_requested_props_returned() -> None:
    keys = [kf(0.0, x=1.0, y=2.0)]
    assert interpolate(keys, 0.0, ("y",)) == {"y": 2.0}


def test_equal_times_later_wins_on_the_key() -> None:
    keys = [kf(0.0, x=0.0), kf(1.0, x=5.0), kf(1.0, x=10.0), kf(2.0, x=20.0)]
    assert interpolate(keys, 1.0, X) == {"x": pytest.approx(10.0)}


def test_equal_times_earlier_is_ignored_between() -> None:
    # Effective keys (0,0),(1,10),(2,20).
    keys = [kf(0.0, x=0.0), kf(1.0, x=5.0), kf(1.0, x=10.0), kf(2.0, x=20.0)]
    # t=.5: p=(0 phantom,0,10,20), u=.5: 0.5*(10*.5 + (0-0+40-20)*.25 + (0+0-30+20)*.125)
    #     = 0.5*(5 + 5 - 1.25) = 4.375
    assert interpolate(keys, 0.5, X)["x"] == pytest.approx(4.375)  # type: ignore[index]
    # t=1.5: p=(0,10,20,20 phantom): 0.5*(20 + 20*.5 + (0-50+80-20)*.25 + (0+30-60+20)*.125)
    #      = 0.5*(20 + 10 + 2.5 - 1.25) = 15.625
    assert interpolate(keys, 1.5, X)["x"] == pytest.approx(15.625)  # type: ignore[index]


def test_equal_times_on_far_neighbour() -> None:
    # p3 comes from the t=2 group, whose later value (20) wins: same as the test above, 4.375.
    keys = [kf(0.0, x=0.0), kf(1.0, x=10.0), kf(2.0, x=5.0), kf(2.0, x=20.0)]
    assert interpolate(keys, 0.5, X)["x"] == pytest.approx(4.375)  # type: ignore[index]


def test_equal_times_at_start_and_end() -> None:
    keys = [kf(0.0, x=1.0), kf(0.0, x=2.0), kf(1.0, x=3.0), kf(1.0, x=4.0)]
    assert interpolate(keys, -1.0, X) == {"x": 2.0}
    assert interpolate(keys, 5.0, X) == {"x": 4.0}
    # t=.5: effective (0,2),(1,4) with phantoms -> midpoint 3.0 (as the symmetric 0..10 case)
    assert interpolate(keys, 0.5, X)["x"] == pytest.approx(3.0)  # type: ignore[index]


class _CountingList(list):  # type: ignore[type-arg]
    """Counts element reads to prove the lookup is a bisection, not a scan."""

    reads = 0

    def __getitem__(self, i: Any) -> Any:
        type(self).reads += 1
        return super().__getitem__(i)


def test_lookup_is_logarithmic() -> None:
    n = 100_000
    keys = _CountingList(kf(float(i), x=float(i)) for i in range(n))
    _CountingList.reads = 0
    value = interpolate(keys, 54_321.5, X)
    # Linear data 54321, 54322 in the middle of a straight line -> exactly the midpoint.
    assert value == {"x": pytest.approx(54_321.5)}
    # Five bisections of ~17 reads each plus a handful of direct reads; a scan would be 1e5.
    assert _CountingList.reads < 120
