"""Cosmetics found when tried as an editor: visible selected-tab icons, underscores in card
captions, clip names clear of the timeline's lane captions, one time format for ruler and clock,
the same pixel count for the same crop, a clear outline on selected cards."""
from __future__ import annotations

from fractions import Fraction

import pytest
from PySide6.QtCore import QModelIndex, QRect, QSize
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QListView, QStyle, QStyleOptionViewItem

from core.library import Library
from desktop.ui import theme
from desktop.ui.library_panel import CARD, DATA_ROLE, ClipCardDelegate
from desktop.ui.timeline import TimelineView
from desktop.ui.timeline_paint import lane_label_right
from desktop.ui.undo import EditorState
from resources import icon


def brightness(image: QImage) -> float:
    """Mean lightness of the opaque pixels."""
    values = [QColor(image.pixel(x, y)).lightness() for x in range(image.width()) for y in range(image.height())
              if QColor.fromRgba(image.pixel(x, y)).alpha() > 128]
    return sum(values) / max(1, len(values))


def test_a_selected_tab_shows_a_light_icon(qtbot, library: Library) -> None:
    from desktop.ui.library_panel import LibraryPanel, ThumbnailCache
    from desktop.ui.workers import TaskHub
    from tests.gui.test_panels import lists_read

    state = EditorState(library)
    hub = TaskHub()
    try:
        thumbs = ThumbnailCache(state, hub, None)
        panel = LibraryPanel(state, hub, thumbs)
        qtbot.addWidget(panel)
        lists_read(qtbot, panel)  # its first read is in; nothing reads a library being closed
        tab_icon = panel.tabs.tabIcon(panel.tabs.currentIndex())
        # Qt paints a selected tab's icon in the On state, over the dark tab bar
        on = tab_icon.pixmap(QSize(24, 24), QIcon.Mode.Normal, QIcon.State.On).toImage()
        assert brightness(on) > 150
        assert brightness(icon("film").pixmap(QSize(24, 24), QIcon.Mode.Normal, QIcon.State.On).toImage()) < 100
        thumbs.close()
    finally:
        hub.shutdown()
        state.close()


def card(qtbot, name: str, selected: bool, media_name: str = "derby_game.mp4") -> QImage:
    view = QListView()
    qtbot.addWidget(view)
    model = QStandardItemModel()
    item = QStandardItem(name)
    item.setData({"name": name, "media_name": media_name, "start": 0.0, "end": 3.0, "rating": 3,
                  "tags": [], "media_hash": ""}, DATA_ROLE)
    model.appendRow(item)
    view.setModel(model)

    class NoThumbs:
        def pixmap(self, *_a):
            return None

    delegate = ClipCardDelegate(NoThumbs())
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, CARD.width(), CARD.height())
    if selected:
        option.state |= QStyle.StateFlag.State_Selected
    image = QImage(CARD, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0))
    p = QPainter(image)
    delegate.paint(p, option, model.index(0, 0, QModelIndex()))
    p.end()
    return image


@pytest.mark.parametrize("which", ["name", "source"])
def test_underscores_show_in_card_captions(qtbot, which: str) -> None:
    if which == "name":
        plain, underscored = card(qtbot, "corner kick", False), card(qtbot, "corner_kick", False)
    else:
        plain = card(qtbot, "Goal", False, "derby first.mp4")
        underscored = card(qtbot, "Goal", False, "derby_first.mp4")
    rows = {y for y in range(CARD.height()) for x in range(CARD.width())
            if plain.pixel(x, y) != underscored.pixel(x, y)}
    assert rows, "the underscore was not drawn at all"


def test_selected_cards_have_a_clear_outline(qtbot) -> None:
    image = card(qtbot, "Goal", True)
    accent = [(x, y) for x in range(CARD.width()) for y in range(CARD.height())
              if QColor(image.pixel(x, y)).red() > 200 and QColor(image.pixel(x, y)).green() > 170
              and QColor(image.pixel(x, y)).blue() < 90]
    assert len(accent) > 2 * (CARD.width() + CARD.height())  # a 2 px yellow outline around the card


def test_clip_names_are_not_under_the_lane_captions(qtbot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.resize(900, 220)
    view.show()
    view.set_media(600.0, Fraction(30), [{"uid": "a", "start": 0.0, "end": 400.0, "rating": 3, "name": "W" * 40}])
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    view.viewport().render(image)
    clip = view._media_clip_rect(view._clips[0]).translated(-view._scroll_x(), 0)
    caption_right = round(lane_label_right(view, view._lanes["clips"]))
    rows = range(int(clip.top()) + 3, int(clip.bottom()) - 1)
    dark = [(x, y) for x in range(int(clip.left()) + 4, caption_right - 8) for y in rows
            if QColor(image.pixel(x, y)).lightness() < 25]
    assert dark == []  # no clip name text under the "CLIPS" caption
    right = [(x, y) for x in range(caption_right, caption_right + 200) for y in rows
             if QColor(image.pixel(x, y)).lightness() < 25]
    assert right  # the name is drawn, after the caption


def test_ruler_and_clock_use_one_time_format(qtbot) -> None:
    view = TimelineView()
    qtbot.addWidget(view)
    view.set_media(100.0, Fraction(25), [])
    assert view.time_text(61.48) == "01:01.48"
    view.set_frames_timecode(True)
    assert view.time_text(61.48) == "00:01:01:12"


def test_the_same_crop_reads_the_same_pixels() -> None:
    from desktop.ui.undo import fmt_px

    assert fmt_px(607.5) == fmt_px(607.4999999) == "608"
    assert fmt_px(364.5) == "365" and fmt_px(649.0) == "649"


@pytest.fixture(autouse=True)
def _theme_loaded() -> None:
    assert theme.ACCENT.name().lower() == "#ffd400"
