"""Text overlays: the bundled fonts, rasterising elements once per output size, per-frame blending."""
from core.text.overlay import TextOverlay, TextState, blend, element_spec, opacity
from core.text.raster import Sprite, anchor_point, rasterise

__all__ = ["Sprite", "TextOverlay", "anchor_point", "TextState", "blend", "element_spec", "opacity", "rasterise"]
