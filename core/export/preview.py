"""The program view's entry point: a project's latest state, as the export would render it.

The window's Program view and ``reeldesk preview`` both go through here: the RenderSpec an export
of the project would get now (``build_spec``, the export's defaults) and ``ProgramPreview``, which
composes its frames with the export's own per-frame function at preview size.
"""
from __future__ import annotations

from core.export.build import build_spec
from core.export.program import ProgramPreview
from core.export.spec import RenderSpec
from core.library import Library

__all__ = ["open_preview", "preview_spec"]


def preview_spec(library: Library, project_uid: str) -> RenderSpec:
    """What an export with the default settings would render now (raises SpecError)."""
    return build_spec(library, project_uid)


def open_preview(library: Library, project_uid: str, width: int | None = None) -> ProgramPreview:
    """The project's program pictures at ``width`` pixels wide (None: the export's size)."""
    return ProgramPreview(preview_spec(library, project_uid), library.media_path, width)
