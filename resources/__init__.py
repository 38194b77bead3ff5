"""Packaged resources: hand-written SVG icons (``icons/*.svg``) and the editor's style sheet
(``editor.qss``), read through importlib.resources.

Icons are drawn in the theme's text colour; :func:`icon` also renders a dark variant for checked
buttons (the accent background is light), and paints both at the screen's device pixel ratio so
they stay sharp on HiDPI displays. Qt is imported lazily: this package is importable headless.
"""
from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

LIGHT = "#DFE1E5"  # the colour the SVGs are written in (theme.TEXT)
DARK = "#141414"  # on the accent (theme.ACCENT_TEXT)
DISABLED = "#5D6169"  # theme.TEXT_DISABLED


def svg_text(name: str) -> str:
    """The SVG source of ``icons/<name>.svg``; FileNotFoundError for an unknown icon."""
    return (resources.files(__name__) / "icons" / f"{name}.svg").read_text(encoding="utf-8")


def style_sheet(colours: dict[str, str], name: str = "editor.qss") -> str:
    """A packaged .qss with ``{NAME}`` placeholders replaced by ``colours`` (theme colour names)."""
    text = (resources.files(__name__) / name).read_text(encoding="utf-8")
    for key, value in colours.items():
        text = text.replace("{" + key + "}", value)
    return text


def icon_names() -> list[str]:
    folder = resources.files(__name__) / "icons"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".svg"))


@functools.lru_cache(maxsize=None)
def icon(name: str, size: int = 24, *, checked_dark: bool = True) -> "QIcon":
    """A QIcon with normal, disabled and checked (dark on accent) pixmaps; empty if unknown.

    ``checked_dark=False`` for tab icons: Qt paints a selected tab's icon in the On state, and a
    selected tab has no accent background to carry a dark icon."""
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QGuiApplication, QIcon, QPainter, QPixmap
    from PySide6.QtSvg import QSvgRenderer

    try:
        text = svg_text(name)
    except (FileNotFoundError, OSError):
        return QIcon()
    app = QGuiApplication.instance()
    dpr = max(1.0, app.devicePixelRatio()) if isinstance(app, QGuiApplication) else 1.0
    result = QIcon()

    def pixmap(colour: str, scale: float) -> QPixmap:
        renderer = QSvgRenderer(QByteArray(text.replace(LIGHT, colour).encode("utf-8")))
        px = round(size * scale)
        pm = QPixmap(px, px)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        pm.setDevicePixelRatio(scale)
        return pm

    for scale in sorted({1.0, 2.0, dpr}):
        result.addPixmap(pixmap(LIGHT, scale), QIcon.Mode.Normal, QIcon.State.Off)
        result.addPixmap(pixmap(DARK if checked_dark else LIGHT, scale), QIcon.Mode.Normal, QIcon.State.On)
        result.addPixmap(pixmap(DISABLED, scale), QIcon.Mode.Disabled, QIcon.State.Off)
        result.addPixmap(pixmap(DISABLED, scale), QIcon.Mode.Disabled, QIcon.State.On)
    return result


__all__ = ["icon", "icon_names", "style_sheet", "svg_text"]
