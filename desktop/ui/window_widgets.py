"""Small widgets of the main window: an eliding label, the drop overlay and the import report."""
from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import theme
from resources import icon

if TYPE_CHECKING:  # the frame of the main window is built before media code is loaded
    from core.media.importer import ImportResult


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with … instead of being cut off."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        rect = self.contentsRect().adjusted(10, 0, 0, 0)
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        p.setPen(theme.TEXT_DIM)
        p.drawText(rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        p.end()


class DropOverlay(QWidget):
    """Shown over the window while files are dragged in: says what a drop will do."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = "Drop to import"
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(theme.BG.red(), theme.BG.green(), theme.BG.blue(), 200))
        r = self.rect().adjusted(40, 40, -40, -40)
        pen = p.pen()
        pen.setColor(theme.ACCENT)
        pen.setWidth(3)
        pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.drawRoundedRect(r, 18, 18)
        icon("drop").paint(p, r.center().x() - 32, r.center().y() - 80, 64, 64)
        font = p.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        p.setFont(font)
        p.setPen(theme.TEXT)
        p.drawText(r.adjusted(0, 20, 0, 0), Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


class ImportReportDialog(QDialog):
    """Per-file results of an import, errors first; non-modal so editing can go on."""

    def __init__(self, results: list[ImportResult], parent: QWidget | None = None) -> None:
        from core.media.importer import ImportStatus

        super().__init__(parent)
        self.setWindowTitle("Import")
        self.resize(680, 360)
        layout = QVBoxLayout(self)
        failed = [r for r in results if r.status in (ImportStatus.ERROR, ImportStatus.CANCELLED)]
        ok = [r for r in results if r.ok]
        skipped = [r for r in results if r.status is ImportStatus.SKIPPED]
        head = QLabel(f"{len(ok)} imported · {len(failed)} failed · {len(skipped)} skipped")
        head.setStyleSheet("font-weight: 600;")
        layout.addWidget(head)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Result"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        order = {ImportStatus.ERROR: 0, ImportStatus.CANCELLED: 1, ImportStatus.SKIPPED: 2,
                 ImportStatus.IMPORTED: 3, ImportStatus.DUPLICATE: 4}
        for r in sorted(results, key=lambda r: order[r.status]):
            text = {ImportStatus.IMPORTED: "imported", ImportStatus.DUPLICATE: "already in the library"}.get(
                r.status, r.error or r.status.value)
            item = QTreeWidgetItem([r.path.name, text])
            item.setToolTip(0, str(r.path))
            item.setIcon(0, icon("alert" if r.status is ImportStatus.ERROR else
                                 "check" if r.ok else "cancel"))
            if r.status is ImportStatus.ERROR:
                item.setForeground(1, theme.ERROR)
            self.tree.addTopLevelItem(item)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
