"""RenderSpec built from a project's latest versions."""
from __future__ import annotations

from fractions import Fraction

import pytest

from core.enums import GestureKind as K
from core.enums import Upscaler
from core.export.build import build_spec
from core.export.spec import RenderSpec, SpecError
from core.gestures.model import Gesture
from tests.fixtures.library import seed_clip


def test_spec_carries_every_edit(library):
    raw, project, wc = seed_clip(library)  # 1920x1080 29.97, clip 10..16 s, 9:16
    library.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": 0.0, "x": 0, "y": 0, "width": 303.75, "height": 540}))
    library.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": 4.0, "x": 1000, "y": 500, "width": 303.75, "height": 540}))
    split = library.apply(Gesture(K.SPLIT, wc, {"time": 2.0})).created["split"]
    library.apply(Gesture(K.SET_SEGMENT_SPEED, wc, {"time": 3.0, "speed": 0.5}))
    library.apply(Gesture(K.SET_TRIM, wc, {"start": 0.5, "end": 5.5}))
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": -4.0}))
    library.apply(Gesture(K.ADD_REGION, wc, {"start": 1.0, "end": 3.0, "x": 900, "y": 500, "rx": 40, "ry": 80}))
    spec = build_spec(library, project)
    (clip,) = spec.clips
    assert (clip.src_start, clip.src_end, clip.rotation) == (10.0, 16.0, -4.0)
    assert [k.x for k in clip.crop_keyframes] == [0.0, 1000.0]
    assert clip.splits == ((split, 2.0),) and clip.speeds == ((split, 0.5),)
    assert clip.trim == (0.5, 5.5) and len(clip.regions) == 1
    assert (spec.output.width, spec.output.height) == (1080, 1920)
    assert spec.output.fps == Fraction(30000, 1001)
    # 1.5 s at 1x + 3.5 s at 0.5x
    assert spec.output_duration == pytest.approx(1.5 + 7.0)
    assert RenderSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("upscaler", list(Upscaler))
def test_upscaled_size_is_never_smaller_than_the_plain_one(library, upscaler):
    # A 180x320 crop used to give 720x1280 (x4) and the default crop 810x1440: the output is the
    # chosen preset whatever the upscaler (the upscaler fills the preset, never shrinks it).
    raw, project, wc = seed_clip(library)
    library.apply(Gesture(K.ADD_CROP_KEYFRAME, wc, {"time": 0.0, "x": 0, "y": 0, "width": 180, "height": 320}))
    plain = build_spec(library, project)
    spec = build_spec(library, project, upscaler=upscaler)
    assert (spec.output.width, spec.output.height) == (plain.output.width, plain.output.height) == (1080, 1920)
    big = build_spec(library, project, upscaler=upscaler, size=(1440, 2560))
    assert (big.output.width, big.output.height) == (1440, 2560)


def test_later_edits_do_not_change_a_built_spec(library):
    raw, project, wc = seed_clip(library)
    spec = build_spec(library, project)
    library.apply(Gesture(K.SET_ROTATION, wc, {"degrees": 9.0}))
    assert spec.clips[0].rotation == 0.0
    assert build_spec(library, project).clips[0].rotation == 9.0


def test_empty_project_is_a_clear_error(library):
    project = library.apply(Gesture(K.CREATE_PROJECT, None, {"name": "Empty"})).entity
    with pytest.raises(SpecError, match="no clips"):
        build_spec(library, project)


@pytest.mark.parametrize(("kind", "length"), [("cut", 12.0), ("fade", 12.0), ("dissolve", 11.0)])
def test_show_duration_agrees_with_the_render_for_every_transition(library, kind, length):
    # Two 6 s clips and a 1 s transition: a dissolve overlaps them (11 s); a fade dips through
    # black without overlapping (12 s); `show` used to say 12 s for the dissolve too.
    raw, project, wc = seed_clip(library)
    second = library.apply(Gesture(K.ADD_CLIP, project, {"raw_clip": raw})).created["working_clip"]
    library.apply(Gesture(K.SET_TRANSITION, project, {"working_clip": second, "type": kind, "duration": 1.0}))
    shown = library.show_project(project)["output_duration"]
    spec = build_spec(library, project)
    assert shown == pytest.approx(spec.output_duration) == pytest.approx(length)
