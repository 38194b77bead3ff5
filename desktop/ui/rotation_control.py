"""Frame mode's rotation: a fine slider (0.1° per pixel of drag, 0.1° per wheel notch), a typed
value, straighten and reset, a live preview while dragging, and a warning when the crop that
rotation leaves would be blown up more than 2× to the export size.

The crop must stay inside the rotated picture (``core.editmath.safe_rect``), so rotating shrinks
it; the warning says by how much the output is upscaled, from the smallest crop of the clip.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from PySide6.QtCore import QLineF, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QPaintEvent, QPen, QWheelEvent
from PySide6.QtWidgets import QDoubleSpinBox, QGroupBox, QHBoxLayout, QLabel, QSlider, QToolButton, QVBoxLayout, QWidget

from core.editmath import MAX_ROTATION_DEG, crop_at, output_size
from core.enums import AspectRatio
from desktop.ui import theme
from desktop.ui.undo import fmt_px
from resources import icon

ROT_STEPS = 10  # slider units per degree (0.1° resolution)
UPSCALE_WARN = 2.0  # warn above this blow-up of the crop to the output


def smallest_crop(clip: Mapping[str, Any], aspect: AspectRatio, rotation: float) -> tuple[float, float]:
    """(width, height) of the smallest crop of the clip at ``rotation`` (at its keyframes, or the
    default crop without any)."""
    src, edit = clip["source"], clip["edit"]
    track = [(float(k["time"]), k) for k in sorted(edit["crop_keyframes"], key=lambda k: k["time"])]
    times = [t for t, _k in track] or [0.0]
    boxes = [crop_at(track, t, float(src["width"]), float(src["height"]), aspect, rotation) for t in times]
    small = min(boxes, key=lambda b: b.height)
    return small.width, small.height


def upscale_factor(clip: Mapping[str, Any], aspect: AspectRatio, rotation: float) -> tuple[float, tuple[float, float],
                                                                                          tuple[int, int]]:
    """(factor, crop size, output size): how much the default export enlarges the smallest crop."""
    cw, ch = smallest_crop(clip, aspect, rotation)
    ow, oh = output_size(aspect)  # the default preset of the aspect
    return (oh / ch if ch > 0 else math.inf), (cw, ch), (ow, oh)


class FineSlider(QSlider):
    """A bipolar slider for precise angles: dragging moves the value by one step per pixel from
    where it was (no jump to the click), the wheel by one step per notch (Shift: ten)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._press: tuple[float, int] | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.isEnabled():
            super().mousePressEvent(event)
            return
        self._press = (event.position().x(), self.value())
        self.setSliderDown(True)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            super().mouseMoveEvent(event)
            return
        x0, v0 = self._press
        self.setValue(v0 + round(event.position().x() - x0))
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            super().mouseReleaseEvent(event)
            return
        self.mouseMoveEvent(event)
        self._press = None
        self.setSliderDown(False)
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120.0
        if not notches or not self.isEnabled():
            event.ignore()
            return
        step = self.pageStep() if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else self.singleStep()
        self.setValue(self.value() + round(notches * step))
        event.accept()


class StraightenOverlay(QWidget):
    """Drawn over the viewer while the straighten tool is on: drag along the horizon."""

    measured = Signal(float)  # degrees the drawn line leans clockwise (screen: y down)
    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.line: QLineF | None = None
        self.setGeometry(parent.rect())
        parent.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        parent = self.parentWidget()
        if parent is not None and obj is parent and event.type() == event.Type.Resize:
            self.setGeometry(parent.rect())
        return False

    def mousePressEvent(self, event: QMouseEvent) -> None:
        p = event.position()
        self.line = QLineF(p, p)
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.line is not None:
            self.line.setP2(event.position())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.line is None:
            return
        self.line.setP2(event.position())
        line, self.line = self.line, None
        self.update()
        if line.length() < 12:
            return
        dx, dy = line.dx(), line.dy()
        if dx < 0:
            dx, dy = -dx, -dy
        angle = math.degrees(math.atan2(dy, dx))
        if abs(angle) > 45:  # a vertical reference (a goal post): level it to vertical instead
            angle = angle - 90 if angle > 0 else angle + 90
        self.measured.emit(angle)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
        else:
            super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(theme.TEXT)
        p.fillRect(0, 0, self.width(), 26, theme.DIM)
        p.drawText(self.rect().adjusted(10, 4, -10, 0), Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter,
                   "Straighten: drag along the horizon or a line that should be level (Esc to cancel)")
        if self.line is not None:
            p.setPen(QPen(theme.ACCENT, 2, Qt.PenStyle.DashLine))
            p.drawLine(self.line)
            for pt in (self.line.p1(), self.line.p2()):
                p.drawEllipse(pt, 4, 4)
        p.end()


