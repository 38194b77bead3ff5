"""The reel's title card: on/off, how long, a colour or the open clip's frame at the playhead
(blurred and dimmed) behind it, and its title text. Each change is one set_title_card gesture."""
from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QColorDialog, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLineEdit,
                               QPushButton, QWidget)

from core.enums import GestureKind, TitleBackground
from core.gestures.model import Gesture
from desktop.ui.refresh import gate, open_project_changed
from desktop.ui.undo import EditorState

TITLE_STYLE = {"font": "condensed", "size": 0.09, "preset": "middle-center", "outline": 0.05}


class TitleCardPanel(QGroupBox):
    def __init__(self, state: EditorState, parent: QWidget | None = None) -> None:
        super().__init__("Title card", parent)
        self.state = state
        self.setCheckable(True)
        self.setToolTip("A still with a title before the reel's first clip")
        form = QFormLayout(self)
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("Saturday final")
        self.duration = QDoubleSpinBox()
        self.duration.setRange(0.5, 10.0)
        self.duration.setSingleStep(0.5)
        self.duration.setSuffix(" s")
        self.duration.setKeyboardTracking(False)
        self.background = QComboBox()
        self.background.addItem("Colour", TitleBackground.COLOR.value)
        self.background.addItem("This clip's frame at the playhead", TitleBackground.FRAME.value)
        self.colour = QPushButton()
        form.addRow("Title", self.title_edit)
        form.addRow("Length", self.duration)
        form.addRow("Background", self.background)
        form.addRow("Colour", self.colour)
        self.toggled.connect(self._toggled)
        self.title_edit.editingFinished.connect(self._set_title)
        self.duration.valueChanged.connect(lambda v: self._set(duration=round(v, 3)))
        self.background.activated.connect(lambda _i: self._set_background())
        self.colour.clicked.connect(self._pick_colour)
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, open_project_changed(state))
        state.projectChanged.connect(lambda _p: self.refresh_gate.request())
        self.refresh()

    def card(self) -> dict[str, Any] | None:
        doc = self.state.project_doc()
        return doc.get("title_card") if doc else None

    def refresh(self) -> None:
        card = self.card()
        widgets = (self, self.title_edit, self.duration, self.background)
        for w in widgets:
            w.blockSignals(True)
        self.setChecked(card is not None)
        self.title_edit.setText(card["elements"][0]["text"] if card and card["elements"] else "")
        self.duration.setValue(card["duration"] if card else 3.0)
        self.background.setCurrentIndex(max(0, self.background.findData(card["background"] if card else "color")))
        colour = QColor(card["color"] if card else "#101010")
        self.colour.setText(colour.name().upper())
        self.colour.setStyleSheet(f"QPushButton {{ background: {colour.name()}; color: #FFFFFF; }}")
        for w in widgets:
            w.blockSignals(False)
        self.setEnabled(self.state.project_uid is not None)

    def _set(self, **payload: Any) -> None:
        if self.state.project_uid is not None:
            self.state.submit(Gesture(GestureKind.SET_TITLE_CARD, self.state.project_uid, payload))

    def _toggled(self, on: bool) -> None:
        if self.state.project_uid is None:
            return
        if on:
            self._set(duration=round(self.duration.value(), 3))
        else:
            self.state.submit(Gesture(GestureKind.CLEAR_TITLE_CARD, self.state.project_uid, {}))

    def _set_title(self) -> None:
        text = self.title_edit.text().strip()
        card = self.card() or {}
        current = card.get("elements") or []
        if text == (current[0]["text"] if current else ""):
            return
        self._set(elements=[{"text": text, **TITLE_STYLE}] if text else [])

    def _set_background(self) -> None:
        if self.background.currentData() == TitleBackground.FRAME.value:
            t = self.state.clip_time()
            if self.state.wc_uid is None or t is None:
                self.state.message.emit("Open a clip of the reel to take the frame from", True)
                self.refresh()
                return
            self._set(background="frame", working_clip=self.state.wc_uid, time=round(max(0.0, t), 6))
        else:
            self._set(background="color")

    def _pick_colour(self) -> None:
        colour = QColorDialog.getColor(QColor(self.colour.text()), self, "Title card colour")
        if colour.isValid():
            self._set(color=colour.name().upper())
