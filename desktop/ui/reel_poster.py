"""The export panel's reel poster: the first clip's frame, rotated and cropped as it will be exported."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QWidget

from core.enums import AspectRatio
from core.gestures.model import canonical_json
from desktop.ui import theme

POSTER_W = 140


class ReelPoster(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(POSTER_W, POSTER_W * 16 // 9)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(f"background: {theme.BG.name()}; border: 1px solid {theme.BORDER.name()};"
                           f" border-radius: 4px; color: {theme.TEXT_DISABLED.name()};")
        self._source: Any = None  # FrameSource decoding the current picture
        self._key = ""

    def close_source(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
            self._key = ""

    def show_text(self, text: str) -> None:
        self.setPixmap(QPixmap())
        self.setText(text)

    def show_clip(self, path: Path, clip: dict[str, Any], aspect: AspectRatio) -> None:
        """Decode ``clip``'s frame from ``path`` (the media file) on the frame source's thread."""
        self.setFixedSize(POSTER_W, round(POSTER_W / float(aspect.ratio)))
        if not path.is_file():
            self.show_text("media not\non this machine")
            return
        from desktop.ui.frame_panel import crop_box_at
        from desktop.ui.frame_source import FrameSource

        # The summary refreshes on every option change; decode again only when the picture changes.
        key = canonical_json([clip["source"], clip["edit"]["crop_keyframes"], clip["edit"]["rotation"],
                              aspect.value])
        if key == self._key and self._source is not None:
            return
        self._key = key
        if self._source is not None:
            self._source.close()
            self._source.deleteLater()
        source = self._source = FrameSource(path, parent=self)
        t = 0.5 if clip["source"]["duration"] > 1.0 else 0.0
        box = crop_box_at(clip, aspect, t)
        rotation = float(clip["edit"]["rotation"])

        def ready(_t: float, image: QImage) -> None:
            if source is not self._source:
                return
            # Rotate about the centre first (as the renderer does), then cut the crop box out.
            if rotation:
                cx, cy = image.width() / 2, image.height() / 2
                rotated = QImage(image.size(), QImage.Format.Format_RGB32)
                rotated.fill(0)
                painter = QPainter(rotated)
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
                painter.translate(cx, cy)
                painter.rotate(rotation)
                painter.translate(-cx, -cy)
                painter.drawImage(0, 0, image)
                painter.end()
                image = rotated
            sx = image.width() / clip["source"]["width"]
            cut = image.copy(round(box.x * sx), round(box.y * sx), round(box.width * sx), round(box.height * sx))
            self.setPixmap(QPixmap.fromImage(cut).scaled(
                self.size(), Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

        source.frameReady.connect(ready)
        source.request(clip["source"]["start"] + t)
