"""Text overlays of the open clip: regions (clip time ranges) holding text elements, an element
editor with style presets, and a preview of the element drawn by the export's own core code
(``core.text``) on a frame of the output's shape, so what is shown is what is exported."""
from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from core.enums import GestureKind, TextAlign, TextAnchor, TextFont
from core.gestures.schema import TEXT_DEFAULTS
from core.text import blend, element_spec, rasterise
from desktop.ui.title_card_panel import TitleCardPanel
from desktop.ui.region_panel import ClipRegionPanel, show_colour
from desktop.ui.refresh import gate, open_clip_changed
from desktop.ui.undo import EditorState
from resources import icon

log = logging.getLogger(__name__)

DEFAULT_TEXT_S = 2.0
PREVIEW_HEIGHT = 150
# Style presets: what one click sets on the selected element.
PRESETS: dict[str, dict[str, Any]] = {
    "Title": {"font": "condensed", "size": 0.1, "preset": "middle-center", "outline": 0.06, "shadow": 0.0,
              "color": "#FFFFFF", "align": "center"},
    "Lower third": {"font": "sans", "size": 0.045, "preset": "bottom-left", "outline": 0.0, "shadow": 0.08,
                    "color": "#FFFFFF", "align": "left"},
    "Score": {"font": "condensed", "size": 0.06, "preset": "top-right", "outline": 0.08, "shadow": 0.0,
              "color": "#FFD400", "align": "right"},
    "Caption": {"font": "serif", "size": 0.04, "preset": "bottom-center", "outline": 0.0, "shadow": 0.1,
                "color": "#FFFFFF", "align": "center"},
}
_FONT_NAMES = {TextFont.CONDENSED: "Condensed (display)", TextFont.SANS: "Sans", TextFont.SERIF: "Serif",
               TextFont.CJK: "CJK (中文・日本語)"}


