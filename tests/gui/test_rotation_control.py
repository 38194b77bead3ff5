"""Rotation: fine drag, wheel and typed steps of 0.1°, a live preview while dragging, one gesture
on release, and a warning when the crop left by the rotation is blown up more than 2×."""
from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from core.enums import AspectRatio
from core.library import Library
from desktop.ui.rotation_control import RotationControl, smallest_crop
from desktop.ui.undo import fmt_px
from tests.gui.test_main_window import framed_project, import_game, open_window

HD_CLIP = {"source": {"width": 1920, "height": 1080}, "edit": {"crop_keyframes": [], "rotation": 0.0}}


def wheel(widget, notches: int, mods=Qt.KeyboardModifier.NoModifier) -> None:
    pos = QPointF(widget.rect().center())
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(), QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        mods, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_drag_previews_then_commits_once_in_tenths_of_a_degree(qtbot) -> None:
    control = RotationControl()
    qtbot.addWidget(control)
    control.resize(400, 80)
    control.show()
    control.set_clip(HD_CLIP, AspectRatio.PORTRAIT)
    previews, commits = [], []
    control.previewed.connect(previews.append)
    control.committed.connect(lambda d, merge: commits.append(d))
    slider = control.slider
    start = slider.rect().center()
    qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
    assert slider.value() == 0  # a press does not jump to the click
    qtbot.mouseMove(slider, start + QPoint(37, 0))
    assert previews and previews[-1] == pytest.approx(3.7)
    assert commits == []
    assert control.spin.value() == pytest.approx(3.7)
    qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=start + QPoint(37, 0))
    assert commits == [pytest.approx(3.7)]
    commits.clear()
    wheel(slider, 1)
    assert commits == [pytest.approx(3.8)]
    wheel(slider, -1, Qt.KeyboardModifier.ShiftModifier)
    assert commits[-1] == pytest.approx(2.8)
    control.spin.lineEdit().selectAll()
    qtbot.keyClicks(control.spin.lineEdit(), "-14.3")
    qtbot.keyClick(control.spin.lineEdit(), Qt.Key.Key_Return)
    assert commits[-1] == pytest.approx(-14.3)


def test_a_crop_enlarged_more_than_twice_is_warned(qtbot) -> None:
    control = RotationControl()
    qtbot.addWidget(control)
    control.show()
    control.set_clip(HD_CLIP, AspectRatio.PORTRAIT)  # 607.5x1080 -> 1080x1920: 1.8x
    assert not control.warning.isVisible()
    start = control.slider.rect().center()
    qtbot.mousePress(control.slider, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(control.slider, start - QPoint(140, 0))  # -14°: the crop shrinks to about 365x649
    assert control.warning.isVisible()
    degrees = control.slider.value() / 10
    assert degrees < -13
    factor = 1920 / smallest_crop(HD_CLIP, AspectRatio.PORTRAIT, degrees)[1]
    assert factor > 2.5
    assert "1080×1920" in control.warning.text() and f"{factor:.2f}×" in control.warning.text()
    qtbot.mouseRelease(control.slider, Qt.MouseButton.LeftButton, pos=start - QPoint(140, 0))


def test_the_viewer_previews_the_rotation_while_dragging(qtbot, library: Library, game_video: Path) -> None:
    media = import_game(library, game_video)
    project, wc = framed_project(library, media)
    window = open_window(qtbot, library)
    try:
        window.open_project(project)
        slider = window.frame_panel.rotation
        before = window.viewer.crop_box()
        start = slider.rect().center()
        qtbot.mousePress(slider, Qt.MouseButton.LeftButton, pos=start)
        qtbot.mouseMove(slider, start + QPoint(100, 0))
        assert window.viewer.crop_box().height < before.height - 1  # the preview turned the picture
        shown = window.viewer.crop_box()
        assert f"{fmt_px(shown.width)}×{fmt_px(shown.height)}" in window.frame_panel.crop_label.text()
        assert library.show_project(project)["clips"][0]["edit"]["rotation"] == 0.0  # nothing saved yet
        qtbot.mouseRelease(slider, Qt.MouseButton.LeftButton, pos=start + QPoint(100, 0))
        assert library.show_project(project)["clips"][0]["edit"]["rotation"] == pytest.approx(10.0)
        kinds = [window.state.undo.stack.text(i) for i in range(window.state.undo.stack.count())]
        assert kinds.count("Rotate") == 1
    finally:
        window.close()
