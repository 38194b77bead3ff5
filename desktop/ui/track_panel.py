"""Track player (Spotlight and Frame modes): draw a box on the viewer, or click a detected player,
and the spotlight (optionally the crop) follows that player through the clip.

Tracking runs on a worker thread with progress and cancel; its result is one ``apply_track``
gesture through the editor's undo controller (one undo step). Where the tracker lost the player,
a marker says so on the viewer and the controls offer to go there. Detection ("Find players")
asks the Modal app on a worker thread; offline the box is drawn by hand and nothing pretends to
detect.
"""
from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (QCheckBox, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QToolButton,
                               QVBoxLayout, QWidget)

from core.editmath import Box, frame_index
from core.enums import GestureKind
from core.gestures.model import Gesture
from core.tracking.detect_client import DetectionCache, detect_frames
from core.tracking.run import TrackRun, plan_track
from desktop.ui import theme
from desktop.ui.undo import EditorState, fmt_time
from desktop.ui.viewer import VideoViewer
from desktop.ui.workers import Task, TaskHub

log = logging.getLogger(__name__)

MIN_BOX_PX = 6.0  # a smaller drag is a click (picks a detected player)
DETECTION_COLOUR = theme.SELECTION
DRAW_COLOUR = theme.ACCENT


class TrackOverlay(QWidget):
    """Sits on the viewer: draws detected players and the box being drawn; takes the mouse only
    while armed (then a drag draws a box, a click picks a detected player, Esc disarms)."""

    boxChosen = Signal(object)  # Box in source pixels
    disarmed = Signal()

    def __init__(self, viewer: VideoViewer) -> None:
        super().__init__(viewer)
        self.viewer = viewer
        self.detections: list[tuple[float, float, float, float, float]] = []
        self.lost_text = ""
        self._armed = False
        self._press: QPointF | None = None
        self._now: QPointF | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        viewer.installEventFilter(self)
        self.setGeometry(viewer.rect())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.viewer and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.viewer.rect())
        return False

    @property
    def armed(self) -> bool:
        return self._armed

    def arm(self, on: bool) -> None:
        self._armed = on
        self._press = self._now = None
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, not on)
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        if on:
            self.raise_()
            self.setFocus()
        self.update()

    def set_detections(self, boxes: list[tuple[float, float, float, float, float]]) -> None:
        if boxes != self.detections:
            self.detections = boxes
            self.update()

    def set_lost_text(self, text: str) -> None:
        if text != self.lost_text:
            self.lost_text = text
            self.update()

    # -- painting --------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(DETECTION_COLOUR, 1.5, Qt.PenStyle.DashLine)
        for x, y, w, h, conf in self.detections:
            r = self.viewer.box_to_widget(Box(x, y, w, h))
            p.setPen(pen)
            p.drawRect(r)
            p.drawText(r.topLeft() + QPointF(2, -3), f"{conf:.0%}")
        if self._press is not None and self._now is not None:
            p.setPen(QPen(DRAW_COLOUR, 2.0))
            p.drawRect(QRectF(self._press, self._now).normalized())
        banner = self.lost_text or ("Draw a box around the player, or click a detected one  (Esc cancels)"
                                    if self._armed else "")
        if banner:
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.CHIP_BG)
            rect = QRectF(10, 10, p.fontMetrics().horizontalAdvance(banner) + 20, 26)
            p.drawRoundedRect(rect, 6, 6)
            p.setPen(theme.ERROR if self.lost_text else theme.TEXT)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, banner)
        p.end()

    # -- interaction -----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._armed and event.button() == Qt.MouseButton.LeftButton:
            self._press = self._now = event.position()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._press is not None:
            self._now = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._press is None:
            return
        a, b = self._press, event.position()
        self._press = self._now = None
        self.update()
        if abs(a.x() - b.x()) < MIN_BOX_PX and abs(a.y() - b.y()) < MIN_BOX_PX:
            box = self._detection_at(self.viewer.widget_to_source(b))
        else:
            p, q = self.viewer.widget_to_source(a), self.viewer.widget_to_source(b)
            box = Box(min(p.x(), q.x()), min(p.y(), q.y()), abs(p.x() - q.x()), abs(p.y() - q.y()))
        if box is not None:
            self.arm(False)
            self.boxChosen.emit(box)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._armed and event.key() == Qt.Key.Key_Escape:
            self.arm(False)
            self.disarmed.emit()
        else:
            super().keyPressEvent(event)

    def _detection_at(self, s: QPointF) -> Box | None:
        hits = [Box(x, y, w, h) for x, y, w, h, _c in self.detections
                if x <= s.x() <= x + w and y <= s.y() <= y + h]
        return min(hits, key=lambda b: b.width * b.height) if hits else None


