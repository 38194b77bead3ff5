"""Frame mode inspector: aspect, crop keyframes, copy/paste crop, splits, speeds, trim, rotation.

Crop values shown and copied come from ``core.editmath.crop_at`` on the latest version, the same
function the renderer uses, so what is pasted is exactly what was on screen. Output durations come
from ``core.editmath.Timeline`` (live while a custom speed is being typed, before it is applied).
"""
from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QFormLayout, QFrame, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton, QToolButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from core.editmath import MAX_ROTATION_DEG, Box, clamp_to_safe
from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture
from desktop.ui import theme
from desktop.ui.clip_doc import clip_timeline, crop_box_at, crop_from_clipboard, is_outdated, unrounded
from desktop.ui.keymap import key_hint
from desktop.ui.rotation_control import RotationControl
from desktop.ui.refresh import gate, open_clip_changed
from desktop.ui.undo import EditorState, fmt_px, fmt_time
from desktop.ui.window_fit import MIN_ROWS, rows_height
from resources import icon

log = logging.getLogger(__name__)

_ASPECT_LABELS = {"9:16": "9:16 vertical", "16:9": "16:9 landscape", "1:1": "1:1 square", "4:5": "4:5 portrait"}


class FramePanel(QWidget):
    """Inspector of the Frame mode."""

    straightenToggled = Signal(bool)
    keyframeSelected = Signal(str)
    rotationPreviewed = Signal(float)  # degrees while the slider is dragged (nothing saved yet)

    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._clipboard: dict[str, float] | None = None

        root = QVBoxLayout(self)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(10)

        # outdated-range banner
        self.banner = QFrame()
        self.banner.setStyleSheet(f"QFrame {{ background: {theme.PANEL_HI.name()}; border-left: 3px solid "
                                  f"{theme.ACCENT.name()}; border-radius: 3px; }} QLabel {{ border: none; }}")
        bl = QVBoxLayout(self.banner)
        self.banner_text = QLabel("This clip's range was changed in Annotate after it was framed.")
        self.banner_text.setWordWrap(True)
        bb = QHBoxLayout()
        self.use_new = QPushButton("Use the new range")
        self.use_new.setToolTip("Re-frame with the new range: keyframes, splits and spotlights are rescaled")
        self.keep_old = QPushButton("Keep")
        bb.addWidget(self.use_new)
        bb.addWidget(self.keep_old)
        bb.addStretch(1)
        bl.addWidget(self.banner_text)
        bl.addLayout(bb)
        self.banner.hide()
        root.addWidget(self.banner)

        # reel
        reel = QGroupBox("Reel")
        rf = QFormLayout(reel)
        self.aspect = QComboBox()
        for a in AspectRatio:
            self.aspect.addItem(_ASPECT_LABELS[a.value], a.value)
        self.duration_label = QLabel("—")
        self.duration_label.setFont(theme.mono_font(9.5))
        self.duration_label.setWordWrap(True)
        self.reel_duration = QLabel("—")
        self.reel_duration.setFont(theme.mono_font(9.5))
        rf.addRow("Aspect", self.aspect)
        rf.addRow("This clip", self.duration_label)
        rf.addRow("Whole reel", self.reel_duration)
        root.addWidget(reel)

        # crop
        crop = QGroupBox("Crop keyframes")
        cl = QVBoxLayout(crop)
        self.keyframes = QTreeWidget()
        self.keyframes.setHeaderLabels(["Time", "Centre", "Size"])
        self.keyframes.setRootIsDecorated(False)
        self.keyframes.setUniformRowHeights(True)
        self.keyframes.setAlternatingRowColors(True)
        self.keyframes.setMinimumHeight(rows_height(self.keyframes, MIN_ROWS))
        self.keyframes.setMaximumHeight(rows_height(self.keyframes, 2 * MIN_ROWS))
        self.keyframes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.keyframes.header().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.keyframes.header().setMinimumSectionSize(40)
        cl.addWidget(self.keyframes)
        row = QHBoxLayout()
        self.add_kf = self._tool("keyframe", f"Add keyframe at the playhead ({key_hint('add_keyframe')})")
        self.del_kf = self._tool("trash", "Delete the selected keyframe (Del)")
        self.copy_crop = self._tool("copy", "Copy the crop at the playhead (Ctrl+C)")
        self.paste_crop = self._tool("paste", "Paste the copied crop at the playhead (Ctrl+V)")
        self.crop_label = QLabel()
        self.crop_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        for b in (self.add_kf, self.del_kf, self.copy_crop, self.paste_crop):
            row.addWidget(b)
        row.addStretch(1)
        cl.addLayout(row)
        cl.addWidget(self.crop_label)
        root.addWidget(crop)

        # segments
        seg = QGroupBox("Segments")
        sl = QVBoxLayout(seg)
        self.segments = QTreeWidget()
        self.segments.setHeaderLabels(["", "Source", "Speed", "Output"])
        self.segments.setRootIsDecorated(False)
        self.segments.setUniformRowHeights(True)
        self.segments.setMinimumHeight(rows_height(self.segments, MIN_ROWS))
        self.segments.setMaximumHeight(rows_height(self.segments, 2 * MIN_ROWS))
        self.segments.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.segments.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.segments.header().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.segments.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.segments.header().setMinimumSectionSize(30)
        sl.addWidget(self.segments)
        r1 = QHBoxLayout()
        self.split_button = QPushButton(icon("split"), "Split  (S)")
        self.split_button.setToolTip("Split the clip at the playhead")
        self.remove_split = QPushButton(icon("cancel"), "Remove split")
        self.remove_split.setToolTip("Remove the split that starts the selected segment (or the nearest one)")
        r1.addWidget(self.split_button)
        r1.addWidget(self.remove_split)
        r1.addStretch(1)
        sl.addLayout(r1)
        r_speed = QHBoxLayout()
        speed_label = QLabel("Speed")
        speed_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.half = QPushButton("0.5×")
        self.normal = QPushButton("1×")
        self.custom = QDoubleSpinBox()
        self.custom.setRange(0.1, 10.0)
        self.custom.setSingleStep(0.05)
        self.custom.setDecimals(2)
        self.custom.setValue(0.75)
        self.custom.setSuffix("×")
        self.custom.setToolTip("Custom speed for the segment (Enter to apply)")
        self.apply_custom = QPushButton("Set")
        r_speed.addWidget(speed_label)
        for w in (self.half, self.normal, self.custom, self.apply_custom):
            r_speed.addWidget(w)
        r_speed.addStretch(1)
        sl.addLayout(r_speed)
        r2 = QHBoxLayout()
        trim_label = QLabel("Trim")
        trim_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.trim_first = QPushButton("Drop first")
        self.trim_first.setToolTip("Trim away the first segment (non-destructive)")
        self.trim_last = QPushButton("Drop last")
        self.trim_last.setToolTip("Trim away the last segment (non-destructive)")
        self.clear_trim = QPushButton("Restore")
        self.clear_trim.setToolTip("Bring the trimmed segments back")
        r2.addWidget(trim_label)
        r2.addWidget(self.trim_first)
        r2.addWidget(self.trim_last)
        r2.addWidget(self.clear_trim)
        r2.addStretch(1)
        sl.addLayout(r2)
        self.speed_preview = QLabel()
        self.speed_preview.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        sl.addWidget(self.speed_preview)
        root.addWidget(seg)

        # rotation
        self.rotation_box = RotationControl()
        self.rotation, self.rotation_spin = self.rotation_box.slider, self.rotation_box.spin
        self.straighten, self.reset_rotation = self.rotation_box.straighten, self.rotation_box.reset
        root.addWidget(self.rotation_box)
        root.addStretch(1)

        self.aspect.activated.connect(self._aspect_chosen)
        self.add_kf.clicked.connect(self.add_keyframe)
        self.del_kf.clicked.connect(self.delete_selected)
        self.copy_crop.clicked.connect(self.copy)
        self.paste_crop.clicked.connect(self.paste)
        self.keyframes.itemSelectionChanged.connect(self._keyframe_selected)
        self.split_button.clicked.connect(self.split)
        self.remove_split.clicked.connect(self._remove_split)
        self.half.clicked.connect(lambda: self.set_speed(0.5))
        self.normal.clicked.connect(lambda: self.set_speed(1.0))
        self.apply_custom.clicked.connect(lambda: self.set_speed(self.custom.value()))
        self.custom.valueChanged.connect(self._preview_speed)
        self.custom.editingFinished.connect(self._custom_entered)
        self.trim_first.clicked.connect(lambda: self.drop_edge(first=True))
        self.trim_last.clicked.connect(lambda: self.drop_edge(first=False))
        self.clear_trim.clicked.connect(self._clear_trim)
        self.rotation_box.committed.connect(lambda deg, merge: self.set_rotation(deg, merge=merge))
        self.rotation_box.previewed.connect(self.rotationPreviewed)
        self.rotation_box.previewed.connect(lambda deg: self._update_crop_label(deg))
        self.straighten.toggled.connect(self.straightenToggled)
        self.use_new.clicked.connect(self._use_new_range)
        self.keep_old.clicked.connect(self._keep_range)
        self.segments.itemSelectionChanged.connect(self._preview_speed)
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, open_clip_changed(state))
        for sig in (state.clipChanged, state.projectChanged):
            sig.connect(lambda *_: self.refresh_gate.request())
        state.timeChanged.connect(lambda _t: self._update_crop_label())
        self.refresh()

    @staticmethod
    def _tool(name: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(name))
        b.setToolTip(tip)
        b.setAutoRaise(False)
        return b

    # -- data ------------------------------------------------------------------------------------
    def clip(self) -> dict[str, Any] | None:
        return self.state.clip_doc()

    def refresh(self) -> None:
        doc = self.state.project_doc()
        clip = self.clip()
        self.setEnabled(doc is not None)
        if doc is not None:
            self.aspect.setCurrentIndex(self.aspect.findData(doc["project"]["aspect"]))
        for w in (self.add_kf, self.copy_crop, self.split_button, self.half, self.normal, self.apply_custom,
                  self.custom):
            w.setEnabled(clip is not None)
        self.paste_crop.setEnabled(clip is not None and self._clipboard is not None)
        self.banner.setVisible(clip is not None and is_outdated(self.state, clip))
        self._fill_keyframes(clip)
        self._fill_segments(clip)
        self.rotation_box.set_clip(clip, self.state.aspect())
        self._update_durations()
        self._update_crop_label()

    def _fill_keyframes(self, clip: dict[str, Any] | None) -> None:
        selected = self.selected_keyframe()
        self.keyframes.blockSignals(True)
        self.keyframes.clear()
        for k in (clip["edit"]["crop_keyframes"] if clip else []):
            centre = f"{fmt_px(k['x'] + k['width'] / 2)}, {fmt_px(k['y'] + k['height'] / 2)}"
            item = QTreeWidgetItem([f"{k['time']:.2f} s", centre, f"{fmt_px(k['width'])}×{fmt_px(k['height'])}"])
            item.setData(0, Qt.ItemDataRole.UserRole, k["uid"])
            item.setIcon(0, icon("keyframe"))
            self.keyframes.addTopLevelItem(item)
            item.setSelected(k["uid"] == selected)
        self.keyframes.blockSignals(False)
        self.del_kf.setEnabled(bool(self.keyframes.selectedItems()))

    def _fill_segments(self, clip: dict[str, Any] | None) -> None:
        selected = self.selected_segment()
        self.segments.blockSignals(True)
        self.segments.clear()
        if clip is not None:
            tl = clip_timeline(clip)
            kept = {s.key: s for s in tl.segments}
            for i, s in enumerate(clip["edit"]["speeds"], 1):
                k = kept.get(s["segment"])
                out = f"{(k.src_end - k.src_start) / k.speed:.2f} s" if k else "trimmed"
                item = QTreeWidgetItem([str(i), f"{s['start']:.2f}–{s['end']:.2f} s", f"{s['speed']:g}×", out])
                item.setData(0, Qt.ItemDataRole.UserRole, s["segment"])
                if s["speed"] != 1.0:
                    item.setForeground(2, theme.SPEED)
                if k is None:
                    for col in range(4):
                        item.setForeground(col, theme.TEXT_DISABLED)
                self.segments.addTopLevelItem(item)
                item.setSelected(s["segment"] == selected)
        self.segments.blockSignals(False)
        kept_n = len(clip_timeline(clip).segments) if clip else 0
        self.trim_first.setEnabled(kept_n > 1)
        self.trim_last.setEnabled(kept_n > 1)
        self.clear_trim.setEnabled(bool(clip and clip["edit"]["trim"]))
        self.remove_split.setEnabled(bool(clip and clip["edit"]["splits"]))

    def _update_durations(self, preview: tuple[str, float] | None = None) -> None:
        doc = self.state.project_doc()
        clip = self.clip()
        if doc is None:
            self.duration_label.setText("—")
            self.reel_duration.setText("—")
            return
        total = doc["output_duration"]
        if clip is None:
            self.duration_label.setText("—")
            self.reel_duration.setText(fmt_time(total))
            return
        this = clip["output_duration"]
        if preview is not None:
            new = clip_timeline(clip, preview).output_duration
            total, this = total - this + new, new
        mark = "  (preview)" if preview is not None else ""
        self.duration_label.setText(f"{fmt_time(this)} of {fmt_time(clip['source']['duration'])} source{mark}")
        self.reel_duration.setText(fmt_time(total) + mark)

    def _update_crop_label(self, rotation: float | None = None) -> None:
        """The crop at the playhead; at ``rotation`` while the slider is dragged (nothing saved yet)."""
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            self.crop_label.setText("")
            return
        if rotation is not None:
            clip = {**clip, "edit": {**clip["edit"], "rotation": rotation}}
        box = crop_box_at(clip, self.state.aspect(), t)
        self.crop_label.setText(f"Crop at the playhead: {fmt_px(box.width)}×{fmt_px(box.height)} "
                                f"at {fmt_px(box.x)}, {fmt_px(box.y)}")

    # -- selection -------------------------------------------------------------------------------
    def selected_keyframe(self) -> str | None:
        items = self.keyframes.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def select_keyframe(self, uid: str) -> None:
        for i in range(self.keyframes.topLevelItemCount()):
            item = self.keyframes.topLevelItem(i)
            if item is not None:
                item.setSelected(item.data(0, Qt.ItemDataRole.UserRole) == uid)

    def selected_segment(self) -> str | None:
        items = self.segments.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _keyframe_selected(self) -> None:
        uid = self.selected_keyframe()
        self.del_kf.setEnabled(uid is not None)
        clip = self.clip()
        if uid and clip:
            k = next((k for k in clip["edit"]["crop_keyframes"] if k["uid"] == uid), None)
            if k is not None:
                self.state.seek_clip(k["time"])
            self.keyframeSelected.emit(uid)

    # -- gestures --------------------------------------------------------------------------------
    def _wc_gesture(self, kind: GestureKind, payload: dict[str, Any], **kw: Any) -> Any:
        if self.state.wc_uid is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return None
        return self.state.apply(Gesture(kind, self.state.wc_uid, payload), **kw)

    def _aspect_chosen(self) -> None:
        doc = self.state.project_doc()
        value = self.aspect.currentData()
        if doc is not None and value != doc["project"]["aspect"]:
            self.state.submit(Gesture(GestureKind.SET_ASPECT_RATIO, doc["project"]["uid"], {"aspect": value}))

    def add_keyframe(self) -> None:
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return
        box = crop_box_at(clip, self.state.aspect(), t)
        self._wc_gesture(GestureKind.ADD_CROP_KEYFRAME, {"time": round(t, 6), **unrounded(box)})

    def delete_selected(self) -> None:
        uid = self.selected_keyframe()
        if uid is None:
            self.state.message.emit("Select a keyframe to delete", True)
            return
        self._wc_gesture(GestureKind.DELETE_CROP_KEYFRAME, {"keyframe": uid})

    def copy(self) -> None:
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            return
        self._clipboard = unrounded(crop_box_at(clip, self.state.aspect(), t))
        QGuiApplication.clipboard().setText(json.dumps({"reeldesk_crop": self._clipboard}))
        self.paste_crop.setEnabled(True)
        self.state.message.emit("Crop copied", False)

    def paste(self) -> None:
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            return
        box = self._clipboard or crop_from_clipboard()
        if box is None:
            self.state.message.emit("Copy a crop first (Ctrl+C)", True)
            return
        src = clip["source"]
        # A crop copied from another clip or aspect is refitted into this frame, aspect kept.
        fitted = clamp_to_safe(Box(box["x"], box["y"], box["width"], box["height"]), src["width"], src["height"],
                               clip["edit"]["rotation"])
        self._wc_gesture(GestureKind.ADD_CROP_KEYFRAME, {"time": round(t, 6), **unrounded(fitted)}, text="Paste crop")

    def split(self) -> None:
        clip, t = self.clip(), self.state.clip_time()
        if clip is None or t is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return
        if t <= 0 or t >= clip["source"]["duration"]:
            self.state.message.emit("Move the playhead inside the clip to split it", True)
            return
        self._wc_gesture(GestureKind.SPLIT, {"time": round(t, 6)})

    def _remove_split(self) -> None:
        clip = self.clip()
        seg = self.selected_segment()
        if clip is None:
            return
        split = next((s for s in clip["edit"]["splits"] if s["uid"] == seg), None)
        if split is None:  # no segment picked: the split nearest the playhead
            t = self.state.clip_time() or 0.0
            split = min(clip["edit"]["splits"], key=lambda s: abs(s["time"] - t), default=None)
        if split is not None:
            self._wc_gesture(GestureKind.REMOVE_SPLIT, {"split": split["uid"], "time": split["time"]})

    def _target_segment(self) -> dict[str, Any]:
        seg = self.selected_segment()
        if seg is not None:
            return {"segment": seg}
        return {"time": round(self.state.clip_time() or 0.0, 6)}

    def set_speed(self, speed: float) -> None:
        if self.clip() is None:
            return
        self._wc_gesture(GestureKind.SET_SEGMENT_SPEED, {**self._target_segment(), "speed": round(speed, 4)},
                         text=f"Speed {speed:g}×")
        self.speed_preview.clear()

    def _custom_entered(self) -> None:
        if self.custom.hasFocus():
            self.set_speed(self.custom.value())

    def _segment_key_now(self) -> str | None:
        clip = self.clip()
        if clip is None:
            return None
        seg = self.selected_segment()
        if seg is not None:
            return seg
        t = self.state.clip_time() or 0.0
        hit = next((s for s in clip["edit"]["speeds"] if s["start"] <= t < s["end"]), None)
        return hit["segment"] if hit else None

    def _preview_speed(self) -> None:
        key = self._segment_key_now()
        if key is None:
            self.speed_preview.clear()
            return
        self._update_durations((key, self.custom.value()))
        self.speed_preview.setText(f"Durations above show {self.custom.value():g}×; press Set to apply")

    def drop_edge(self, *, first: bool) -> None:
        clip = self.clip()
        if clip is None:
            return
        tl = clip_timeline(clip)
        segs = tl.segments
        if len(segs) < 2:
            self.state.message.emit("Split the clip first: only whole edge segments can be trimmed", True)
            return
        start, end = (segs[1].src_start, tl.trim_end) if first else (tl.trim_start, segs[-1].src_start)
        self._wc_gesture(GestureKind.SET_TRIM, {"start": round(start, 6), "end": round(end, 6)},
                         text="Trim first segment" if first else "Trim last segment")

    def _clear_trim(self) -> None:
        self._wc_gesture(GestureKind.CLEAR_TRIM, {})

    def set_rotation(self, degrees: float, *, merge: bool = False) -> None:
        clip = self.clip()
        if clip is None:
            return
        degrees = round(max(-MAX_ROTATION_DEG, min(MAX_ROTATION_DEG, degrees)), 2)
        if abs(degrees - float(clip["edit"]["rotation"])) < 1e-6:
            return
        self._wc_gesture(GestureKind.SET_ROTATION, {"degrees": degrees}, merge_key="nudge" if merge else None)

    def apply_straighten(self, lean_deg: float, *, relative: bool = True) -> None:
        """The drawn line leans ``lean_deg`` clockwise on screen: rotate the other way to level it."""
        clip = self.clip()
        if clip is None:
            return
        base = float(clip["edit"]["rotation"]) if relative else 0.0
        target = base - lean_deg
        if abs(target) > MAX_ROTATION_DEG:
            self.state.message.emit(f"That needs {target:.1f}°; rotation is limited to ±{MAX_ROTATION_DEG:g}°", True)
        self.set_rotation(target)
        self.straighten.setChecked(False)

    def _use_new_range(self) -> None:
        self._wc_gesture(GestureKind.USE_NEW_RANGE, {"rescale": True})

    def _keep_range(self) -> None:
        clip = self.clip()
        if clip is None:
            return
        raw = self.state.library.raw_clip(clip["raw_clip"])
        if raw is not None:
            self.state.library.set_setting(f"ui.keep_range.{clip['uid']}", str(raw["boundaries_rev"]))
        self.banner.hide()


__all__ = ["FramePanel"]
