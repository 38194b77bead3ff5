"""The one spotlight implementation (core.editmath.spotlight) shared by the renderer and the viewer."""
from __future__ import annotations

import numpy as np
import pytest

from core.editmath.box import Box
from core.editmath.spotlight import (
    DEFAULT_OVERLAY_STYLE,
    Ellipse,
    OutputMap,
    RegionTrack,
    body_from_ring,
    dim_opacity,
    region_alpha,
    ring_ellipse,
    ring_width,
    rotate_point,
    shown_regions,
)
from core.enums import OverlayShape
from core.export.planes import BLACK
from core.export.spotlight_draw import Spotlight
from core.export.planes import yuv_views
from core.export.spec import OverlayStyle
from core.library import Library
from tests.fixtures.library import seed_clip


def region(uid: str, start: float, end: float, *keys: tuple[float, float, float], enabled: bool = True) -> RegionTrack:
    return RegionTrack.from_doc({"uid": uid, "start": start, "end": end, "enabled": enabled,
                                 "keyframes": [{"uid": f"k{t}", "time": t, "x": x, "y": y, "rx": 20.0, "ry": 40.0}
                                               for t, x, y in keys]})


def test_a_region_shows_on_its_half_open_span_and_fades_out_at_its_end() -> None:
    assert region_alpha(1.0, 3.0, 0.99, 0.5) == 0.0
    assert region_alpha(1.0, 3.0, 1.0, 0.5) == 1.0
    assert region_alpha(1.0, 3.0, 2.5, 0.5) == 1.0
    assert region_alpha(1.0, 3.0, 2.75, 0.5) == pytest.approx(0.5)
    assert region_alpha(1.0, 3.0, 2.95, 0.5) == pytest.approx(0.1)
    assert region_alpha(1.0, 3.0, 3.0, 0.5) == 0.0
    assert region_alpha(1.0, 3.0, 2.999, 0.0) == 1.0  # no fade: full until the end


def test_shown_regions_interpolate_and_skip_disabled_keyless_and_outside() -> None:
    regions = [region("a", 0.0, 2.0, (0.0, 100.0, 50.0), (2.0, 300.0, 50.0)),
               region("off", 0.0, 2.0, (0.0, 10.0, 10.0), enabled=False),
               RegionTrack("bare", 0.0, 2.0, True, ()),
               region("later", 1.5, 4.0, (1.5, 5.0, 6.0))]
    shown = shown_regions(regions, 1.0, 0.3)
    assert [r.uid for r in shown] == ["a"]
    assert shown[0].ellipse == Ellipse(200.0, 50.0, 20.0, 40.0) and shown[0].alpha == 1.0
    shown = shown_regions(regions, 1.85, 0.3)
    assert [r.uid for r in shown] == ["a", "later"]
    assert shown[0].alpha == pytest.approx(0.5)


def test_output_map_turns_the_centre_with_the_picture_then_scales_the_box() -> None:
    box = Box(100.0, 50.0, 200.0, 400.0)
    out = OutputMap(640.0, 480.0, 10.0, box, 1080.0, 2160.0, out_x=7.0, out_y=9.0)
    e = out.ellipse(Ellipse(200.0, 300.0, 20.0, 40.0))
    cx, cy = rotate_point(200.0, 300.0, 640.0, 480.0, 10.0)
    assert (e.x, e.y) == pytest.approx((7.0 + (cx - 100.0) * 5.4, 9.0 + (cy - 50.0) * 5.4))
    assert (e.rx, e.ry) == pytest.approx((108.0, 216.0))  # axis-aligned: radii only scale


def test_the_ground_shape_sits_at_the_feet_flattened_and_maps_back() -> None:
    body = Ellipse(100.0, 200.0, 30.0, 60.0)
    ring = ring_ellipse(body, OverlayShape.GROUND)
    assert ring == Ellipse(100.0, 260.0, 30.0, pytest.approx(12.0))
    assert body_from_ring(ring, OverlayShape.GROUND) == Ellipse(100.0, 200.0, 30.0, pytest.approx(60.0))
    assert ring_ellipse(body, OverlayShape.BODY) == body == body_from_ring(body, OverlayShape.BODY)


def test_ring_width_and_dim_scale_as_the_style_says() -> None:
    assert ring_width(4.0, 1080.0, 1920.0) == 4.0
    assert ring_width(4.0, 360.0, 640.0) == pytest.approx(4.0 / 3)
    assert dim_opacity(0.5, [0.2, 0.8]) == pytest.approx(0.4)
    assert dim_opacity(0.5, []) == 0.0


def test_one_default_style_for_documents_and_render_specs(library: Library) -> None:
    spec = OverlayStyle()
    assert {"color": spec.color, "stroke": spec.stroke, "fill_opacity": spec.fill_opacity, "dim": spec.dim,
            "shape": spec.shape.value, "fade_out": spec.fade_out} == dict(DEFAULT_OVERLAY_STYLE)
    _raw, project, _wc = seed_clip(library)
    (doc,) = library.show_project(project)["clips"]
    assert doc["edit"]["overlay_style"] == dict(DEFAULT_OVERLAY_STYLE)


@pytest.mark.parametrize("t", [0.5, 2.0, 4.75, 4.85, 4.95])
def test_the_renderer_dims_and_rings_by_the_core_numbers(t: float) -> None:
    """Spotlight.apply on a flat grey picture: outside is dimmed by exactly dim_opacity, the
    ground ring is drawn where ring_ellipse puts it, the body stays as it was."""
    w, h, grey = 360, 640, 60
    style = OverlayStyle(shape=OverlayShape.GROUND)
    track = region("r", 0.5, 5.0, (0.0, 180.0, 300.0))
    (shown,) = shown_regions([track], t, style.fade_out)
    out = OutputMap(360.0, 640.0, 0.0, Box(0.0, 0.0, 360.0, 640.0), w, h)
    body = out.ellipse(shown.ellipse)
    buf = np.full(w * h * 3 // 2, 128, np.uint8)
    planes = yuv_views(buf, w, h)
    planes[0][:] = grey
    Spotlight(style, w, h).apply(planes, [(body, shown.alpha)])
    level = 1.0 - dim_opacity(style.dim, [shown.alpha])
    assert planes[0][20, 20] == pytest.approx(BLACK[0] + (grey - BLACK[0]) * level, abs=1)
    assert planes[0][round(body.y), round(body.x)] == grey  # the body is not dimmed
    ring = ring_ellipse(body, style.shape)
    top_of_ring = planes[0][round(ring.y - ring.ry), round(ring.x)]
    assert top_of_ring != grey  # the ring's line crosses its top
