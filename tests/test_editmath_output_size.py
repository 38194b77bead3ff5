"""core.editmath.output_size: the export size is a preset per aspect; upscaling never shrinks it."""
from __future__ import annotations

import pytest

from core.editmath.output_size import needs_upscale, output_size, parse_size, size_presets
from core.enums import AspectRatio

P, L, S, F = AspectRatio.PORTRAIT, AspectRatio.LANDSCAPE, AspectRatio.SQUARE, AspectRatio.FOUR_FIVE


@pytest.mark.parametrize(
    ("aspect", "presets"),
    [
        (P, ((1080, 1920), (1440, 2560), (2160, 3840))),
        (L, ((1920, 1080), (2560, 1440), (3840, 2160))),
        (S, ((1080, 1080), (1440, 1440), (2160, 2160))),
        (F, ((1080, 1350), (1440, 1800), (2160, 2700))),  # 1080·5/4 = 1350
    ],
)
def test_presets_per_aspect_default_first(aspect: AspectRatio, presets) -> None:
    assert size_presets(aspect) == presets
    assert output_size(aspect) == presets[0]


def test_unknown_short_side_is_refused() -> None:
    with pytest.raises(ValueError, match="1080, 1440, 2160"):
        output_size(P, 810)


@pytest.mark.parametrize("text", ["1440x2560", "1440", "1440p", " 1440P "])
def test_parse_size_accepts_a_preset_or_its_short_side(text: str) -> None:
    assert parse_size(text, P) == (1440, 2560)


def test_parse_size_names_the_presets_of_the_aspect() -> None:
    with pytest.raises(ValueError, match="1920x1080, 2560x1440, 3840x2160"):
        parse_size("1080x1920", L)


def test_upscale_runs_only_when_the_crop_is_smaller_than_the_output() -> None:
    # The old rule made the 9:16 default crop (607.5x1080) an 810x1440 export; now the upscaler
    # enlarges that crop to the chosen 1080x1920 and a crop already big enough is left alone.
    assert needs_upscale((607.5, 1080.0), (1080, 1920))
    assert needs_upscale((1919.0, 1080.0), (1920, 1080))
    assert not needs_upscale((1920.0, 1080.0), (1920, 1080))
    assert not needs_upscale((2160.0, 3840.0), (1080, 1920))
