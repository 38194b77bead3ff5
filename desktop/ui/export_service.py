"""The export panel's adapter over the export job runner (``core.export.jobs``): every call that
can block (keyring, GPU encoder test, submit, cancel) runs on the task hub."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from core.enums import ExportBackend, Upscaler, VideoEncoder
from core.export.jobs import JobRunner
from core.library import Library
from desktop.ui.workers import TaskHub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Quality:
    label: str
    crf: int
    preset: str


class ExportService(QObject):
    """Adapter over the export job runner: every call that can block runs on the task hub."""

    changed = Signal()
    modalChecked = Signal()
    encodersChecked = Signal()

    def __init__(self, library: Library, hub: TaskHub, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.hub = hub
        self.runner = JobRunner(library)
        self._modal: tuple[bool, str] = (False, "Checking the Modal set-up…")
        self.gpu_encoders: tuple[VideoEncoder, ...] = ()
        self.refresh_modal_status()
        self._detect_encoders()

    def _detect_encoders(self) -> None:
        """Test-encode with the GPU encoders on a worker (a driver can take a moment to answer)."""
        from core.export.encoders import available_hardware

        def done(found: tuple[VideoEncoder, ...]) -> None:
            self.gpu_encoders = found
            self.encodersChecked.emit()

        self.hub.submit(lambda report, cancelled: available_hardware(), name="detect encoders", on_result=done)

    def modal_status(self) -> tuple[bool, str]:
        """The last Modal set-up check (cheap: the panel asks on every refresh)."""
        return self._modal

    def refresh_modal_status(self) -> None:
        """Check the Modal set-up on a worker: it reads the OS keyring, which can block or prompt."""
        def done(status: tuple[bool, str]) -> None:
            self._modal = status
            self.modalChecked.emit()

        self.hub.submit(lambda report, cancelled: self._check_modal(), name="check modal", on_result=done)

    def _check_modal(self) -> tuple[bool, str]:
        try:
            return self.runner.modal_available()
        except Exception as exc:  # the keyring can fail in many ways: say so, keep local export
            log.exception("checking the Modal set-up failed")
            return False, f"Modal is unavailable: {type(exc).__name__}"

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
        self.hub.submit(lambda report, cancelled: self.runner.cancel(job_uid), name="cancel export",
                        on_finished=self.changed.emit)

    def retry(self, job_uid: str) -> None:
        self.hub.submit(lambda report, cancelled: self.runner.retry(job_uid), name="retry export",
                        on_finished=self.changed.emit)

    def close(self) -> None:
        self.runner.close()


__all__ = ["ExportService", "Quality"]
