"""Create a reel: the dialog asking its name and aspect, and the gestures that make it (with the
clips chosen) as one undo step."""
from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture
from desktop.ui.undo import EditorState

__all__ = ["NewReelDialog", "create_reel"]


class NewReelDialog(QDialog):
    def __init__(self, count: int, default_aspect: AspectRatio, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create reel")
        form = QFormLayout(self)
        self.name = QLineEdit(f"Reel {date.today().isoformat()}")
        self.name.selectAll()
        self.aspect = QComboBox()
        for a in AspectRatio:
            label = {"9:16": "9:16  vertical (Shorts, Reels, TikTok)", "16:9": "16:9  landscape (YouTube)",
                     "1:1": "1:1  square", "4:5": "4:5  portrait feed"}[a.value]
            self.aspect.addItem(label, a.value)
        self.aspect.setCurrentIndex(self.aspect.findData(default_aspect.value))
        form.addRow("Name", self.name)
        form.addRow("Aspect ratio", self.aspect)
        form.addRow("", QLabel(f"{count} clip{'s' if count != 1 else ''} will be added in order."
                               if count else "The reel starts empty; drag clips onto it later."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.name.textChanged.connect(
            lambda t: buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(t.strip())))


def create_reel(state: EditorState, name: str, aspect: AspectRatio, raw_uids: list[str]) -> str | None:
    """create_project + add_clip for each clip as ONE undo step; returns the new project uid."""
    gestures: list[Any] = [Gesture(GestureKind.CREATE_PROJECT, None, {"name": name.strip()[:200],
                                                                     "aspect": aspect.value})]
    for uid in raw_uids:
        gestures.append(lambda results, uid=uid: Gesture(GestureKind.ADD_CLIP, results[0].entity, {"raw_clip": uid}))
    results = state.apply_many(gestures, f"Create reel “{name.strip()}”")
    return results[0].entity if results else None
