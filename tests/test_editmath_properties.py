"""Property tests: source_to_output and output_to_source are inverse on kept times."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.editmath.segments import Timeline

_fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
_speed = st.floats(min_value=0.1, max_value=8.0, allow_nan=False)


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    duration = draw(st.floats(min_value=0.05, max_value=600.0, allow_nan=False))
    cuts = draw(st.lists(st.floats(min_value=0.001, max_value=0.999), max_size=6))
    splits = [(f"s{i}", c * duration) for i, c in enumerate(cuts)]
    keys = ["start", *(uid for uid, _ in splits)]
    speeds = {k: draw(_speed) for k in keys if draw(st.booleans())}
    trim = None
    if draw(st.booleans()):
        a, b = sorted((draw(_fraction), draw(_fraction)))
        trim = (a * duration, b * duration)
    return Timeline(duration, splits, speeds, trim)


@settings(max_examples=200, deadline=None)
@given(tl=timelines(), f=_fraction)
def test_source_output_round_trip(tl: Timeline, f: float) -> None:
    t = tl.trim_start + f * (tl.trim_end - tl.trim_start)
    out = tl.source_to_output(t)
    if not tl.segments:
        assert out is None
        return
    assert out is not None
    assert -1e-9 <= out <= tl.output_duration + 1e-9
    assert abs(tl.output_to_source(out) - t) <= 1e-9 * max(1.0, tl.duration)


@settings(max_examples=200, deadline=None)
@given(tl=timelines(), f=_fraction)
def test_output_source_round_trip(tl: Timeline, f: float) -> None:
    t_out = f * tl.output_duration
    src = tl.output_to_source(t_out)
    assert tl.trim_start <= src <= tl.trim_end
    if tl.segments:
        back = tl.source_to_output(src)
        assert back is not None
        assert abs(back - t_out) <= 1e-9 * max(1.0, tl.output_duration)
