"""core.editmath.output_size: export sizes, arithmetic in the comments."""
from __future__ import annotations

import pytest

from core.editmath.output_size import output_size
from core.enums import AspectRatio

P, L, S, F = AspectRatio.PORTRAIT, AspectRatio.LANDSCAPE, AspectRatio.SQUARE, AspectRatio.FOUR_FIVE


@pytest.mark.parametrize(
    ("aspect", "size"),
    [(P, (1080, 1920)), (L, (1920, 1080)), (S, (1080, 1080)), (F, (1080, 1350))],  # 1080·5/4=1350
)
def test_without_upscale(aspect: AspectRatio, size: tuple[int, int]) -> None:
    assert output_size(aspect, None, False) == size
    assert output_size(aspect, (100.0, 100.0), False) == size  # crop ignored


@pytest.mark.parametrize("aspect", [P, L, S, F])
def test_upscale_unknown_crop_uses_defaults(aspect: AspectRatio) -> None:
    assert output_size(aspect, None, True) == output_size(aspect, None, False)


def test_upscale_portrait_default_crop() -> None:
    # 607.5×1080 ×4 = 2430×4320 (exactly 9:16) ; cap min(2560/2430, 1440/4320 = 1/3) -> 810×1440
    assert output_size(P, (607.5, 1080.0), True) == (810, 1440)


def test_upscale_landscape_full_frame() -> None:
    # 1920×1080 ×4 = 7680×4320 ; cap 2560/7680 = 1440/4320 = 1/3 -> 2560×1440
    assert output_size(L, (1920.0, 1080.0), True) == (2560, 1440)


def test_upscale_small_crop_not_capped() -> None:
    # 180×320 ×4 = 720×1280, under the cap
    assert output_size(P, (180.0, 320.0), True) == (720, 1280)


def test_upscale_four_five() -> None:
    # 864×1080 ×4 = 3456×4320 ; cap min(2560/3456 = .7407, 1440/4320 = .3333) -> 1152×1440
    assert output_size(F, (864.0, 1080.0), True) == (1152, 1440)


def test_upscale_square() -> None:
    # 1080 ×4 = 4320 ; cap 1440/4320 -> 1440×1440
    assert output_size(S, (1080.0, 1080.0), True) == (1440, 1440)


def test_upscale_fits_off_ratio_crop_to_smaller_side() -> None:
    # 600×1000 ×4 = 2400×4000 ; 2400/4000 = .6 > 9/16 -> width from height: 4000·9/16 = 2250
    # 2250×4000 ; cap 1440/4000 = .36 -> 810×1440
    assert output_size(P, (600.0, 1000.0), True) == (810, 1440)


def test_upscale_fits_wide_off_ratio_crop() -> None:
    # 100×50 ×4 = 400×200 at 16:9: 400/200 = 2 > 16/9 -> w = 200·16/9 = 355.56 -> even 356 ; h 200
    assert output_size(L, (100.0, 50.0), True) == (356, 200)


def test_upscale_rounds_to_even_half_up() -> None:
    # 100.25 ×4 = 401 -> 401/2 = 200.5 rounds up -> 402
    assert output_size(S, (100.25, 100.25), True) == (402, 402)


def test_upscale_never_exceeds_cap() -> None:
    for crop in [(3000.0, 1700.0), (1111.1, 624.99), (2560.0, 1440.0)]:
        w, h = output_size(L, crop, True)
        assert w <= 2560 and h <= 1440 and w % 2 == 0 and h % 2 == 0


def test_upscale_degenerate_crop_uses_defaults() -> None:
    assert output_size(P, (0.0, 0.0), True) == (1080, 1920)
