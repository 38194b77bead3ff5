"""The clip's text overlays on the viewer: drawn into the crop box (the output frame) by the
export's own rasteriser at screen size, and moved by dragging (one gesture on release)."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage, QPainter

from core.enums import GestureKind
from core.export.spec import SpecError, TextElement, TextRegion
from core.gestures.model import Gesture
from core.text import anchor_point, element_spec, opacity, rasterise


class TextLayer:
    def __init__(self) -> None:
        self._clip_uid: str | None = None
        self._items: list[tuple[str, str, TextRegion, TextElement]] = []  # region uid, element uid, specs
        self._drag: dict[str, Any] | None = None

    def set_clip(self, clip_doc: Mapping[str, Any] | None) -> None:
        self._clip_uid = clip_doc["uid"] if clip_doc else None
        self._items = []
        for r in ((clip_doc or {}).get("edit") or {}).get("text_regions") or ():
            for e in r["elements"]:
                try:
                    el = element_spec(e)
                    region = TextRegion(r["uid"], r["start"], r["end"], (el,))
                except SpecError:
                    continue
                self._items.append((r["uid"], e["uid"], region, el))
        if self._drag is not None and self._drag["element"] not in {i[1] for i in self._items}:
            self._drag = None

    def _shown(self, box: QRectF, t: float) -> list[tuple[str, str, TextElement, float, QRectF, QImage]]:
        w, h = max(2, 2 * round(box.width() / 2)), max(2, 2 * round(box.height() / 2))
        out = []
        for region_uid, el_uid, region, el in self._items:
            a = opacity(region, el, t)
            if self._drag is not None and self._drag["element"] == el_uid:
                el, a = dataclasses.replace(el, x=self._drag["x"], y=self._drag["y"]), max(a, 0.5)
            if a <= 0:
                continue
            sp = rasterise(el, w, h)
            rgba = sp.rgba
            image = QImage(rgba.data, rgba.shape[1], rgba.shape[0], rgba.shape[1] * 4, QImage.Format.Format_RGBA8888)
            rect = QRectF(box.left() + sp.left * box.width() / w, box.top() + sp.top * box.height() / h,
                          rgba.shape[1] * box.width() / w, rgba.shape[0] * box.height() / h)
            out.append((region_uid, el_uid, el, a, rect, image.copy()))
        return out

    def paint(self, p: QPainter, box: QRectF, t: float) -> None:
        p.save()
        p.setClipRect(box)  # the export cuts text at the frame's edges too
        for *_ids, _el, a, rect, image in self._shown(box, t):
            p.setOpacity(a)
            p.drawImage(rect, image)
        p.restore()

    def press(self, pos: QPointF, box: QRectF, t: float) -> bool:
        """Start dragging the topmost element under ``pos``; True when one was hit."""
        for region_uid, el_uid, el, _a, rect, _image in reversed(self._shown(box, t)):
            if rect.contains(pos):
                x, y = anchor_point(el)
                self._drag = {"region": region_uid, "element": el_uid, "press": pos, "box": box,
                              "x0": x, "y0": y, "x": x, "y": y, "moved": False}
                return True
        return False

    def move(self, pos: QPointF) -> bool:
        d = self._drag
        if d is None:
            return False
        box = d["box"]
        d["x"] = round(min(1.0, max(0.0, d["x0"] + (pos.x() - d["press"].x()) / box.width())), 4)
        d["y"] = round(min(1.0, max(0.0, d["y0"] + (pos.y() - d["press"].y()) / box.height())), 4)
        d["moved"] = d["moved"] or (pos - d["press"]).manhattanLength() >= 2
        return True

    def release(self, pos: QPointF) -> Gesture | None:
        """End a drag: the gesture that moves the element (None when nothing moved)."""
        if self._drag is None:
            return None
        self.move(pos)
        d, self._drag = self._drag, None
        if not d["moved"] or self._clip_uid is None:
            return None
        return Gesture(GestureKind.UPDATE_TEXT_ELEMENT, self._clip_uid,
                       {"text_region": d["region"], "text_element": d["element"], "x": d["x"], "y": d["y"]})

    @property
    def dragging(self) -> bool:
        return self._drag is not None
