"""Spotlight mode inspector: regions (time ranges with ellipse keyframes) and the overlay style.

Regions live in source time and pixels (docs/ARCHITECTURE.md, "Edit math"), so a new region's first ellipse is placed in
the middle of the crop box at the playhead, where the player most likely is. Style sliders commit
on release; keyboard nudges merge into one undo step.
"""
from __future__ import annotations

import logging
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QColorDialog, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QPushButton, QSlider, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from core.editmath import interpolate
from core.enums import GestureKind, OverlayShape
from core.editmath.spotlight import DEFAULT_OVERLAY_STYLE
from desktop.ui import theme
from desktop.ui.clip_doc import crop_box_at
from desktop.ui.keymap import key_hint
from desktop.ui.region_panel import ClipRegionPanel, show_colour
from desktop.ui.refresh import gate, open_clip_changed
from desktop.ui.undo import EditorState
from desktop.ui.window_fit import MIN_ROWS, rows_height
from resources import icon

log = logging.getLogger(__name__)

DEFAULT_REGION_S = 3.0
_PROPS = ("x", "y", "rx", "ry")


def region_ellipse_at(region: dict[str, Any], t: float) -> dict[str, float] | None:
    """The region's ellipse at clip time ``t`` (same interpolation as the renderer)."""
    track = [(k["time"], k) for k in sorted(region["keyframes"], key=lambda k: k["time"])]
    return interpolate(track, t, _PROPS)


