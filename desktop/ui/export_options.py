"""Export panel pieces: the output-file chooser and the question asked when the window closes
while exports run."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QMessageBox, QPushButton, QWidget

from desktop.ui import theme

__all__ = ["CloseChoice", "OutputFileChooser", "ask_close_during_export"]


class OutputFileChooser(QWidget):
    """Where the export goes: automatic (the library's exports folder, a new version each
    time) or a file the user picked; the full path is always in the tooltip."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._path: Path | None = None
        self._automatic = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel()
        self.label.setMinimumWidth(80)
        self.label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.choose = QPushButton("Choose…")
        self.choose.setToolTip("Save the export as a file of your choice")
        self.reset = QPushButton("Auto")
        self.reset.setToolTip("Back to the library's exports folder (a new version each time)")
        lay.addWidget(self.label, 1)
        lay.addWidget(self.choose)
        lay.addWidget(self.reset)
        self.choose.clicked.connect(self._pick)
        self.reset.clicked.connect(lambda: self.set_path(None))
        self._show()

    def path(self) -> Path | None:
        return self._path

    def set_automatic(self, text: str) -> None:
        """What the automatic choice would write (shown while no file is picked)."""
        self._automatic = text
        self._show()

    def set_path(self, path: Path | None) -> None:
        self._path = path
        self._show()
        self.changed.emit()

    def _pick(self) -> None:
        start = str(self._path) if self._path else self._automatic
        name, _filter = QFileDialog.getSaveFileName(self, "Export to", start, "MP4 video (*.mp4)")
        if name:
            path = Path(name)
            self.set_path(path if path.suffix.lower() == ".mp4" else path.with_suffix(".mp4"))

    def _show(self) -> None:
        full = str(self._path) if self._path else self._automatic
        self.reset.setVisible(self._path is not None)
        metrics = self.label.fontMetrics()
        shown = self._path.name if self._path else f"{Path(self._automatic).name} (automatic)"
        self.label.setText(metrics.elidedText(shown, Qt.TextElideMode.ElideMiddle, 220))
        self.label.setToolTip(full)


class CloseChoice(str, Enum):
    KEEP = "keep"  # hide the window, quit when the exports are done
    CANCEL = "cancel"  # cancel the exports and quit
    STAY = "stay"  # do not close


def ask_close_during_export(parent: QWidget, running: int) -> CloseChoice:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Exports are running")
    box.setText(f"{running} export{'s are' if running != 1 else ' is'} still rendering.")
    box.setInformativeText("Keep rendering in the background (ReelDesk quits when done), cancel "
                           "the exports, or stay?")
    keep = box.addButton("Keep rendering in background", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton("Cancel exports", QMessageBox.ButtonRole.DestructiveRole)
    stay = box.addButton("Stay", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(stay)
    box.setEscapeButton(stay)
    box.exec()
    clicked = box.clickedButton()
    if clicked is keep:
        return CloseChoice.KEEP
    return CloseChoice.CANCEL if clicked is cancel else CloseChoice.STAY
