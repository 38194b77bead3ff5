"""The timeline's filmstrip thumbnails: loaded and scaled off the UI thread, in small batches."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Thumbs:
    """Thumbnails at timeline times (sorted); an image is None until it is loaded."""
    times: list[float] = field(default_factory=list)
    images: list[QImage | None] = field(default_factory=list)
    pixmaps: dict[int, QPixmap] = field(default_factory=dict)
    aspect: float = 16 / 9

    def pixmap(self, i: int) -> QPixmap | None:
        """Thumbnail ``i`` as a pixmap (made once, on the UI thread), or None while loading."""
        pixmap = self.pixmaps.get(i)
        if pixmap is None:
            image = self.images[i]
            if image is None:
                return None
            pixmap = QPixmap.fromImage(image)
            self.pixmaps[i] = pixmap
        return pixmap


class ThumbSignals(QObject):
    loaded = Signal(int, object)  # generation, [(index, QImage)]


class ThumbLoader(QRunnable):
    """Loads and scales thumbnail files off the UI thread, in small batches."""

    BATCH = 32

    def __init__(self, signals: ThumbSignals, generation: int, items: list[tuple[int, Path]],
                 height: int, cancelled: threading.Event) -> None:
        super().__init__()
        self._signals, self._generation, self._items = signals, generation, items
        self._height, self._cancelled = height, cancelled

    def run(self) -> None:
        batch: list[tuple[int, QImage]] = []
        for index, path in self._items:
            if self._cancelled.is_set():
                return
            image = QImage(str(path))
            if image.isNull():
                log.debug("thumbnail %s could not be read", path)
                continue
            batch.append((index, image.scaledToHeight(self._height, Qt.TransformationMode.SmoothTransformation)))
            if len(batch) >= self.BATCH:
                self._signals.loaded.emit(self._generation, batch)
                batch = []
        if batch and not self._cancelled.is_set():
            self._signals.loaded.emit(self._generation, batch)


__all__ = ["ThumbLoader", "ThumbSignals", "Thumbs"]
