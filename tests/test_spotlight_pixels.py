"""The renderer's spotlight drawing (core.export.spotlight_draw.Spotlight) against its definition on
real output-size pictures: every pixel outside the regions moved towards black by the dim level,
then each pixel blended as ``p + (target - p) · coverage · opacity`` (coverage: the anti-aliased
ellipse mask) with the undimmed picture inside the bodies, the fill and the ring. The drawing may
take any shortcut (only the pixels a mask covers, whole-plane tables) but must give the same
pixels."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from core.editmath.spotlight import Ellipse, dim_opacity, ring_ellipse, ring_width
from core.enums import OverlayShape
from core.export.planes import BLACK, rgb_to_yuv, warp_planes, yuv_views
from core.export.spec import OverlayStyle
from core.export.spotlight_draw import Spotlight, _ellipse
from tests.fixtures.media import make_frame_rgb

W, H = 1080, 1920


def picture(n: int) -> np.ndarray:
    """A flat yuv420p output picture: a test video frame (gradients, marker, frame-number
    stripe) with seeded grain so every level occurs, converted by FFmpeg like a decoded frame."""
    rgb = make_frame_rgb(n, W, H)
    rgb = cv2.add(rgb, np.random.default_rng(n).integers(0, 48, rgb.shape, np.uint8))
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    return np.ascontiguousarray(frame.to_ndarray()).reshape(-1)


def by_definition(style: OverlayStyle, buf: np.ndarray, shapes: list[tuple[Ellipse, float]]) -> None:
    """The spotlight as the formula says, on whole planes in floating point."""
    colour = rgb_to_yuv(style.rgb)
    level = 1.0 - dim_opacity(style.dim, [alpha for _body, alpha in shapes])

    def blend(plane: np.ndarray, mask: np.ndarray, target: float | np.ndarray, opacity: float) -> None:
        p = plane.astype(np.float32)
        p += (np.asarray(target, np.float32) - p) * (mask.astype(np.float32) * np.float32(opacity / 255.0))
        plane[...] = (p + 0.5).astype(np.uint8)
        mask[...] = 0

    for i, plane in enumerate(yuv_views(buf, W, H)):
        scale, black = (1.0, BLACK[0]) if i == 0 else (0.5, BLACK[1])
        mask = np.zeros(plane.shape, np.uint8)
        if level < 1.0:
            undimmed = plane.copy()
            table = np.clip(black + (np.arange(256) - black) * level + 0.5, 0, 255).astype(np.uint8)
            plane[...] = table[plane]
            for body, _alpha in shapes:
                _ellipse(mask, body, scale, -1)
            blend(plane, mask, undimmed, 1.0)
        for body, alpha in shapes:
            shape = ring_ellipse(body, style.shape)
            if style.fill_opacity > 0:
                _ellipse(mask, shape, scale, -1)
                blend(plane, mask, colour[i], style.fill_opacity * alpha)
            stroke = ring_width(style.stroke, W, H)
            if stroke > 0:
                _ellipse(mask, shape, scale, max(1, round(stroke * scale)))
                blend(plane, mask, colour[i], alpha)


PLAYER = Ellipse(540.3, 1056.7, 160.2, 320.9)  # the bench's player, off the pixel grid
CASES = {
    "default style": (OverlayStyle(), [(PLAYER, 1.0)]),
    "fading, filled ground shape, thick ring": (
        OverlayStyle(color="#00A0FF", stroke=40.0, fill_opacity=0.3, dim=0.7, shape=OverlayShape.GROUND),
        [(PLAYER, 0.4)],
    ),
    "overlapping regions, one past the frame edge": (
        OverlayStyle(color="#FF2040", stroke=9.0, dim=0.5),
        [(PLAYER, 1.0), (Ellipse(700.5, 1200.25, 210.0, 260.0), 0.8), (Ellipse(1030.0, 40.0, 150.0, 90.0), 1.0)],
    ),
    "ring only, no dim": (OverlayStyle(dim=0.0, stroke=6.0), [(PLAYER, 1.0)]),
    "tiny region": (OverlayStyle(), [(Ellipse(20.2, 30.7, 0.4, 0.6), 1.0)]),
    "region wholly outside the frame": (OverlayStyle(), [(Ellipse(-400.0, 900.0, 100.0, 100.0), 1.0)]),
}


@pytest.mark.parametrize("case", CASES)
def test_spotlight_draws_the_pixels_of_its_definition(case: str) -> None:
    style, shapes = CASES[case]
    spotlight = Spotlight(style, W, H)
    for n in (3, 250):  # two pictures through one Spotlight: its masks are reused
        drawn, expected = picture(n), picture(n)
        spotlight.apply(yuv_views(drawn, W, H), shapes)
        by_definition(style, expected, shapes)
        assert np.array_equal(drawn, expected), f"{int(np.count_nonzero(drawn != expected))} pixels differ"


TURN = cv2.getRotationMatrix2D((W / 2, H / 2), 3.0, 1.0)  # not a pure scale: warpAffine's path


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("warp", [np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), TURN], ids=["scale", "turn"])
def test_a_warp_that_dims_for_the_spotlight_gives_the_same_pixels(case: str, warp: np.ndarray) -> None:
    """The render dims in the warp's pass (the spotlight's tables) and the spotlight blends the
    undimmed pixels the warp kept back in."""
    style, shapes = CASES[case]
    spotlight = Spotlight(style, W, H)
    dim = spotlight.dimming(shapes)
    assert (dim is None) == (style.dim == 0)
    source, expected, drawn = picture(7), np.empty(W * H * 3 // 2, np.uint8), np.empty(W * H * 3 // 2, np.uint8)
    chroma = np.hstack([warp[:, :2], warp[:, 2:] / 2])
    warp_planes(yuv_views(source, W, H), yuv_views(expected, W, H), warp, chroma, cv2.INTER_LINEAR)
    by_definition(style, expected, shapes)
    kept = warp_planes(yuv_views(source, W, H), yuv_views(drawn, W, H), warp, chroma, cv2.INTER_LINEAR,
                       dim.tables if dim else (None, None, None), dim.boxes if dim else (None, None, None))
    spotlight.apply(yuv_views(drawn, W, H), shapes, [k for k in kept if k is not None] if dim else None)
    assert np.array_equal(drawn, expected), f"{int(np.count_nonzero(drawn != expected))} pixels differ"
