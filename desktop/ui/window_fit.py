"""Fitting the window to small screens (1366×768 laptops): pages and inspectors that scroll
instead of forcing the window's height, stacks sized by the page shown (not the largest page),
and a window geometry kept inside the available screen on first launch and on restore."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (QAbstractItemView, QFrame, QMainWindow, QScrollArea, QSizePolicy, QStackedWidget,
                               QWidget)

PREFERRED_SIZE = QSize(1440, 900)
TITLE_BAR_ALLOWANCE = 32  # px
MIN_ROWS = 5  # a list shows at least this many rows, even at 1366x768 (its panel scrolls instead)


class CurrentPageStack(QStackedWidget):
    """A stack whose size hints are those of the page shown: a tall Export page must not set the
    minimum height of the editor, nor a wide Library page its minimum width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.currentChanged.connect(lambda _i: self.updateGeometry())

    def sizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()


class _VerticalScroll(QScrollArea):
    """Scrolls vertically only: as wide as its page needs (asked each time, since style sheets and
    contents change it), as short as a few rows."""

    def minimumSizeHint(self) -> QSize:
        page = self.widget()
        bar = self.verticalScrollBar().sizeHint().width()
        width = (page.minimumSizeHint().width() if page is not None else 0) + bar + 2 * self.frameWidth()
        return QSize(width, super().minimumSizeHint().height())


def scrolling(widget: QWidget, *, horizontal: bool = False) -> QScrollArea:
    """``widget`` in a frameless scroll area that scrolls vertically when the space is short (and
    horizontally too when asked), so its height never forces the window's."""
    area = QScrollArea() if horizontal else _VerticalScroll()
    area.setObjectName(f"{widget.objectName() or type(widget).__name__}Scroll")
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    if not horizontal:
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


class _HorizontalStrip(QScrollArea):
    """One row of controls (the transport) that scrolls sideways when the window is narrower
    than the row, instead of setting the window's minimum width; as tall as the row."""

    def __init__(self, row: QWidget) -> None:
        super().__init__()
        self.setObjectName(f"{row.objectName() or type(row).__name__}Strip")
        self.setWidget(row)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def _height(self) -> int:
        row = self.widget()
        short = row is not None and self.viewport().width() < row.minimumSizeHint().width()
        bar = self.horizontalScrollBar().sizeHint().height() if short else 0
        return (row.sizeHint().height() if row is not None else 0) + bar

    def sizeHint(self) -> QSize:
        row = self.widget()
        return QSize(row.sizeHint().width() if row is not None else 0, self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.height() != self._height():  # the scroll bar came or went
            self.setFixedHeight(self._height())


def strip(row: QWidget) -> QScrollArea:
    """``row`` in a sideways-scrolling strip: it never forces the window wider than the screen."""
    area = _HorizontalStrip(row)
    area.setFixedHeight(area._height())
    return area


def rows_height(view: QAbstractItemView, rows: int, row: int | None = None) -> int:
    """Height that shows ``rows`` rows of ``view`` (plus its header and frame)."""
    row = row or max(view.sizeHintForRow(0), view.fontMetrics().height() + 8)
    header = getattr(view, "header", None)
    head = header().sizeHint().height() if header is not None and not header().isHidden() else 0
    return head + rows * row + 2 * view.frameWidth() + 2


def fit_rect(current: QRect, minimum: QSize, available: QRect) -> QRect:
    """``current`` moved and shrunk to lie inside ``available`` (never below ``minimum``)."""
    w = max(min(current.width(), available.width()), min(minimum.width(), available.width()))
    h = max(min(current.height(), available.height()), min(minimum.height(), available.height()))
    x = min(max(current.x(), available.x()), available.right() + 1 - w)
    y = min(max(current.y(), available.y()), available.bottom() + 1 - h)
    return QRect(max(x, available.x()), max(y, available.y()), w, h)


def first_launch_rect(available: QRect, minimum: QSize) -> QRect:
    """The preferred size where it fits, else the available area, centred."""
    size = QSize(min(PREFERRED_SIZE.width(), available.width()), min(PREFERRED_SIZE.height(), available.height()))
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(available.center())
    return fit_rect(rect, minimum, available)


def fit_window(window: QMainWindow, *, first_launch: bool) -> None:
    """Place the window inside its screen's available area (the taskbar excluded). The frame
    (title bar, borders) is outside the geometry, so it is taken off the available area."""
    screen = window.screen()
    if screen is None or window.isMaximized() or window.isFullScreen():
        return
    frame = window.frameGeometry()
    inner = window.geometry()
    margins = (inner.left() - frame.left(), inner.top() - frame.top(),
               frame.right() - inner.right(), frame.bottom() - inner.bottom())
    if frame == inner:  # not decorated yet (before the first show): leave room for a title bar
        margins = (0, TITLE_BAR_ALLOWANCE, 0, 0)
    available = screen.availableGeometry().adjusted(margins[0], margins[1], -margins[2], -margins[3])
    minimum = window.minimumSizeHint()
    rect = first_launch_rect(available, minimum) if first_launch else fit_rect(inner, minimum, available)
    if rect != inner:
        window.setGeometry(rect)


__all__ = ["CurrentPageStack", "MIN_ROWS", "PREFERRED_SIZE", "first_launch_rect", "fit_rect", "fit_window",
           "rows_height",
           "scrolling"]
