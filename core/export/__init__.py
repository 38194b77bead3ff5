"""Export: RenderSpec, the one-pass render pipeline, export jobs and their backends (docs/ARCHITECTURE.md, "Export").

Names are imported lazily: the Modal container and the render worker import
``core.export.render`` without pulling in the database layer (SQLAlchemy) that jobs need.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "RenderSpec": "core.export.spec",
    "SpecError": "core.export.spec",
    "render": "core.export.render",
    "Progress": "core.export.render",
    "RenderError": "core.export.render",
    "RenderCancelled": "core.export.render",
    "build_spec": "core.export.build",
    "ExportJobs": "core.export.jobs",
    "JobRunner": "core.export.jobs",
    "Job": "core.export.jobs",
    "FinalVideoInfo": "core.reads.jobs",
    "JobStateError": "core.export.jobs",
    "JobNotFound": "core.export.jobs",
    "LocalBackend": "core.export.local_backend",
    "ModalBackend": "core.export.modal_backend",
    "ModalClient": "core.export.modal_backend",
    "ModalNotConfigured": "core.export.modal_backend",
    "ModalUnreachable": "core.export.modal_backend",
    "Presigner": "core.export.modal_backend",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.export' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
