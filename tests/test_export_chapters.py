"""Chapters in the exported MP4: one per clip, titled with its name, starting where it starts
after speed changes and transitions (read back with PyAV, as ffprobe would)."""
from __future__ import annotations

import av
import pytest

from core.enums import GestureKind, TransitionType
from core.export.build import build_spec
from core.export.spec import Transition
from core.gestures.model import Gesture
from tests.fixtures.library import seed_clip
from tests.test_export_render import clip, reel, run

FRAME = 1 / 30


def test_one_chapter_per_clip_with_titles_and_start_times(media, tmp_path):
    spec = reel(
        clip(end=1.0, title="Kick-off"),
        clip(end=1.0, speeds=(("start", 0.5),), title="Slow-mo save"),  # 2 s in the output
        clip(end=1.5, title="Tor – 決勝", transition_in=Transition(TransitionType.DISSOLVE, 0.5)),
    )
    path = run(spec, media, tmp_path)
    with av.open(str(path)) as container:
        found = container.chapters()
        duration = container.duration / av.time_base
    assert [c["metadata"]["title"] for c in found] == ["Kick-off", "Slow-mo save", "Tor – 決勝"]
    starts = [float(c["start"] * c["time_base"]) for c in found]
    ends = [float(c["end"] * c["time_base"]) for c in found]
    for got, want in zip(starts, [0.0, 1.0, 2.5], strict=True):  # the dissolve pulls the last clip 0.5 s earlier
        assert got == pytest.approx(want, abs=FRAME)
    assert ends[:2] == pytest.approx(starts[1:], abs=FRAME)
    assert ends[-1] == pytest.approx(4.0, abs=FRAME) and duration == pytest.approx(4.0, abs=2 * FRAME)


def test_chapter_titles_come_from_the_clip_names(library):
    raw, project, _wc = seed_clip(library)
    library.apply(Gesture(GestureKind.UPDATE_CLIP, raw, {"name": "Header goal"}))
    second = library.apply(Gesture(GestureKind.MARK_CLIP, None, {"media": "ab" * 32, "start": 20.0, "end": 22.0}))
    library.apply(Gesture(GestureKind.ADD_CLIP, project, {"raw_clip": second.entity}))
    spec = build_spec(library, project)
    assert [c.title for c in spec.clips] == ["Header goal", "Clip 2"]