class SpotlightPanel(ClipRegionPanel):
    regionSelected = Signal(str)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(10)

        regions = QGroupBox("Regions")
        rl = QVBoxLayout(regions)
        self.regions = QTreeWidget()
        self.regions.setHeaderLabels(["Spotlight", "From", "To", "Keys"])
        self.regions.setRootIsDecorated(True)
        self.regions.setUniformRowHeights(True)
        self.regions.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.regions.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.regions.setMinimumHeight(rows_height(self.regions, MIN_ROWS))
        self.regions.setMaximumHeight(rows_height(self.regions, 2 * MIN_ROWS))
        rl.addWidget(self.regions)
        row = QHBoxLayout()
        self.add_region = QPushButton(icon("ellipse"), "Add at playhead  (R)")
        self.add_key = QToolButton()
        self.add_key.setIcon(icon("keyframe"))
        self.add_key.setToolTip("Add an ellipse keyframe to the selected region at the playhead "
                                f"({key_hint('add_keyframe')})")
        self.delete = QToolButton()
        self.delete.setIcon(icon("trash"))
        self.delete.setToolTip("Delete the selected region or keyframe (Del)")
        row.addWidget(self.add_region)
        row.addStretch(1)
        row.addWidget(self.add_key)
        row.addWidget(self.delete)
        rl.addLayout(row)
        times = QHBoxLayout()
        self.start = QDoubleSpinBox()
        self.end = QDoubleSpinBox()
        for spin, tip in ((self.start, "Region start (clip time)"), (self.end, "Region end (clip time)")):
            spin.setDecimals(2)
            spin.setSuffix(" s")
            spin.setSingleStep(0.1)
            spin.setToolTip(tip)
            spin.setKeyboardTracking(False)
        self.set_start_here = QToolButton()
        self.set_start_here.setIcon(icon("mark-in"))
        self.set_start_here.setToolTip("Start the region at the playhead")
        self.set_end_here = QToolButton()
        self.set_end_here.setIcon(icon("mark-out"))
        self.set_end_here.setToolTip("End the region at the playhead")
        times.addWidget(self.set_start_here)
        times.addWidget(self.start, 1)
        times.addWidget(self.end, 1)
        times.addWidget(self.set_end_here)
        rl.addLayout(times)
        root.addWidget(regions)

        style = QGroupBox("Style")
        sf = QFormLayout(style)
        sf.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.colour = QPushButton()
        self.colour.setToolTip("Ring colour")
        self.colour.setMinimumWidth(90)
        self.stroke = QDoubleSpinBox()
        self.stroke.setRange(0.0, 50.0)
        self.stroke.setDecimals(1)
        self.stroke.setSuffix(" px")
        self.stroke.setToolTip("Ring thickness, in pixels of a 1080-pixel-high output")
        self.fill = self._percent_slider("Fill inside the ellipse")
        self.dim = self._percent_slider("Darken everything outside the ellipse")
        self.shape = QComboBox()
        self.shape.addItem("Body ring", OverlayShape.BODY.value)
        self.shape.addItem("Ground ellipse", OverlayShape.GROUND.value)
        self.fade = QDoubleSpinBox()
        self.fade.setRange(0.0, 5.0)
        self.fade.setDecimals(2)
        self.fade.setSingleStep(0.1)
        self.fade.setSuffix(" s")
        self.fade.setToolTip("Fade-out at the end of each region")
        for spin in (self.stroke, self.fade):
            spin.setKeyboardTracking(False)
        sf.addRow("Colour", self.colour)
        sf.addRow("Stroke", self.stroke)
        sf.addRow("Fill", self.fill)
        sf.addRow("Dim outside", self.dim)
        sf.addRow("Shape", self.shape)
        sf.addRow("Fade out", self.fade)
        root.addWidget(style)
        root.addStretch(1)

        self.add_region.clicked.connect(self.add_region_at_playhead)
        self.add_key.clicked.connect(self.add_keyframe)
        self.delete.clicked.connect(self.delete_selected)
        self.regions.itemSelectionChanged.connect(self._selection_changed)
        self.regions.itemChanged.connect(self._item_changed)
        self.start.valueChanged.connect(lambda v: self._update_region(start=v))
        self.end.valueChanged.connect(lambda v: self._update_region(end=v))
        self.set_start_here.clicked.connect(lambda: self._update_region(start=self.state.clip_time() or 0.0))
        self.set_end_here.clicked.connect(lambda: self._update_region(end=self.state.clip_time() or 0.0))
        self.colour.clicked.connect(self._pick_colour)
        self.stroke.valueChanged.connect(lambda v: self._style(stroke=round(v, 2)))
        self.fade.valueChanged.connect(lambda v: self._style(fade_out=round(v, 2)))
        self.shape.activated.connect(lambda _i: self._style(shape=self.shape.currentData()))
        for slider, key in ((self.fill, "fill_opacity"), (self.dim, "dim")):
            slider.sliderReleased.connect(lambda s=slider, k=key: self._style(**{k: s.value() / 100}))
            slider.valueChanged.connect(lambda v, s=slider, k=key: None if s.isSliderDown()
                                        else self._style(merge=True, **{k: v / 100}))
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, open_clip_changed(state))
        for sig in (state.clipChanged, state.projectChanged):
            sig.connect(lambda *_: self.refresh_gate.request())
        self.refresh()

    @staticmethod
    def _percent_slider(tip: str) -> QSlider:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(0, 100)
        s.setPageStep(10)
        s.setToolTip(tip)
        return s

    # -- data ------------------------------------------------------------------------------------
    def clip(self) -> dict[str, Any] | None:
        return self.state.clip_doc()

    def refresh(self) -> None:
        clip = self.clip()
        self.setEnabled(clip is not None)
        sel_region, sel_key = self.selected()
        self.regions.blockSignals(True)
        self.regions.clear()
        for n, r in enumerate(clip["edit"]["regions"] if clip else [], 1):
            item = QTreeWidgetItem([f"#{n}", f"{r['start']:.2f} s", f"{r['end']:.2f} s", str(len(r["keyframes"]))])
            item.setData(0, Qt.ItemDataRole.UserRole, (r["uid"], None))
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(0, Qt.CheckState.Checked if r.get("enabled", True) else Qt.CheckState.Unchecked)
            item.setToolTip(0, "Untick to hide this spotlight without deleting it")
            item.setIcon(0, icon("ellipse"))
            for k in r["keyframes"]:
                child = QTreeWidgetItem([f"◆ {k['time']:.2f} s", "", "", ""])
                child.setData(0, Qt.ItemDataRole.UserRole, (r["uid"], k["uid"]))
                child.setForeground(0, theme.KEYFRAME)
                item.addChild(child)
                child.setSelected(k["uid"] == sel_key)
            self.regions.addTopLevelItem(item)
            item.setSelected(r["uid"] == sel_region and sel_key is None)
            if r["uid"] == sel_region:
                item.setExpanded(True)
        first = self.regions.topLevelItem(0)
        if sel_region is None and first is not None:
            first.setSelected(True)  # so the time fields show something real
        self.regions.blockSignals(False)
        self._fill_times()
        self._fill_style(clip)

    def _fill_times(self) -> None:
        clip = self.clip()
        region = self.selected_region()
        enabled = clip is not None and region is not None
        for w in (self.start, self.end, self.set_start_here, self.set_end_here, self.add_key, self.delete):
            w.setEnabled(enabled)
        if clip is None:
            return
        dur = clip["source"]["duration"]
        for spin in (self.start, self.end):
            spin.blockSignals(True)
            spin.setRange(0.0, dur)
        if region is not None:
            self.start.setValue(region["start"])
            self.end.setValue(region["end"])
        for spin in (self.start, self.end):
            spin.blockSignals(False)

    def _fill_style(self, clip: dict[str, Any] | None) -> None:
        style = clip["edit"]["overlay_style"] if clip else DEFAULT_OVERLAY_STYLE
        widgets = (self.stroke, self.fade, self.fill, self.dim, self.shape)
        for w in widgets:
            w.blockSignals(True)
        self.stroke.setValue(float(style["stroke"]))
        self.fade.setValue(float(style["fade_out"]))
        if not self.fill.isSliderDown():
            self.fill.setValue(round(float(style["fill_opacity"]) * 100))
        if not self.dim.isSliderDown():
            self.dim.setValue(round(float(style["dim"]) * 100))
        self.shape.setCurrentIndex(max(0, self.shape.findData(style["shape"])))
        for w in widgets:
            w.blockSignals(False)
        show_colour(self.colour, style["color"])

    def selected(self) -> tuple[str | None, str | None]:
        """(region, keyframe) uids of the selected row."""
        return self._selected_pair(self.regions)

    def selected_region(self) -> dict[str, Any] | None:
        uid, _k = self.selected()
        clip = self.clip()
        if uid is None or clip is None:
            return None
        return next((r for r in clip["edit"]["regions"] if r["uid"] == uid), None)

    def select_region(self, uid: str) -> None:
        for i in range(self.regions.topLevelItemCount()):
            item = self.regions.topLevelItem(i)
            if item is not None:
                item.setSelected(item.data(0, Qt.ItemDataRole.UserRole)[0] == uid)

    def _selection_changed(self) -> None:
        self._fill_times()
        region_uid, key_uid = self.selected()
        region = self.selected_region()
        if region is None:
            return
        if key_uid is not None:
            k = next((k for k in region["keyframes"] if k["uid"] == key_uid), None)
            if k is not None:
                self.state.seek_clip(k["time"])
        self.regionSelected.emit(region_uid)

    # -- gestures --------------------------------------------------------------------------------
    def default_ellipse(self, t: float) -> dict[str, float]:
        clip = self.clip()
        assert clip is not None
        box = crop_box_at(clip, self.state.aspect(), t)
        rx = max(8.0, box.width * 0.12)
        ry = min(box.height * 0.3, rx * 2.2)
        cx, cy = box.center
        return {"x": round(cx, 2), "y": round(cy, 2), "rx": round(rx, 2), "ry": round(ry, 2)}

    def add_region_at_playhead(self) -> None:
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return
        dur = clip["source"]["duration"]
        start = min(t, max(0.0, dur - 0.5))
        end = min(dur, start + DEFAULT_REGION_S)
        # Floored, not rounded: a start a hair after the playhead would hide the new ring right here.
        # Applied here, not on the write worker: the created region's row is selected by its uid.
        result = self._apply(GestureKind.ADD_REGION, {"start": math.floor(start * 1e6) / 1e6, "end": round(end, 6),
                                                      **self.default_ellipse(start)})
        if result is not None and result.created.get("region"):
            self.refresh()
            self.select_region(result.created["region"])

    def add_keyframe(self) -> None:
        region, t = self.selected_region(), self.state.clip_time()
        if region is None or t is None:
            self.state.message.emit("Select a spotlight region first", True)
            return
        ellipse = region_ellipse_at(region, t) or self.default_ellipse(t)
        self._apply(GestureKind.ADD_REGION_KEYFRAME, {"region": region["uid"], "time": round(t, 6),
                                                      **{k: round(v, 2) for k, v in ellipse.items()}})

    def delete_selected(self) -> None:
        region_uid, key_uid = self.selected()
        if region_uid is None:
            self.state.message.emit("Select a spotlight region or keyframe to delete", True)
            return
        if key_uid is not None:
            self._apply(GestureKind.DELETE_REGION_KEYFRAME, {"region": region_uid, "keyframe": key_uid})
        else:
            self._apply(GestureKind.DELETE_REGION, {"region": region_uid})

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        region_uid, key_uid = item.data(0, Qt.ItemDataRole.UserRole)
        if column == 0 and key_uid is None:
            enabled = item.checkState(0) == Qt.CheckState.Checked
            self._apply(GestureKind.TOGGLE_REGION, {"region": region_uid, "enabled": enabled})

    def _update_region(self, *, start: float | None = None, end: float | None = None) -> None:
        region = self.selected_region()
        if region is not None:
            self._retime(region, start, end, kind=GestureKind.UPDATE_REGION, key="region", what="A spotlight",
                         refill=self._fill_times)

    def _pick_colour(self) -> None:
        clip = self.clip()
        if clip is None:
            return
        colour = QColorDialog.getColor(QColor(clip["edit"]["overlay_style"]["color"]), self, "Spotlight colour")
        if colour.isValid():
            self._style(color=colour.name().upper())

    def _style(self, merge: bool = False, **values: Any) -> None:
        clip = self.clip()
        if clip is None:
            return
        style = clip["edit"]["overlay_style"]
        changed = {k: v for k, v in values.items() if style.get(k) != v}
        if changed:
            self._apply(GestureKind.SET_OVERLAY_STYLE, changed,
                        merge_key=("style:" + ",".join(sorted(changed))) if merge else None)


__all__ = ["SpotlightPanel", "region_ellipse_at"]
