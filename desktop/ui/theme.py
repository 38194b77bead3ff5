"""The dark look shared by every ReelDesk widget: one palette, one style sheet, named colours.

Widgets paint with the QColor constants below (never ad-hoc literals), so a colour change here
changes the whole editor. The QSS is built from the same constants.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

# Surfaces, darkest first.
BG = QColor("#1B1C1F")          # window / viewer letterbox
PANEL = QColor("#25272B")       # panels, timeline tracks
PANEL_ALT = QColor("#2D3035")   # ruler, headers, alternate rows
PANEL_HI = QColor("#363A40")    # hovered controls
BORDER = QColor("#111214")      # separators
GRID = QColor("#3A3E45")        # ruler minor ticks, guide lines

TEXT = QColor("#DFE1E5")
TEXT_DIM = QColor("#8C9099")
TEXT_DISABLED = QColor("#5D6169")

ACCENT = QColor("#FFD400")      # brand yellow (matches the default spotlight ring)
ACCENT_TEXT = QColor("#141414")  # text on accent
SELECTION = QColor("#4DA3FF")   # selected items
PLAYHEAD = QColor("#FF3B30")
KEYFRAME = QColor("#FFD400")
SPLIT = QColor("#FF8A3D")
REGION = QColor("#3DDC97")
SPEED = QColor("#B48CFF")       # slow/fast motion segments
TRIMMED = QColor(10, 10, 12, 170)  # veil over trimmed-away time
DIM = QColor(0, 0, 0, 150)      # outside the crop box in the viewer
HANDLE = QColor("#FFFFFF")
CHIP_BG = QColor(16, 17, 19, 200)  # labels drawn over video or tracks
VEIL = QColor(16, 17, 19, 170)     # greyed-out (trimmed) spans
WAVEFORM = QColor("#4FB3A9")
ERROR = QColor("#FF5F6D")

# Raw-clip rating 0 (unrated) .. 5.
RATING_COLORS: tuple[QColor, ...] = (
    QColor("#6B7280"), QColor("#8A8F98"), QColor("#4DA3FF"),
    QColor("#3DDC97"), QColor("#FFB020"), QColor("#FF5F6D"),
)


def rating_color(rating: int | None) -> QColor:
    """Colour of a clip with this rating (out-of-range values clamp)."""
    return RATING_COLORS[max(0, min(len(RATING_COLORS) - 1, int(rating or 0)))]


def mono_font(point_size: float = 8.5) -> QFont:
    """Fixed-width font for time codes, so digits do not jitter while scrubbing."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(point_size)
    return font


def ui_font(point_size: float = 8.5, *, bold: bool = False) -> QFont:
    font = QFont(QApplication.font()) if QApplication.instance() else QFont()
    font.setPointSizeF(point_size)
    font.setBold(bold)
    return font


def dark_palette() -> QPalette:
    p = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, PANEL), (roles.WindowText, TEXT), (roles.Base, BG),
        (roles.AlternateBase, PANEL_ALT), (roles.ToolTipBase, PANEL_ALT), (roles.ToolTipText, TEXT),
        (roles.Text, TEXT), (roles.Button, PANEL_ALT), (roles.ButtonText, TEXT),
        (roles.BrightText, ERROR), (roles.Link, ACCENT), (roles.Highlight, SELECTION),
        (roles.HighlightedText, QColor("#FFFFFF")), (roles.PlaceholderText, TEXT_DISABLED),
        (roles.Light, PANEL_HI), (roles.Midlight, PANEL_ALT), (roles.Mid, BORDER),
        (roles.Dark, BORDER), (roles.Shadow, QColor("#000000")),
    ):
        p.setColor(role, color)
    for role in (roles.Text, roles.ButtonText, roles.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, TEXT_DISABLED)
    return p


def style_sheet() -> str:
    c = {name: color.name() for name, color in globals().items() if isinstance(color, QColor)}
    return f"""
QToolTip {{ color: {c['TEXT']}; background: {c['PANEL_ALT']}; border: 1px solid {c['BORDER']};
           padding: 4px 6px; }}
QScrollBar:horizontal {{ background: {c['BG']}; height: 11px; margin: 0; }}
QScrollBar:vertical {{ background: {c['BG']}; width: 11px; margin: 0; }}
QScrollBar::handle {{ background: {c['PANEL_HI']}; border-radius: 4px; min-width: 24px; min-height: 24px;
                      margin: 2px; }}
QScrollBar::handle:hover {{ background: {c['GRID']}; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
QGraphicsView, VideoViewer {{ border: none; background: {c['BG']}; }}
QSplitter::handle {{ background: {c['BORDER']}; }}
QPushButton, QToolButton {{ background: {c['PANEL_ALT']}; color: {c['TEXT']}; border: 1px solid {c['BORDER']};
                            border-radius: 4px; padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ background: {c['PANEL_HI']}; }}
QPushButton:checked, QToolButton:checked {{ background: {c['ACCENT']}; color: {c['ACCENT_TEXT']}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {c['TEXT_DISABLED']}; }}
QLineEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {c['BG']}; color: {c['TEXT']};
    border: 1px solid {c['BORDER']}; border-radius: 3px; padding: 3px 6px;
    selection-background-color: {c['SELECTION']}; }}
QLineEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{ border-color: {c['SELECTION']}; }}
QMenu {{ background: {c['PANEL_ALT']}; color: {c['TEXT']}; border: 1px solid {c['BORDER']}; }}
QMenu::item:selected {{ background: {c['SELECTION']}; }}
QStatusBar {{ background: {c['PANEL_ALT']}; color: {c['TEXT_DIM']}; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    """Fusion style (identical on every OS) with the dark palette and the shared style sheet."""
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None:
        app.setStyle(fusion)
    app.setPalette(dark_palette())
    app.setStyleSheet(style_sheet())


__all__ = [
    "ACCENT", "ACCENT_TEXT", "BG", "BORDER", "DIM", "ERROR", "GRID", "HANDLE", "KEYFRAME", "PANEL",
    "PANEL_ALT", "PANEL_HI", "PLAYHEAD", "RATING_COLORS", "REGION", "SELECTION", "SPEED", "SPLIT",
    "TEXT", "TEXT_DIM", "TEXT_DISABLED", "TRIMMED", "WAVEFORM", "apply_dark_theme", "dark_palette",
    "mono_font", "rating_color", "style_sheet", "ui_font",
]
