"""Chapters of an exported reel: one per clip, titled with the clip's name, starting where the
clip starts in the output (after speed changes; a dissolve starts the next chapter where the
next clip begins to show)."""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from core.export.spec import RenderSpec

if TYPE_CHECKING:
    from av.container.core import Chapter  # a TypedDict of PyAV's type stubs only

TIME_BASE = Fraction(1, 1000)  # what MP4 chapter tracks store


def chapters(spec: RenderSpec, lead: float = 0.0) -> list[Chapter]:
    """Chapter dicts in the form PyAV's ``Container.set_chapters`` takes; with a title card of
    ``lead`` seconds the clips start that much later and the first chapter includes the card."""
    starts = [0.0, *(lead + t for t in spec.clip_starts()[1:]), lead + spec.output_duration]
    return [
        {"id": i + 1, "start": round(starts[i] / TIME_BASE), "end": round(starts[i + 1] / TIME_BASE),
         "time_base": TIME_BASE, "metadata": {"title": clip.title or f"Clip {i + 1}"}}
        for i, clip in enumerate(spec.clips)
    ]
