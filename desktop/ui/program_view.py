"""The Program monitor: the reel's output (crop, rotation, spotlight, speed, transitions) before export.

A Source | Program switch in the transport, shown in Frame and Spotlight modes. The program's
pictures come from ``core.export.program`` (the export's own per-frame compose, at preview size)
through ``core.export.preview.preview_spec`` — the path ``reeldesk preview`` takes — and play on
the Playback's program track, so Space, J/K/L and ←/→ drive whichever monitor is shown. Edits
made while the program is shown rebuild it at the same output time.
"""
from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QSizePolicy, QStackedWidget, QToolButton, QWidget

from core.export.program import ProgramPreview, reel_audio
from core.export.spec import RenderSpec, SpecError
from desktop.ui import theme
from desktop.ui.audio_out import program_sound
from desktop.ui.keymap import Mode
from desktop.ui.refresh import open_project_changed
from desktop.ui.undo import fmt_time

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

PREVIEW_WIDTH = 540  # program pictures are composed at most this wide (9:16: 540x960)
_MARGIN = 14


class ProgramView(QWidget):
    """Paints the latest program picture, letterboxed to the output's shape."""

    displaySizeChanged = Signal(int, int)  # device pixels of the picture area

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProgramView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._out = (1080, 1920)
        self.caption = ""

    def set_output_size(self, width: int, height: int) -> None:
        if (width, height) != self._out:
            self._out = (width, height)
            self._report_size()
            self.update()

    def set_frame(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def set_caption(self, text: str) -> None:
        if text != self.caption:
            self.caption = text
            self.update()

    def picture_rect(self) -> QRectF:
        area = QRectF(self.rect()).adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)
        w, h = self._out
        if area.width() <= 0 or area.height() <= 0:
            return QRectF()
        scale = min(area.width() / w, area.height() / h)
        dpr = self.devicePixelRatioF()
        pw, ph = w * scale, h * scale
        left = round((area.center().x() - pw / 2) * dpr) / dpr
        top = round((area.center().y() - ph / 2) * dpr) / dpr
        return QRectF(left, top, pw, ph)

    def sizeHint(self) -> QSize:
        return QSize(720, 420)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._report_size()

    def _report_size(self) -> None:
        r, dpr = self.picture_rect(), self.devicePixelRatioF()
        if not r.isEmpty():
            self.displaySizeChanged.emit(math.ceil(r.width() * dpr), math.ceil(r.height() * dpr))

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), theme.BG)
            r = self.picture_rect()
            if r.isEmpty():
                return
            p.fillRect(r, Qt.GlobalColor.black)
            if self._image is not None and not self._image.isNull():
                # Converted on the worker to this size: a plain blit, no smoothing pass here.
                p.drawImage(r, self._image)
            if self.caption:
                self._chip(p, QPointF(r.left() + 8, r.top() + 8), self.caption)
        finally:
            p.end()

    def _chip(self, p: QPainter, at: QPointF, text: str) -> None:
        p.setFont(theme.ui_font(8))
        m = p.fontMetrics()
        chip = QRectF(at.x(), at.y(), m.horizontalAdvance(text) + 14, m.height() + 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.CHIP_BG)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.drawRoundedRect(chip, 4, 4)
        p.setPen(theme.TEXT)
        p.drawText(chip.adjusted(7, 0, -7, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)


class MonitorSwitch(QWidget):
    """Source | Program: which picture the monitor shows."""

    programToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 8, 0)
        lay.setSpacing(0)
        self.source = QToolButton()
        self.source.setText("Source")
        self.source.setToolTip("Show the source footage (where framing is edited)")
        self.program = QToolButton()
        self.program.setText("Program")
        self.program.setToolTip("Show the reel as it will be exported: crop, rotation, spotlight, speed, "
                                "transitions")
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        for b in (self.source, self.program):
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space must keep playing, not press a button
            self.group.addButton(b)
            lay.addWidget(b)
        self.source.setChecked(True)
        self.program.toggled.connect(self.programToggled)

    def set_program(self, on: bool) -> None:
        if self.program.isChecked() != on:
            self.group.blockSignals(True)
            self.program.blockSignals(True)
            (self.program if on else self.source).setChecked(True)
            self.program.blockSignals(False)
            self.group.blockSignals(False)


