"""The export panel's adapter over the export job runner (``core.export.jobs``): probed at start,
every call that can block (keyring, GPU encoder test, submit) runs on the task hub."""
from __future__ import annotations

import dataclasses
import importlib
import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from core.enums import ExportBackend, Upscaler, VideoEncoder
from core.library import Library
from desktop.ui.workers import TaskHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quality:
    label: str
    crf: int
    preset: str


def read_jobs(library: Library, limit: int = 200) -> list[dict[str, Any]]:
    """Export job rows, newest first, as plain dicts (no spec)."""
    from core.export.jobs import ExportJobs

    rows = [dataclasses.asdict(job) for job in ExportJobs(library).list(limit=limit)]
    for row in rows:
        del row["spec_json"]
    return rows


class ExportService(QObject):
    """Adapter over the export job runner (``core.export.jobs``), probed at start."""

    changed = Signal()
    modalChecked = Signal()
    encodersChecked = Signal()

    def __init__(self, library: Library, hub: TaskHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.hub = hub
        self.runner: Any = None
        self.reason = ""
        self._modal: tuple[bool, str] = (False, "Checking the Modal set-up…")
        self.gpu_encoders: tuple[VideoEncoder, ...] = ()
        try:
            jobs = importlib.import_module("core.export.jobs")
        except ImportError:
            self.reason = "Export jobs are not part of this build yet"
            return
        factory = getattr(jobs, "JobRunner", None) or getattr(jobs, "ExportJobs", None)
        if factory is None:
            self.reason = "This build's export module has no job runner"
            return
        try:
            self.runner = factory(library)
        except Exception as exc:
            log.exception("cannot start the export job runner")
            self.reason = f"Export is unavailable: {type(exc).__name__}"
            return
        self.refresh_modal_status()
        self._detect_encoders()

    def _detect_encoders(self) -> None:
        """Test-encode with the GPU encoders on a worker (a driver can take a moment to answer)."""
        from core.export.encoders import available_hardware

        def done(found: tuple[VideoEncoder, ...]) -> None:
            self.gpu_encoders = found
            self.encodersChecked.emit()

        self.hub.submit(lambda report, cancelled: available_hardware(), name="detect encoders", on_result=done)

    @property
    def available(self) -> bool:
        return self.runner is not None

    def modal_status(self) -> tuple[bool, str]:
        """The last Modal set-up check (cheap: the panel asks on every refresh)."""
        return (False, self.reason) if not self.available else self._modal

    def refresh_modal_status(self) -> None:
        """Check the Modal set-up on a worker: it reads the OS keyring, which can block or prompt."""
        def done(status: tuple[bool, str]) -> None:
            self._modal = status
            self.modalChecked.emit()

        self.hub.submit(lambda report, cancelled: self._check_modal(), name="check modal", on_result=done)

    def _check_modal(self) -> tuple[bool, str]:
        check = getattr(self.runner, "modal_available", None)
        if callable(check):
            try:
                ok = check()
                return (bool(ok[0]), ok[1]) if isinstance(ok, tuple) else (bool(ok), "")
            except Exception as exc:
                return False, f"Modal is unavailable: {type(exc).__name__}"
        from desktop.ui.settings_dialog import modal_secret_stored
        if not modal_secret_stored(self.library):
            return False, "Add a Modal token in Settings → Export to render on cloud GPUs"
        return True, ""

    def submit(self, project_uid: str, backend: ExportBackend, upscaler: Upscaler, quality: Quality,
               on_done, on_error, **options: Any) -> None:
        """``options``: size, encoder, out (see ExportJobs.create)."""
        runner = self.runner

        def work(report, cancelled):
            return runner.submit(project_uid, backend=backend, upscaler=upscaler, crf=quality.crf,
                                 preset=quality.preset, **options)

        self.hub.submit(work, name="submit export", on_result=on_done, on_error=on_error,
                        on_finished=self.changed.emit)

    def cancel(self, job_uid: str) -> None:
        self._call("cancel", job_uid)

    def retry(self, job_uid: str) -> None:
        self._call("retry", job_uid)

    def _call(self, name: str, job_uid: str) -> None:
        fn = getattr(self.runner, name, None)
        if fn is None:
            return
        self.hub.submit(lambda report, cancelled: fn(job_uid), name=f"{name} export",
                        on_finished=self.changed.emit)

    def close(self) -> None:
        close = getattr(self.runner, "close", None) or getattr(self.runner, "stop", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.exception("stopping the export runner failed")


__all__ = ["ExportService", "Quality", "read_jobs"]