class TextPanel(ClipRegionPanel):
    elementSelected = Signal(str)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 8, 10, 8)

        box = QGroupBox("Text regions")
        bl = QVBoxLayout(box)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Text", "From", "To"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.setMinimumHeight(90)
        self.tree.setMaximumHeight(160)
        bl.addWidget(self.tree)
        row = QHBoxLayout()
        self.add = QPushButton(icon("plus"), "Add text at playhead")
        self.add_element = QToolButton()
        self.add_element.setText("+")
        self.add_element.setToolTip("Add another text element to the selected region")
        self.delete = QToolButton()
        self.delete.setIcon(icon("trash"))
        self.delete.setToolTip("Delete the selected text element or region")
        row.addWidget(self.add)
        row.addStretch(1)
        row.addWidget(self.add_element)
        row.addWidget(self.delete)
        bl.addLayout(row)
        times = QHBoxLayout()
        self.start, self.end = QDoubleSpinBox(), QDoubleSpinBox()
        for spin, tip in ((self.start, "Shown from (clip time)"), (self.end, "Shown until (clip time)")):
            spin.setDecimals(2)
            spin.setSuffix(" s")
            spin.setSingleStep(0.1)
            spin.setKeyboardTracking(False)
            spin.setToolTip(tip)
            times.addWidget(spin)
        bl.addLayout(times)
        root.addWidget(box)

        edit = QGroupBox("Element")
        form = QFormLayout(edit)
        self.text = QLineEdit()
        self.text.setPlaceholderText("GOAL!")
        self.presets = QComboBox()
        self.presets.addItem("Apply a preset…", None)
        for name in PRESETS:
            self.presets.addItem(name, name)
        self.font_box = QComboBox()
        for f in TextFont:
            self.font_box.addItem(_FONT_NAMES[f], f.value)
        self.position = QComboBox()
        for a in TextAnchor:
            self.position.addItem(a.value.replace("-", " ").capitalize(), a.value)
        self.align = QComboBox()
        for al in TextAlign:
            self.align.addItem(al.value.capitalize(), al.value)
        self.size_spin = self._spin(0.5, 50.0, " % of height", 0.5)
        self.outline = self._spin(0.0, 25.0, " % of size", 1.0)
        self.shadow = self._spin(0.0, 25.0, " % of size", 1.0)
        self.fade_in = self._spin(0.0, 10.0, " s", 0.1)
        self.fade_out = self._spin(0.0, 10.0, " s", 0.1)
        self.colour = QPushButton()
        self.colour.setToolTip("Text colour")
        form.addRow("Text", self.text)
        form.addRow("Preset", self.presets)
        form.addRow("Font", self.font_box)
        form.addRow("Size", self.size_spin)
        form.addRow("Colour", self.colour)
        form.addRow("Position", self.position)
        form.addRow("Align", self.align)
        form.addRow("Outline", self.outline)
        form.addRow("Shadow", self.shadow)
        form.addRow("Fade in", self.fade_in)
        form.addRow("Fade out", self.fade_out)
        root.addWidget(edit)
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setToolTip("The element as the export draws it")
        root.addWidget(self.preview)
        self.title_card = TitleCardPanel(state)
        root.addWidget(self.title_card)
        root.addStretch(1)
        self._fields = (self.text, self.presets, self.font_box, self.position, self.align, self.size_spin, self.outline,
                        self.shadow, self.fade_in, self.fade_out, self.colour)

        self.add.clicked.connect(self.add_at_playhead)
        self.add_element.clicked.connect(self.add_element_to_region)
        self.delete.clicked.connect(self.delete_selected)
        self.tree.itemSelectionChanged.connect(self._fill_element)
        self.start.valueChanged.connect(lambda v: self._update_region(start=v))
        self.end.valueChanged.connect(lambda v: self._update_region(end=v))
        self.text.editingFinished.connect(lambda: self._update(text=self.text.text()))
        self.presets.activated.connect(self._apply_preset)
        for combo, key in ((self.font_box, "font"), (self.position, "preset"), (self.align, "align")):
            combo.activated.connect(lambda _i, c=combo, k=key: self._update(**{k: c.currentData(), **(
                {"x": None, "y": None} if k == "preset" else {})}))
        self.size_spin.valueChanged.connect(lambda v: self._update(size=round(v / 100, 4)))
        self.outline.valueChanged.connect(lambda v: self._update(outline=round(v / 100, 4)))
        self.shadow.valueChanged.connect(lambda v: self._update(shadow=round(v / 100, 4)))
        self.fade_in.valueChanged.connect(lambda v: self._update(fade_in=round(v, 3)))
        self.fade_out.valueChanged.connect(lambda v: self._update(fade_out=round(v, 3)))
        self.colour.clicked.connect(self._pick_colour)
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, open_clip_changed(state))
        for sig in (state.clipChanged, state.projectChanged):
            sig.connect(lambda *_: self.refresh_gate.request())
        self.refresh()

    @staticmethod
    def _spin(lo: float, hi: float, suffix: str, step: float) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(lo, hi)
        s.setDecimals(2)
        s.setSingleStep(step)
        s.setSuffix(suffix)
        s.setKeyboardTracking(False)
        return s

    # -- data ------------------------------------------------------------------------------------
    def regions(self) -> list[dict[str, Any]]:
        clip = self.state.clip_doc()
        return clip["edit"].get("text_regions", []) if clip else []

    def selected(self) -> tuple[str | None, str | None]:
        """(text region, element) uids of the selected row."""
        return self._selected_pair(self.tree)

    def selected_region(self) -> dict[str, Any] | None:
        uid, _el = self.selected()
        return next((r for r in self.regions() if r["uid"] == uid), None)

    def selected_element(self) -> dict[str, Any] | None:
        region, (_r, el) = self.selected_region(), self.selected()
        if region is None:
            return None
        return next((e for e in region["elements"] if e["uid"] == el), region["elements"][0] if region["elements"]
                    else None)

    def refresh(self) -> None:
        self.setEnabled(self.state.clip_doc() is not None)
        sel = self.selected()
        self.tree.blockSignals(True)
        self.tree.clear()
        for r in self.regions():
            item = QTreeWidgetItem([" · ".join(e["text"] for e in r["elements"]) or "(empty)",
                                    f"{r['start']:.2f} s", f"{r['end']:.2f} s"])
            item.setData(0, Qt.ItemDataRole.UserRole, (r["uid"], None))
            for e in r["elements"]:
                child = QTreeWidgetItem([e["text"], "", ""])
                child.setData(0, Qt.ItemDataRole.UserRole, (r["uid"], e["uid"]))
                item.addChild(child)
                child.setSelected((r["uid"], e["uid"]) == sel)
            self.tree.addTopLevelItem(item)
            item.setExpanded(True)
            item.setSelected((r["uid"], None) == sel)
        first = self.tree.topLevelItem(0)
        if not self.tree.selectedItems() and first is not None:
            first.setSelected(True)
        self.tree.blockSignals(False)
        self._fill_element()

    def _fill_element(self) -> None:
        region, el = self.selected_region(), self.selected_element()
        clip = self.state.clip_doc()
        for w in (*self._fields, self.start, self.end, self.delete, self.add_element):
            w.setEnabled(region is not None)
            w.blockSignals(True)
        try:
            if clip is not None:
                for spin in (self.start, self.end):
                    spin.setRange(0.0, clip["source"]["duration"])
            if region is not None:
                self.start.setValue(region["start"])
                self.end.setValue(region["end"])
            e = el or TEXT_DEFAULTS
            self.text.setText(e.get("text", ""))
            self.font_box.setCurrentIndex(max(0, self.font_box.findData(e["font"])))
            self.position.setCurrentIndex(max(0, self.position.findData(e["preset"])))
            self.align.setCurrentIndex(max(0, self.align.findData(e["align"])))
            self.size_spin.setValue(e["size"] * 100)
            self.outline.setValue(e["outline"] * 100)
            self.shadow.setValue(e["shadow"] * 100)
            self.fade_in.setValue(e["fade_in"])
            self.fade_out.setValue(e["fade_out"])
            self.presets.setCurrentIndex(0)
            show_colour(self.colour, e["color"])
        finally:
            for w in (*self._fields, self.start, self.end, self.delete, self.add_element):
                w.blockSignals(False)
        self._draw_preview(el)
        if el is not None:
            self.elementSelected.emit(el["uid"])

    def _draw_preview(self, el: dict[str, Any] | None) -> None:
        """The element on a dark frame of the reel's shape, drawn by core.text like the export."""
        aspect = self.state.aspect()
        h = PREVIEW_HEIGHT
        w = 2 * round(h * float(aspect.ratio) / 2)
        planes = (np.full((h, w), 40, np.uint8), np.full((h // 2, w // 2), 128, np.uint8),
                  np.full((h // 2, w // 2), 128, np.uint8))
        if el is not None:
            try:
                blend(planes, rasterise(element_spec(el), w, h), 1.0)
            except ValueError as e:  # a stale element the spec refuses: show nothing, say why
                log.warning("text preview: %s", e)
        i420 = np.concatenate([p.reshape(-1) for p in planes]).reshape(h * 3 // 2, w)
        rgb = np.ascontiguousarray(cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420))
        image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.preview.setPixmap(QPixmap.fromImage(image))

    # -- gestures --------------------------------------------------------------------------------
    def add_at_playhead(self) -> None:
        clip, t = self.state.clip_doc(), self.state.clip_time()
        if clip is None or t is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return
        dur = clip["source"]["duration"]
        start = min(t, max(0.0, dur - 0.5))
        result = self._apply(GestureKind.ADD_TEXT_REGION, {"start": round(start, 6),
                                                           "end": round(min(dur, start + DEFAULT_TEXT_S), 6)})
        if result is not None:
            region = result.created["text_region"]
            self._apply(GestureKind.ADD_TEXT_ELEMENT, {"text_region": region, "text": "GOAL!",
                                                       **PRESETS["Title"]})
            self.select(region)

    def add_element_to_region(self) -> None:
        region = self.selected_region()
        if region is not None:
            self._apply(GestureKind.ADD_TEXT_ELEMENT, {"text_region": region["uid"], "text": "Text",
                                                       **PRESETS["Lower third"]})

    def select(self, region: str, element: str | None = None) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == (region, element))

    def delete_selected(self) -> None:
        region, element = self.selected()
        if region is None:
            return
        if element is not None:
            self._apply(GestureKind.DELETE_TEXT_ELEMENT, {"text_region": region, "text_element": element})
        else:
            self._apply(GestureKind.DELETE_TEXT_REGION, {"text_region": region})

    def _update(self, **changes: Any) -> None:
        region, el = self.selected_region(), self.selected_element()
        if region is None or el is None:
            return
        if "text" in changes and not changes["text"].strip():
            self.state.message.emit("Text must not be empty", True)
            self._fill_element()
            return
        if all(el.get(k) == v for k, v in changes.items()):
            return
        self._apply(GestureKind.UPDATE_TEXT_ELEMENT, {"text_region": region["uid"], "text_element": el["uid"],
                                                      **changes}, merge_key=el["uid"])

    def _apply_preset(self, _index: int) -> None:
        name = self.presets.currentData()
        if name:
            self._update(**PRESETS[name])

    def _update_region(self, *, start: float | None = None, end: float | None = None) -> None:
        region = self.selected_region()
        if region is not None:
            self._retime(region, start, end, kind=GestureKind.UPDATE_TEXT_REGION, key="text_region", what="Text",
                         refill=self._fill_element)

    def _pick_colour(self) -> None:
        el = self.selected_element()
        colour = QColorDialog.getColor(QColor(el["color"] if el else "#FFFFFF"), self, "Text colour")
        if colour.isValid():
            self._update(color=colour.name().upper())
