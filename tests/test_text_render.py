"""Text overlays by their pixels: placement, wrapping, outline/shadow, non-Latin scripts (no tofu),
and in real renders: shown exactly over [start, end), fades, and fixed in output space while the
crop moves."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.enums import TextAlign, TextAnchor, TextFont
from core.export.spec import CropKeyframe, SpecError, TextElement, TextRegion
from core.text import TextOverlay, blend, opacity, rasterise
from core.text import fonts
from tests.test_export_render import clip, frames_of, reel, run

W, H = 320, 180


def grey_planes(level: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.full((H, W), level, np.uint8), np.full((H // 2, W // 2), 128, np.uint8),
            np.full((H // 2, W // 2), 128, np.uint8))


def drawn(el: TextElement, f: float = 1.0, level: int = 60) -> np.ndarray:
    planes = grey_planes(level)
    blend(planes, rasterise(el, W, H), f)
    return planes[0]


def centroid(mask: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.mean()) / W, float(ys.mean()) / H


@pytest.mark.parametrize("preset", list(TextAnchor))
def test_presets_place_the_block_in_their_part_of_the_frame(preset):
    y = drawn(TextElement("HI", preset=preset, size=0.12))
    cx, cy = centroid(y > 150)
    fx, fy = preset.fractions
    assert abs(cx - (0.05 + 0.9 * fx)) < 0.12 and abs(cy - (0.05 + 0.9 * fy)) < 0.12
    if fx == 0.0:
        assert np.nonzero(y > 150)[1].min() >= 0.05 * W - 2  # inside the safe margin
    if fy == 1.0:
        assert np.nonzero(y > 150)[0].max() <= 0.95 * H + 2


def test_free_position_puts_the_preset_point_at_x_y():
    y = drawn(TextElement("HI", preset=TextAnchor.MIDDLE_CENTER, x=0.25, y=0.7, size=0.1))
    cx, cy = centroid(y > 150)
    assert cx == pytest.approx(0.25, abs=0.03) and cy == pytest.approx(0.7, abs=0.04)


def test_size_is_a_fraction_of_the_output_height():
    small = np.nonzero(drawn(TextElement("H", size=0.1)) > 150)[0]
    big = np.nonzero(drawn(TextElement("H", size=0.2)) > 150)[0]
    # A capital H is ~0.73 em tall in DejaVu Sans.
    assert np.ptp(small) + 1 == pytest.approx(0.1 * H * 0.73, rel=0.15)
    assert np.ptp(big) / np.ptp(small) == pytest.approx(2.0, rel=0.12)


def test_long_text_wraps_within_max_width_and_aligns():
    el = TextElement("one two three four five six seven", size=0.08, max_width=0.4, align=TextAlign.LEFT)
    y = drawn(el)
    cols = np.nonzero((y > 150).any(axis=0))[0]
    rows = np.nonzero((y > 150).any(axis=1))[0]
    assert np.ptp(cols) <= 0.4 * W + 1
    assert np.ptp(rows) > 3 * 0.08 * H  # several lines
    # Left-aligned: each line begins at the block's left edge.
    lines = _line_starts(y > 150)
    assert len(lines) >= 3 and max(lines) - min(lines) <= 3


def _line_starts(mask: np.ndarray) -> list[int]:
    rows = mask.any(axis=1)
    out, start = [], None
    for i, r in enumerate(np.append(rows, False)):
        if r and start is None:
            start = i
        elif not r and start is not None:
            out.append(int(np.nonzero(mask[start:i].any(axis=0))[0].min()))
            start = None
    return out


def test_outline_and_shadow_darken_around_the_glyphs():
    plain = drawn(TextElement("O", size=0.3, preset=TextAnchor.MIDDLE_CENTER), level=120)
    outlined = drawn(TextElement("O", size=0.3, preset=TextAnchor.MIDDLE_CENTER, outline=0.08), level=120)
    shadowed = drawn(TextElement("O", size=0.3, preset=TextAnchor.MIDDLE_CENTER, shadow=0.1), level=120)
    assert (plain < 100).sum() == 0
    assert (outlined < 60).sum() > 200  # a black ring around the white glyph
    dark = np.nonzero(shadowed < 100)
    white = np.nonzero(shadowed > 200)
    # The shadow falls below and to the right of the glyph.
    assert dark[0].mean() > white[0].mean() and dark[1].mean() > white[1].mean()


@pytest.mark.parametrize("text", ["Да! Гол", "Ναι — Γκολ", "決勝ゴール", "进球了"])
@pytest.mark.parametrize("font", [TextFont.CONDENSED, TextFont.SERIF])
def test_non_latin_text_renders_without_tofu(text, font):
    for ch in text:
        assert fonts._has_glyph(fonts.face_for(font, ch), ch), ch
    # Every character draws something other than the .notdef box.
    tofu = drawn(TextElement("\U0010fffd" * len(text), font=font, size=0.12))
    y = drawn(TextElement(text, font=font, size=0.12))
    assert (y > 150).sum() > 50 and not np.array_equal(y, tofu)


def test_each_element_is_rasterised_once_per_output_size():
    el = TextElement("cache me", size=0.07)
    rasterise.cache_clear()
    overlay = TextOverlay([TextRegion("t", 0.0, 2.0, (el,))], W, H)
    for s in (0.0, 0.5, 1.0, 1.5):
        overlay.draw(grey_planes(), overlay.state(s))
    info = rasterise.cache_info()
    assert (info.misses, info.hits) == (1, 3)
    rasterise(el, 640, 360)
    assert rasterise.cache_info().misses == 2


def test_opacity_is_half_open_with_linear_fades():
    el = TextElement("x", fade_in=0.5, fade_out=0.25)
    region = TextRegion("t", 1.0, 3.0, (el,))
    assert opacity(region, el, 0.999) == 0.0
    assert opacity(region, el, 1.0) == 0.0  # fading in from nothing
    assert opacity(region, el, 1.25) == pytest.approx(0.5)
    assert opacity(region, el, 2.0) == 1.0
    assert opacity(region, el, 2.875) == pytest.approx(0.5)
    assert opacity(region, el, 3.0) == 0.0  # end is excluded
    hard = TextElement("x")
    assert opacity(TextRegion("t", 1.0, 3.0, (hard,)), hard, 1.0) == 1.0


def test_spec_refuses_bad_elements():
    with pytest.raises(SpecError, match="text must not be empty"):
        TextElement("  ")
    with pytest.raises(SpecError, match="size must be between"):
        TextElement("x", size=0.6)
    with pytest.raises(SpecError, match="end .* must be after start"):
        TextRegion("t", 2.0, 2.0, ())


# -- in real renders ----------------------------------------------------------------------------


def test_rendered_text_shows_over_its_region_fades_and_ignores_the_moving_crop(media, tmp_path):
    # The crop pans across the source; the text must stay where the output puts it.
    pan = (CropKeyframe(0.0, 0.0, 30.0, 160.0, 90.0), CropKeyframe(2.0, 160.0, 120.0, 160.0, 90.0))
    el = TextElement("GOAL", size=0.2, color="#FF00FF", preset=TextAnchor.TOP_LEFT, fade_in=0.3)
    base = clip(end=2.0, crop=pan)
    with_text = dataclasses.replace(base, text_regions=(TextRegion("t", 0.5, 1.5, (el,)),))
    lit, _ = frames_of(run(reel(with_text), media, tmp_path, "text.mp4"))
    plain, _ = frames_of(run(reel(base), media, tmp_path, "plain.mp4"))
    assert len(lit) == len(plain) == 60

    def mask(k: int) -> np.ndarray:
        return np.abs(lit[k].astype(np.int16) - plain[k]).max(axis=2) > 40

    for k in (0, 14, 45, 59):  # before 0.5 s and from 1.5 s on: untouched
        assert not mask(k).any(), k
    for k in (24, 30, 44):  # fully shown
        assert mask(k).sum() > 300, k
    # Same place while the picture under it pans (the plain frames differ there).
    a, b = mask(24), mask(44)
    assert (a & b).sum() / (a | b).sum() > 0.9
    assert np.abs(plain[24].astype(np.int16) - plain[44])[a].mean() > 10
    # Only in the top-left part of the frame, where the preset puts it.
    ys, xs = np.nonzero(mask(30))
    assert xs.max() < W * 0.7 and ys.max() < H * 0.45
    # Magenta where the glyphs are solid.
    solid = lit[30][mask(30)]
    assert (solid[:, 0] > 200).mean() > 0.5 and (solid[:, 2] > 200).mean() > 0.5
    # Fading in over 0.3 s: frame 20 (0.667 s) is at 0.556 of the full difference.
    full = np.abs(lit[30].astype(np.int16) - plain[30])[a].mean()
    part = np.abs(lit[20].astype(np.int16) - plain[20])[a].mean()
    assert part / full == pytest.approx(0.2 / 0.3 * 5 / 6, abs=0.1)


def test_preview_blend_equals_the_export(media, tmp_path):
    """What the editor previews (core.text blended onto the output picture) is what the export
    encodes: blending the overlay onto the plain export's frames gives the text export's frames
    up to the encoder's rounding."""
    el = TextElement("Ναι 決勝", size=0.15, color="#00C0FF", outline=0.08, preset=TextAnchor.BOTTOM_RIGHT)
    region = TextRegion("t", 0.0, 1.0, (el,))
    base = clip(end=1.0)
    text_path = run(reel(dataclasses.replace(base, text_regions=(region,))), media, tmp_path, "t.mp4")
    plain_path = run(reel(base), media, tmp_path, "p.mp4")
    overlay = TextOverlay([region], W, H)

    def yuv(path):
        import av
        with av.open(str(path)) as container:
            return [f.to_ndarray(format="yuv420p") for f in container.decode(video=0)]

    for k, (lit, plain) in enumerate(zip(yuv(text_path), yuv(plain_path), strict=True)):
        if k % 10:
            continue
        planes = (plain[:H].copy(), plain[H:H + H // 4].reshape(H // 2, W // 2).copy(),
                  plain[H + H // 4:].reshape(H // 2, W // 2).copy())
        overlay.draw(planes, overlay.state(k / 30))
        preview = np.concatenate([planes[0].reshape(-1), planes[1].reshape(-1), planes[2].reshape(-1)])
        diff = np.abs(preview.astype(np.int16) - lit.reshape(-1))
        assert diff.mean() < 1.0 and np.percentile(diff, 99.5) < 12, k


def test_text_without_spaces_wraps_between_characters():
    y = drawn(TextElement("決勝ゴール決勝ゴール決勝ゴール", font=TextFont.CJK, size=0.1, max_width=0.3))
    cols = np.nonzero((y > 150).any(axis=0))[0]
    assert np.ptp(cols) <= 0.3 * W + 1 and len(_line_starts(y > 150)) >= 3