class TrackController(QObject):
    """The one tracking session of the editor window, shared by the Frame and Spotlight controls."""

    busyChanged = Signal(bool)
    reframeChanged = Signal(bool)
    progress = Signal(float)
    status = Signal(str)
    lostChanged = Signal(object)  # clip time where the player was lost, or None

    def __init__(self, state: EditorState, hub: TaskHub, viewer: VideoViewer, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.hub = state, hub
        self.overlay = TrackOverlay(viewer)
        self.overlay.boxChosen.connect(self.start)
        self.overlay.disarmed.connect(lambda: self.status.emit(""))
        self.reframe = False
        self.lost_at: float | None = None
        self._lost_clip: str | None = None
        self._task: Task | None = None
        self._detect_task: Task | None = None
        self.cache = DetectionCache(state.library.cache_dir / "detections")
        state.timeChanged.connect(self._time_changed)
        state.clipChanged.connect(self._clip_changed)

    @property
    def busy(self) -> bool:
        return self._task is not None

    def set_reframe(self, on: bool) -> None:
        if on != self.reframe:
            self.reframe = on
            self.reframeChanged.emit(on)

    def arm(self) -> None:
        if self.state.wc_uid is None:
            self.state.message.emit("Open a clip of the reel first", True)
            return
        if not self.busy:
            self.overlay.arm(True)
            self.status.emit("Draw a box around the player on the picture")

    def start(self, box: Box) -> None:
        wc, at = self.state.wc_uid, self.state.clip_time()
        if wc is None or at is None or self.busy:
            return
        lib, reframe = self.state.library, self.reframe

        def work(progress: Any, cancelled: Any) -> tuple[TrackRun, dict[str, Any]]:
            return plan_track(lib, wc, at, box, reframe=reframe, progress=progress, cancelled=cancelled)

        self._task = self.hub.submit(work, name="track player", on_result=lambda r: self._done(wc, r),
                                     on_error=self._failed, on_progress=self.progress.emit,
                                     on_cancelled=lambda: self.status.emit("Tracking cancelled: nothing changed"),
                                     on_finished=self._finished)
        self.status.emit("Tracking the player…")
        self.busyChanged.emit(True)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._detect_task is not None:
            self._detect_task.cancel()

    def _finished(self) -> None:
        self._task = None
        self.busyChanged.emit(False)

    def _failed(self, message: str) -> None:
        self.status.emit(message)
        self.state.message.emit(message, True)

    def _done(self, wc: str, result: tuple[TrackRun, dict[str, Any]]) -> None:
        run, payload = result
        # Applied here, not on the write worker: what the run reports next depends on the result.
        applied = self.state.apply(Gesture(GestureKind.APPLY_TRACK, wc, payload), text="Track player")
        if applied is None:
            return
        self._lost_clip = wc
        self.lost_at = run.lost_at[0] if run.lost else None
        n, m = len(payload["keyframes"]), len(payload.get("crop_keyframes", []))
        text = (f"Followed the player {fmt_time(run.tracked_from, precise=True)}–"
                f"{fmt_time(run.tracked_to, precise=True)}: {n} spotlight keyframes"
                + (f", {m} crop keyframes" if m else ""))
        if self.lost_at is not None:
            text += f"; lost at {fmt_time(self.lost_at, precise=True)}"
        self.status.emit(text)
        self.state.message.emit(text, False)
        self.lostChanged.emit(self.lost_at)
        self._time_changed(self.state.media_time)

    @property
    def lost_clip(self) -> str | None:
        """The working clip the last tracking run stopped early on (with ``lost_at``)."""
        return self._lost_clip

    def go_to_lost(self) -> None:
        if self.lost_at is not None:
            self.state.seek_clip(self.lost_at)

    # -- detection -------------------------------------------------------------------------------
    def _frame(self) -> tuple[dict[str, Any], int] | None:
        clip = self.state.clip_doc()
        if clip is None:
            return None
        src = clip["source"]
        return src, frame_index(self.state.media_time + 1e-6, Fraction(src["fps_num"], src["fps_den"]))

    def find_players(self) -> None:
        """Ask Modal for the people in the frame at the playhead (on a worker thread)."""
        where = self._frame()
        if where is None or self._detect_task is not None:
            return
        src, frame = where
        lib, cache, fps = self.state.library, self.cache, Fraction(src["fps_num"], src["fps_den"])

        def work(progress: Any, cancelled: Any) -> dict[int, list]:
            from core.export import modal_backend

            client = modal_backend.connect_modal(lib)
            factory = modal_backend._presigner_factory  # the desktop registers the R2 presigner
            presigner = factory(lib) if factory is not None else None
            if presigner is None:
                raise ValueError("finding players moves the clip through the R2 remote: set one up in Settings")
            return detect_frames(client, presigner, cache, src["media"], lib.media_path(src["media"]), [frame],
                                 fps, cancelled=cancelled, progress=progress)

        self._detect_task = self.hub.submit(work, name="find players", on_result=self._detected,
                                            on_error=self._failed, on_finished=self._detect_finished)
        self.status.emit("Finding players on Modal…")

    def _detect_finished(self) -> None:
        self._detect_task = None

    def _detected(self, found: dict[int, list]) -> None:
        count = sum(len(v) for v in found.values())
        self.status.emit(f"Found {count} player(s): click one on the picture" if count else "No players found here")
        self._time_changed(self.state.media_time)
        if count:
            self.arm()

    def _time_changed(self, _t: float) -> None:
        where = self._frame()
        if where is None:
            self.overlay.set_detections([])
            return
        src, frame = where
        self.overlay.set_detections(self.cache.get(src["media"], [frame]).get(frame, []))
        lost = self.lost_at is not None and self._lost_clip == self.state.wc_uid and \
            abs((self.state.clip_time() or 0.0) - self.lost_at) < 0.5
        self.overlay.set_lost_text("Player lost here" if lost else "")

    def _clip_changed(self, _wc: object) -> None:
        self.overlay.arm(False)
        self._time_changed(self.state.media_time)


class TrackControls(QGroupBox):
    """The "Track player" box of an inspector panel (one per mode, one shared controller)."""

    def __init__(self, controller: TrackController, parent: QWidget | None = None) -> None:
        super().__init__("Track player", parent)
        self.controller = controller
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.track = QPushButton("Track player…")
        self.track.setToolTip("Draw a box around a player on the picture (or click a detected one): the "
                              "spotlight follows them through the clip. One undo step.")
        self.find_button = QToolButton()
        self.find_button.setText("Find players")
        self.find_button.setToolTip("Detect the players in this frame on Modal (needs Modal and the R2 remote)")
        row.addWidget(self.track, 1)
        row.addWidget(self.find_button)
        lay.addLayout(row)
        self.reframe = QCheckBox("Auto-reframe: crop follows the player")
        self.reframe.setToolTip("Also place crop keyframes that keep the player in the middle, moving like a camera")
        lay.addWidget(self.reframe)
        prow = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.cancel = QPushButton("Cancel")
        prow.addWidget(self.bar, 1)
        prow.addWidget(self.cancel)
        lay.addLayout(prow)
        self.status = QLabel()
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.go_lost = QPushButton("Go to where the player was lost")
        lay.addWidget(self.go_lost)

        self.track.clicked.connect(controller.arm)
        self.find_button.clicked.connect(controller.find_players)
        self.cancel.clicked.connect(controller.cancel)
        self.go_lost.clicked.connect(controller.go_to_lost)
        self.reframe.toggled.connect(controller.set_reframe)
        controller.reframeChanged.connect(self.reframe.setChecked)  # both modes show the same choice
        controller.busyChanged.connect(self._busy)
        controller.progress.connect(lambda f: self.bar.setValue(round(f * 1000)))
        controller.status.connect(self.status.setText)
        controller.lostChanged.connect(lambda t: self.go_lost.setVisible(t is not None))
        self._busy(False)
        self.go_lost.setVisible(False)

    def _busy(self, busy: bool) -> None:
        self.track.setEnabled(not busy)
        self.bar.setVisible(busy)
        self.cancel.setVisible(busy)
        if busy:
            self.bar.setValue(0)
