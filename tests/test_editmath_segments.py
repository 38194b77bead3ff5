"""core.editmath.segments: splits, speeds keyed by split uid, trim, source<->output time."""
from __future__ import annotations

import pytest

from core.editmath.segments import FIRST_SEGMENT, Segment, Timeline, segment_key_at


def spans(tl: Timeline) -> list[tuple[str, float, float, float, float]]:
    return [(s.key, s.src_start, s.src_end, s.speed, s.out_start) for s in tl.segments]


# --- segment_key_at -------------------------------------------------------------------------


def test_key_no_splits() -> None:
    assert segment_key_at([], 3.0) == FIRST_SEGMENT == "start"


@pytest.mark.parametrize(
    ("t", "key"), [(0.0, "start"), (3.9, "start"), (4.0, "a"), (6.9, "a"), (7.0, "b"), (99.0, "b")]
)
def test_key_at_times(t: float, key: str) -> None:
    assert segment_key_at([("b", 7.0), ("a", 4.0)], t) == key  # unsorted on purpose


def test_key_split_at_zero_ignored() -> None:
    assert segment_key_at([("z", 0.0)], 0.0) == "start"


def test_key_duplicate_split_time_later_wins() -> None:
    assert segment_key_at([("a", 4.0), ("b", 4.0)], 5.0) == "b"


# --- Segment --------------------------------------------------------------------------------


def test_segment_out_end() -> None:
    # 10 + (8-4)/0.5 = 18
    assert Segment("a", 4.0, 8.0, 0.5, 10.0).out_end == 18.0


# --- Timeline structure -----------------------------------------------------------------------


def test_no_splits_single_segment() -> None:
    tl = Timeline(10.0, [], {}, None)
    assert spans(tl) == [("start", 0.0, 10.0, 1.0, 0.0)]
    assert tl.output_duration == 10.0


def test_half_speed_doubles_length() -> None:
    # [0,4) @1 -> 4 ; [4,10) @0.5 -> 6/0.5 = 12 ; total 16
    tl = Timeline(10.0, [("a", 4.0)], {"a": 0.5}, None)
    assert spans(tl) == [("start", 0.0, 4.0, 1.0, 0.0), ("a", 4.0, 10.0, 0.5, 4.0)]
    assert tl.output_duration == 16.0


def test_whole_clip_half_speed() -> None:
    assert Timeline(10.0, [], {"start": 0.5}, None).output_duration == 20.0  # 10/0.5


def test_double_speed() -> None:
    # 4 + 6/2 = 7
    assert Timeline(10.0, [("a", 4.0)], {"a": 2.0}, None).output_duration == 7.0


def test_missing_speed_defaults_to_one() -> None:
    tl = Timeline(10.0, [("a", 4.0)], {"other": 3.0}, None)
    assert [s.speed for s in tl.segments] == [1.0, 1.0]


def test_splits_at_zero_and_duration_ignored() -> None:
    tl = Timeline(10.0, [("z", 0.0), ("e", 10.0), ("a", 4.0), ("neg", -1.0)], {}, None)
    assert [s.key for s in tl.segments] == ["start", "a"]


def test_unsorted_splits() -> None:
    tl = Timeline(10.0, [("b", 7.0), ("a", 4.0)], {}, None)
    assert [(s.key, s.src_start, s.src_end) for s in tl.segments] == [
        ("start", 0.0, 4.0), ("a", 4.0, 7.0), ("b", 7.0, 10.0)
    ]


def test_duplicate_split_times_keep_later() -> None:
    tl = Timeline(10.0, [("a", 4.0), ("b", 4.0)], {"a": 9.0, "b": 0.5}, None)
    # zero-length "a" dropped ; 4 + 6/0.5 = 16
    assert [s.key for s in tl.segments] == ["start", "b"]
    assert tl.output_duration == 16.0


def test_speed_stays_with_its_segment_when_split_added_elsewhere() -> None:
    before = Timeline(10.0, [("a", 4.0)], {"a": 2.0}, None)
    after = Timeline(10.0, [("a", 4.0), ("b", 2.0)], {"a": 2.0}, None)
    assert before.segment_at(5.0).speed == after.segment_at(5.0).speed == 2.0  # type: ignore[union-attr]
    # new segment [2,4) keyed "b" is at 1.0 ; total 2 + 2 + 6/2 = 7 both times
    assert after.segment_at(3.0).key == "b"  # type: ignore[union-attr]
    assert before.output_duration == after.output_duration == 7.0


def test_trim_through_segments() -> None:
    # trim (2,7) with split a@4 at 0.5: [2,4) @1 -> 2 ; [4,7) @0.5 -> 6 ; total 8
    tl = Timeline(10.0, [("a", 4.0)], {"a": 0.5}, (2.0, 7.0))
    assert spans(tl) == [("start", 2.0, 4.0, 1.0, 0.0), ("a", 4.0, 7.0, 0.5, 2.0)]
    assert tl.output_duration == 8.0


