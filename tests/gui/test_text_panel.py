"""The Text panel against a real library: every action checked by the gesture it stored, and its
preview by its pixels (drawn by core.text like the export)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from desktop.ui.text_panel import PRESETS, TextPanel
from tests.gui.test_panels import open_clip, settle, written


def texts(library, project):
    return library.show_project(project)["clips"][0]["edit"]["text_regions"]


def preview_pixels(panel: TextPanel) -> np.ndarray:
    image = panel.preview.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes()).reshape(image.height(), -1)
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()  # before image goes


def test_add_edit_preset_and_delete_text(qtbot, state, library) -> None:
    _raw, project, _wc = open_clip(state, library)
    panel = TextPanel(state)
    qtbot.addWidget(panel)
    assert preview_pixels(panel).max() < 60  # nothing drawn yet
    state.set_media_time(10.0 + 1.5)
    panel.add_at_playhead()
    settle(qtbot)
    [region] = texts(library, project)
    assert (region["start"], region["end"]) == (1.5, 3.5)
    assert region["elements"][0]["text"] == "GOAL!" and region["elements"][0]["font"] == "condensed"
    assert (preview_pixels(panel).min(axis=2) > 200).sum() > 100  # the white title in the preview

    panel.text.setText("Да! 決勝")
    panel.text.editingFinished.emit()
    panel.presets.setCurrentIndex(panel.presets.findData("Score"))
    panel._apply_preset(0)
    panel.size_spin.setValue(8.0)
    settle(qtbot)
    el = texts(library, project)[0]["elements"][0]
    assert el["text"] == "Да! 決勝" and el["preset"] == "top-right" and el["color"] == PRESETS["Score"]["color"]
    assert el["size"] == 0.08
    # The preview follows: yellow text in the top-right part.
    rgb = preview_pixels(panel)
    yellow = (rgb[..., 0] > 180) & (rgb[..., 1] > 150) & (rgb[..., 2] < 90)
    ys, xs = np.nonzero(yellow)
    assert len(xs) > 30 and xs.mean() > rgb.shape[1] * 0.5 and ys.mean() < rgb.shape[0] * 0.3

    panel.text.setText("   ")
    panel.text.editingFinished.emit()  # refused with a message, nothing stored
    assert texts(library, project)[0]["elements"][0]["text"] == "Да! 決勝"

    panel.end.setValue(2.5)
    settle(qtbot)
    assert texts(library, project)[0]["end"] == 2.5
    panel.select(region["uid"])
    panel.delete_selected()
    settle(qtbot)
    assert texts(library, project) == []


def test_title_card_section(qtbot, state, library) -> None:
    _raw, project, wc = open_clip(state, library)
    panel = TextPanel(state)
    qtbot.addWidget(panel)
    card = panel.title_card
    card.setChecked(True)
    written(qtbot, state)  # title card gestures commit on the write worker
    assert library.show_project(project)["title_card"]["duration"] == 3.0
    card.title_edit.setText("Saturday final")
    card.title_edit.editingFinished.emit()
    card.duration.setValue(2.0)
    state.set_media_time(10.0 + 2.0)
    card.background.setCurrentIndex(card.background.findData("frame"))
    card._set_background()
    written(qtbot, state)
    doc = library.show_project(project)["title_card"]
    assert doc["elements"][0]["text"] == "Saturday final" and doc["duration"] == 2.0
    assert (doc["background"], doc["working_clip"], doc["time"]) == ("frame", wc, 2.0)
    card.setChecked(False)
    written(qtbot, state)
    assert library.show_project(project)["title_card"] is None
