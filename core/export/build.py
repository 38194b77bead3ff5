"""Building a RenderSpec from a project's latest working-clip versions.

The spec is a frozen copy stored on the export job, so edits made while a render runs never
change it. Reads only (through ``Library.show_project``, which uses the latest-version helper).
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

from core.editmath.output_size import output_size
from core.enums import AspectRatio, OverlayShape, TitleBackground, TransitionType, Upscaler, VideoEncoder
from core.export.spec import (
    SPEC_VERSION,
    ClipSpec,
    CropKeyframe,
    OutputSettings,
    OverlayStyle,
    RegionKeyframe,
    RenderSpec,
    SpecError,
    SpotlightRegion,
    TextRegion,
    TitleCard,
    Transition,
)
from core.library import Library
from core.text.overlay import element_spec

MAX_OUTPUT_FPS = Fraction(60)


def clip_spec(clip: Mapping[str, Any], aspect: AspectRatio, title: str = "") -> ClipSpec:
    src, ed = clip["source"], clip["edit"]
    style = ed["overlay_style"]
    trans = clip.get("transition") or {}
    return ClipSpec(
        uid=clip["uid"], media_hash=src["media"], src_start=src["start"], src_end=src["end"],
        fps_num=src["fps_num"], fps_den=src["fps_den"], width=src["width"], height=src["height"],
        aspect=aspect, rotation=float(ed["rotation"]),
        crop_keyframes=tuple(CropKeyframe(k["time"], k["x"], k["y"], k["width"], k["height"])
                             for k in ed["crop_keyframes"]),
        splits=tuple((s["uid"], s["time"]) for s in ed["splits"]),
        speeds=tuple((s["segment"], s["speed"]) for s in ed["speeds"] if s["speed"] != 1.0),
        trim=None if ed["trim"] is None else (ed["trim"]["start"], ed["trim"]["end"]),
        regions=tuple(SpotlightRegion(r["uid"], r["start"], r["end"], r["enabled"],
                                      tuple(RegionKeyframe(k["time"], k["x"], k["y"], k["rx"], k["ry"])
                                            for k in r["keyframes"]))
                      for r in ed["regions"] if r["keyframes"]),
        style=OverlayStyle(color=style["color"], stroke=style["stroke"], fill_opacity=style["fill_opacity"],
                           dim=style["dim"], shape=OverlayShape(style["shape"]), fade_out=style["fade_out"]),
        transition_in=Transition(TransitionType(trans.get("type", "cut")), float(trans.get("duration", 0.0))),
        text_regions=tuple(TextRegion(r["uid"], r["start"], r["end"], tuple(element_spec(e) for e in r["elements"]))
                           for r in ed.get("text_regions", []) if r["elements"]),
        title=title,
    )


def _title(library: Library, clip: Mapping[str, Any], index: int) -> str:
    raw = library.raw_clip(clip["raw_clip"]) or {}
    return (raw.get("name") or "").strip() or f"Clip {index + 1}"


def build_spec(library: Library, project_uid: str, *, upscaler: Upscaler = Upscaler.NONE, crf: int = 20,
               preset: str = "medium", audio: bool = True, fps: Fraction | None = None,
               size: tuple[int, int] | None = None,
               encoder: VideoEncoder = VideoEncoder.X264) -> RenderSpec:
    """The RenderSpec of a project's latest state. Raises SpecError with a clear message."""
    doc = library.show_project(project_uid)
    if doc["project"]["deleted"]:
        raise SpecError("this project was deleted")
    if not doc["clips"]:
        raise SpecError("the project has no clips to export")
    aspect = AspectRatio(doc["project"]["aspect"])
    clips = [clip_spec(c, aspect, _title(library, c, i)) for i, c in enumerate(doc["clips"])]
    if fps is None:
        # The highest source rate (capped): slower sources are conformed up, none is dropped.
        fps = min(max(c.fps for c in clips), MAX_OUTPUT_FPS)
    if size is None:
        # The preset, with or without an upscaler: upscaling never changes the output size.
        size = output_size(aspect)
    output = OutputSettings(width=size[0], height=size[1], fps_num=fps.numerator, fps_den=fps.denominator,
                            crf=crf, preset=preset, audio=audio, upscaler=upscaler, encoder=encoder)
    return RenderSpec(version=SPEC_VERSION, project_uid=project_uid, aspect=aspect, clips=tuple(clips),
                      output=output, title_card=_title_card(doc.get("title_card")))


def _title_card(card: Mapping[str, Any] | None) -> TitleCard | None:
    if not card:
        return None
    return TitleCard(duration=float(card["duration"]), background=TitleBackground(card["background"]),
                     color=card["color"], working_clip=card["working_clip"], time=float(card["time"]),
                     blur=float(card["blur"]), dim=float(card["dim"]),
                     elements=tuple(element_spec(e) for e in card["elements"]))