def test_trim_removes_first_segment() -> None:
    # trim (5,10) cuts all of [0,4) and the first second of "a": kept [5,10) @0.5 -> 10
    tl = Timeline(10.0, [("a", 4.0)], {"a": 0.5}, (5.0, 10.0))
    assert spans(tl) == [("a", 5.0, 10.0, 0.5, 0.0)]
    assert tl.output_duration == 10.0


def test_trim_in_middle_of_single_segment() -> None:
    tl = Timeline(10.0, [], {"start": 2.0}, (3.0, 5.0))
    assert spans(tl) == [("start", 3.0, 5.0, 2.0, 0.0)]
    assert tl.output_duration == 1.0  # (5-3)/2


def test_trim_clamped_to_clip() -> None:
    tl = Timeline(10.0, [], {}, (-3.0, 20.0))
    assert (tl.trim_start, tl.trim_end, tl.output_duration) == (0.0, 10.0, 10.0)


def test_empty_trim() -> None:
    tl = Timeline(10.0, [("a", 4.0)], {}, (5.0, 5.0))
    assert tl.segments == ()
    assert tl.output_duration == 0.0
    assert tl.source_to_output(5.0) is None
    assert tl.output_to_source(3.0) == 5.0
    assert tl.segment_at(5.0) is None


# --- mapping --------------------------------------------------------------------------------

TRIMMED = Timeline(10.0, [("a", 4.0)], {"a": 0.5}, (2.0, 7.0))


@pytest.mark.parametrize(
    ("src", "out"),
    [
        (2.0, 0.0),  # trim start
        (3.0, 1.0),  # 3-2
        (4.0, 2.0),  # split: 2 + 0
        (5.0, 4.0),  # 2 + (5-4)/0.5
        (6.5, 7.0),  # 2 + 2.5/0.5
        (7.0, 8.0),  # trim end: 2 + 3/0.5
    ],
)
def test_source_to_output(src: float, out: float) -> None:
    assert TRIMMED.source_to_output(src) == pytest.approx(out)
    assert TRIMMED.output_to_source(out) == pytest.approx(src)  # and back


@pytest.mark.parametrize("src", [0.0, 1.999, 7.001, 10.0, -1.0])
def test_source_trimmed_away_is_none(src: float) -> None:
    assert TRIMMED.source_to_output(src) is None


@pytest.mark.parametrize(("out", "src"), [(-1.0, 2.0), (0.0, 2.0), (8.0, 7.0), (100.0, 7.0)])
def test_output_to_source_clamped(out: float, src: float) -> None:
    assert TRIMMED.output_to_source(out) == pytest.approx(src)


def test_segment_at() -> None:
    assert TRIMMED.segment_at(3.0).key == "start"  # type: ignore[union-attr]
    assert TRIMMED.segment_at(4.0).key == "a"  # type: ignore[union-attr] # boundary -> starts there
    assert TRIMMED.segment_at(7.0).key == "a"  # type: ignore[union-attr] # trim end -> last
    assert TRIMMED.segment_at(1.0) is None
    assert TRIMMED.segment_at(8.0) is None


@pytest.mark.parametrize("src", [0.0, 0.7, 1.0, 2.5, 3.0, 3.3, 6.0, 8.8, 9.99, 10.0])
def test_round_trip_three_speeds(src: float) -> None:
    # [0,1) @2, [1,3) @0.25, [3,10) @1.5
    tl = Timeline(10.0, [("a", 1.0), ("b", 3.0)], {"start": 2.0, "a": 0.25, "b": 1.5}, None)
    # 1/2 + 2/0.25 + 7/1.5 = 0.5 + 8 + 4.6667 = 13.1667
    assert tl.output_duration == pytest.approx(0.5 + 8 + 7 / 1.5)
    out = tl.source_to_output(src)
    assert out is not None
    assert tl.output_to_source(out) == pytest.approx(src, abs=1e-12)


def test_output_point_inside_slow_segment() -> None:
    tl = Timeline(10.0, [("a", 1.0), ("b", 3.0)], {"start": 2.0, "a": 0.25, "b": 1.5}, None)
    # output 2.5 lies in "a" (out 0.5..8.5): src = 1 + (2.5-0.5)·0.25 = 1.5
    assert tl.output_to_source(2.5) == pytest.approx(1.5)
    # output 10 lies in "b" (out 8.5..): src = 3 + (10-8.5)·1.5 = 5.25
    assert tl.output_to_source(10.0) == pytest.approx(5.25)