class ProgramMonitor(QObject):
    """Installs the Program monitor in the main window's editor page and keeps it current."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.playback = window.playback
        self.view = ProgramView()
        self.stack = QStackedWidget()
        self.stack.addWidget(window.viewer)
        self.stack.addWidget(self.view)
        self.switch = MonitorSwitch()
        self.switch.hide()
        self._spec: RenderSpec | None = None
        self._start_at = 0.0
        self.playback.programChanged.connect(self._program_changed)
        self.playback.programFrameReady.connect(self.view.set_frame)
        self.playback.programPositionChanged.connect(self._position)
        self.switch.programToggled.connect(self.show_program)
        self.view.displaySizeChanged.connect(self._view_size)
        window.viewer.displaySizeChanged.connect(self._viewer_size)
        window.modeChanged.connect(self._mode_changed)
        wants = open_project_changed(window.state)
        window.state.libraryChanged.connect(lambda e: self.reload() if e is None or wants(e) else None)
        window.state.projectChanged.connect(lambda _p: self.reload())

    @property
    def shown(self) -> bool:
        return self.playback.program_active

    def _viewer_size(self, w: int, h: int) -> None:
        if not self.shown:
            self.playback.set_display_size(w, h)

    def _view_size(self, w: int, h: int) -> None:
        if self.shown:
            self.playback.set_display_size(w, h)

    def _mode_changed(self, mode: str) -> None:
        editing = Mode(mode) in (Mode.FRAME, Mode.SPOTLIGHT)
        self.switch.setVisible(editing)
        if not editing and self.shown:
            self.show_program(False)

    def show_program(self, on: bool) -> None:
        if on and not self.reload(force=True):
            self.switch.set_program(False)
            return
        self.playback.show_program(on)

    def reload(self, force: bool = False) -> bool:
        """Rebuild the program from the project's latest state (when shown, or ``force``).
        False when there is nothing to show, with the reason in the status bar."""
        if not (force or self.shown):
            self._spec = None  # stale: rebuilt when shown next
            return False
        from core.export.preview import preview_spec

        uid = self.window.state.project_uid
        if uid is None:
            self.window.show_message("Open a reel to see its program", error=True)
            return False
        try:
            spec = preview_spec(self.window.library, uid)
        except SpecError as exc:
            self.window.show_message(f"No program to show: {exc}", error=True)
            if self.shown:
                self.playback.show_program(False)
            return False
        if self._spec is not None and spec.to_json() == self._spec.to_json():
            return True
        first = self._spec is None and not self.shown
        self._spec = spec
        library = self.window.library
        out = spec.output
        width = min(out.width, PREVIEW_WIDTH)

        def open_preview() -> ProgramPreview:
            return ProgramPreview(spec, library.media_path, width)

        sound: list[np.ndarray] = []

        def samples() -> np.ndarray:  # on the sound worker, once per program
            if not sound:
                sound.append(reel_audio(spec, library.media_path) if spec.output.audio else
                             np.zeros((2, 0), np.float32))
            return sound[0]

        self.view.set_output_size(out.width, out.height)
        if first:
            self._start_at = self._output_time_of_playhead(spec)
        self.playback.set_program(open_preview, out.fps, spec.output_duration, program_sound(samples))
        if first:
            self.playback.program_seek(self._start_at)
        return True

    def _output_time_of_playhead(self, spec: RenderSpec) -> float:
        """The output time showing the source playhead (the open clip's start when cut away)."""
        state = self.window.state
        starts = spec.clip_starts()
        for i, clip in enumerate(spec.clips):
            if clip.uid == state.wc_uid:
                out = clip.timeline().source_to_output(state.media_time - clip.src_start)
                return starts[i] + (out if out is not None else 0.0)
        return 0.0

    def _program_changed(self, on: bool) -> None:
        self.switch.set_program(on)
        self.stack.setCurrentWidget(self.view if on else self.window.viewer)
        if on:
            self.view.setFocus()
            self._view_size(*self._device_size(self.view))
            self._position(self.playback.program_position)
        else:
            self._viewer_size(*self._device_size(self.window.viewer))

    @staticmethod
    def _device_size(w: QWidget) -> tuple[int, int]:
        dpr = w.devicePixelRatioF()
        return max(16, round(w.width() * dpr)), max(16, round(w.height() * dpr))

    def _position(self, t: float) -> None:
        total = self.playback.program_duration
        text = f"{fmt_time(max(0.0, t))}  /  {fmt_time(total)}"
        self.window.time_label.setText(text)
        self.view.set_caption(f"PROGRAM  ·  {text}")
        # The timeline shows the open clip in source time: follow the program while it is in it.
        spec, wc = self._spec, self.window.state.wc_uid
        if spec is None:
            return
        starts = spec.clip_starts()
        i = max((i for i, start in enumerate(starts) if start <= t + 1e-6), default=0)
        clip = spec.clips[i]
        if clip.uid == wc:
            local = clip.timeline().output_to_source(min(max(t - starts[i], 0.0), clip.timeline().output_duration))
            self.window.timeline.set_playhead(local, follow=self.playback.playing)


__all__ = ["MonitorSwitch", "PREVIEW_WIDTH", "ProgramMonitor", "ProgramView"]
