"""The export panel's "Download the AI model" button: fetches the Real-ESRGAN weights on a worker
(``core.export.ai_local.fetch_weights``: checked against their SHA-256 before they are kept) and
shows how far it got, for a computer that has the GPU packages but not yet the weights."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from core.export.ai_local import fetch_weights
from desktop.ui.workers import TaskHub

_IDLE_TEXT = "Download the AI model (64 MB)"


class ModelFetch(QWidget):
    fetched = Signal(object)  # Path of the weights
    failed = Signal(str)

    def __init__(self, hub: TaskHub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hub = hub
        self.button = QPushButton(_IDLE_TEXT)
        self.progress = QLabel()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.progress, 1)
        self.button.clicked.connect(self.start)

    def start(self) -> None:
        self.button.setEnabled(False)
        self.button.setText("Downloading…")

        def work(report: Callable[[Any], None], _cancelled: Callable[[], bool]) -> Path:
            return fetch_weights(on_progress=lambda done, total: report((done, total)))

        self.hub.submit(work, name="fetch the AI model", on_result=self._done, on_error=self._failed,
                        on_progress=self._show)

    def _show(self, step: tuple[int, int | None]) -> None:
        done, total = step
        self.progress.setText(f"{done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB")

    def _reset(self) -> None:
        self.button.setEnabled(True)
        self.button.setText(_IDLE_TEXT)
        self.progress.clear()

    def _done(self, path: Path) -> None:
        self._reset()
        self.fetched.emit(path)

    def _failed(self, reason: str) -> None:
        self._reset()
        self.failed.emit(reason)