class RotationControl(QGroupBox):
    """Signals: ``previewed(degrees)`` while dragging (nothing saved yet); ``committed(degrees,
    merge)`` for a release, a typed value, a wheel / key step (``merge``: steps form one undo)."""

    previewed = Signal(float)
    committed = Signal(float, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Rotation", parent)
        self._clip: Mapping[str, Any] | None = None
        self._aspect = AspectRatio.PORTRAIT
        root = QVBoxLayout(self)
        row = QHBoxLayout()
        self.slider = FineSlider()
        self.slider.setRange(int(-MAX_ROTATION_DEG * ROT_STEPS), int(MAX_ROTATION_DEG * ROT_STEPS))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(ROT_STEPS)
        self.slider.setTickInterval(5 * ROT_STEPS)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setToolTip("Drag for 0.1° per pixel; wheel or arrow keys 0.1°, Shift+wheel or Page keys 1°")
        # Bipolar: no "filled" part, the handle alone says which way it leans.
        self.slider.setStyleSheet(f"QSlider::sub-page:horizontal {{ background: {theme.PANEL_HI.name()}; }}")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(-MAX_ROTATION_DEG, MAX_ROTATION_DEG)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.1)
        self.spin.setSuffix("°")
        self.spin.setKeyboardTracking(False)  # a typed value applies on Enter, not per keystroke
        self.spin.setToolTip("Type an angle (Enter applies); clockwise is positive")
        self.straighten = self._tool("straighten", "Straighten: draw along the horizon in the viewer")
        self.straighten.setCheckable(True)
        self.reset = self._tool("rotate", "Reset rotation to 0°")
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        row.addWidget(self.straighten)
        row.addWidget(self.reset)
        root.addLayout(row)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(f"color: {theme.ERROR.name()};")
        self.warning.hide()
        root.addWidget(self.warning)

        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderReleased.connect(lambda: self.committed.emit(self.slider.value() / ROT_STEPS, False))
        self.spin.valueChanged.connect(lambda v: self.committed.emit(round(v, 1), True))
        self.reset.clicked.connect(lambda: self.committed.emit(0.0, False))

    @staticmethod
    def _tool(name: str, tip: str) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon(name))
        b.setToolTip(tip)
        return b

    def set_clip(self, clip: Mapping[str, Any] | None, aspect: AspectRatio) -> None:
        self._clip, self._aspect = clip, aspect
        for w in (self.slider, self.spin, self.straighten, self.reset):
            w.setEnabled(clip is not None)
        if clip is not None and not self.slider.isSliderDown():
            self._show(float(clip["edit"]["rotation"]))
        self._update_warning(float(clip["edit"]["rotation"]) if clip is not None else 0.0)

    def _show(self, degrees: float) -> None:
        with QSignalBlocker(self.slider), QSignalBlocker(self.spin):
            self.slider.setValue(round(degrees * ROT_STEPS))
            self.spin.setValue(degrees)

    def _slider_moved(self, value: int) -> None:
        degrees = value / ROT_STEPS
        self.spin.blockSignals(True)
        self.spin.setValue(degrees)
        self.spin.blockSignals(False)
        self._update_warning(degrees)
        if self.slider.isSliderDown():
            self.previewed.emit(degrees)
        else:  # keyboard / wheel steps: saved at once, merged into one undo step
            self.committed.emit(degrees, True)

    def _update_warning(self, degrees: float) -> None:
        if self._clip is None:
            self.warning.hide()
            return
        factor, (cw, ch), (ow, oh) = upscale_factor(self._clip, self._aspect, degrees)
        self.warning.setVisible(factor > UPSCALE_WARN)
        self.warning.setText(f"⚠ The crop ({fmt_px(cw)}×{fmt_px(ch)}) is enlarged {factor:.2f}× to {ow}×{oh}: "
                             "expect a soft picture. Rotate less or choose a larger crop.")


__all__ = ["FineSlider", "ROT_STEPS", "RotationControl", "StraightenOverlay", "smallest_crop", "upscale_factor"]
