"""The keyboard map: one table that makes the window's QActions and the help dialog.

Single-letter keys are window shortcuts; text fields (search, tags, notes) take their own keys
first (QLineEdit accepts the ShortcutOverride), so typing "i" in a tag never marks an in point.
Arrows step frames (Shift: seconds) in every editing mode whatever widget has focus; the crop moves
only with Alt+arrows. K is the J/K/L shuttle's stop and nothing else, as in every NLE; a keyframe
is P (After Effects' position-keyframe letter, free here and away from the J/K/L hand).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QHeaderView, QLabel, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)


class Mode(str, Enum):
    LIBRARY = "library"
    ANNOTATE = "annotate"
    FRAME = "frame"
    SPOTLIGHT = "spotlight"
    EXPORT = "export"

    @property
    def title(self) -> str:  # type: ignore[override]  # the mode's display name; str.title() is never wanted
        return self.value.capitalize()


EDIT_MODES = frozenset({Mode.ANNOTATE, Mode.FRAME, Mode.SPOTLIGHT})
ALL_MODES = frozenset(Mode)


@dataclass(frozen=True)
class Binding:
    name: str
    keys: tuple[str, ...]
    label: str
    group: str
    modes: frozenset[Mode] = ALL_MODES

    def sequences(self) -> list[QKeySequence]:
        return [QKeySequence(k) for k in self.keys]


BINDINGS: tuple[Binding, ...] = (
    # playback
    Binding("play_pause", ("Space",), "Play / pause", "Playback", EDIT_MODES),
    Binding("shuttle_back", ("J",), "Play backwards (press again: faster)", "Playback", EDIT_MODES),
    Binding("shuttle_stop", ("K",), "Stop (J/K/L shuttle)", "Playback", EDIT_MODES),
    Binding("shuttle_fwd", ("L",), "Play forwards (press again: faster)", "Playback", EDIT_MODES),
    Binding("frame_back", ("Left",), "One frame back", "Playback", EDIT_MODES),
    Binding("frame_fwd", ("Right",), "One frame forward", "Playback", EDIT_MODES),
    Binding("second_back", ("Shift+Left",), "One second back", "Playback", EDIT_MODES),
    Binding("second_fwd", ("Shift+Right",), "One second forward", "Playback", EDIT_MODES),
    Binding("go_start", ("Home",), "Go to start", "Playback", EDIT_MODES),
    Binding("go_end", ("End",), "Go to end", "Playback", EDIT_MODES),
    Binding("loop", ("Ctrl+L",), "Loop playback", "Playback", EDIT_MODES),
    # marking
    Binding("mark_in", ("I",), "Mark in at the playhead", "Annotate", frozenset({Mode.ANNOTATE})),
    Binding("mark_out", ("O",), "Mark out at the playhead (creates the clip)", "Annotate", frozenset({Mode.ANNOTATE})),
    Binding("set_clip_in", ("Shift+I",), "Move the selected clip's start to the playhead", "Annotate",
            frozenset({Mode.ANNOTATE})),
    Binding("set_clip_out", ("Shift+O",), "Move the selected clip's end to the playhead", "Annotate",
            frozenset({Mode.ANNOTATE})),
    Binding("quick_mark", ("M",), "Quick mark around the playhead (9 s before, 3 s after)", "Annotate",
            frozenset({Mode.ANNOTATE})),
    Binding("rate_1", ("1",), "Rate 1 star", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    Binding("rate_2", ("2",), "Rate 2 stars", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    Binding("rate_3", ("3",), "Rate 3 stars", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    Binding("rate_4", ("4",), "Rate 4 stars", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    Binding("rate_5", ("5",), "Rate 5 stars", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    Binding("rate_0", ("0",), "Clear the rating", "Annotate", frozenset({Mode.ANNOTATE, Mode.LIBRARY})),
    # framing
    Binding("add_keyframe", ("P",), "Add a keyframe at the playhead (crop, or the selected spotlight)",
            "Frame / Spotlight", frozenset({Mode.FRAME, Mode.SPOTLIGHT})),
    Binding("split", ("S",), "Split at the playhead", "Frame / Spotlight", frozenset({Mode.FRAME})),
    Binding("copy_crop", ("Ctrl+C",), "Copy the crop at the playhead", "Frame / Spotlight", frozenset({Mode.FRAME})),
    Binding("paste_crop", ("Ctrl+V",), "Paste the crop at the playhead", "Frame / Spotlight", frozenset({Mode.FRAME})),
    Binding("delete", ("Del", "Backspace"), "Delete the selected keyframe, region or clip", "Frame / Spotlight",
            ALL_MODES - {Mode.EXPORT}),
    Binding("add_region", ("R",), "Add a spotlight region at the playhead", "Frame / Spotlight",
            frozenset({Mode.SPOTLIGHT})),
    # editing and view
    Binding("undo", ("Ctrl+Z",), "Undo", "Edit"),
    Binding("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", "Edit"),
    Binding("zoom_in", ("+", "=", "Ctrl++"), "Zoom the timeline in", "View", EDIT_MODES),
    Binding("zoom_out", ("-", "Ctrl+-"), "Zoom the timeline out", "View", EDIT_MODES),
    Binding("zoom_fit", ("Shift+Z",), "Fit the timeline", "View", EDIT_MODES),
    Binding("mode_library", ("Ctrl+1",), "Library", "View"),
    Binding("mode_annotate", ("Ctrl+2",), "Annotate", "View"),
    Binding("mode_frame", ("Ctrl+3",), "Frame", "View"),
    Binding("mode_spotlight", ("Ctrl+4",), "Spotlight", "View"),
    Binding("mode_export", ("Ctrl+5",), "Export", "View"),
    Binding("find", ("Ctrl+F",), "Search the library", "View"),
    Binding("import", ("Ctrl+I",), "Import files", "File"),
    Binding("settings", ("Ctrl+,",), "Settings", "File"),
    Binding("help_keys", ("F1", "?"), "This keyboard map", "Help"),
)

# Alt+arrows move the crop 1 source px, Alt+Shift+arrows 10 px (the window's QActions; one
# binding per step size, since an action does not tell which of its shortcuts fired).
NUDGES: dict[str, tuple[float, float]] = {}
_nudge_bindings: list[Binding] = []
for _dir, (_dx, _dy) in {"Left": (-1, 0), "Right": (1, 0), "Up": (0, -1), "Down": (0, 1)}.items():
    for _far, _step in ((False, 1.0), (True, 10.0)):
        _name = f"nudge_{_dir.lower()}{'_far' if _far else ''}"
        NUDGES[_name] = (_dx * _step, _dy * _step)
        _nudge_bindings.append(Binding(_name, (f"Alt+{'Shift+' if _far else ''}{_dir}",),
                                       f"Nudge the crop {_dir.lower()} {_step:g} px", "Frame / Spotlight",
                                       frozenset({Mode.FRAME})))
BINDINGS += tuple(_nudge_bindings)

BY_NAME: dict[str, Binding] = {b.name: b for b in BINDINGS}


def native_text(binding: Binding) -> str:
    return " or ".join(QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in binding.keys)


class KeymapDialog(QDialog):
    """Help → Keyboard shortcuts: every binding, grouped, with the modes it works in."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(820, 680)
        layout = QVBoxLayout(self)
        intro = QLabel("Shortcuts work anywhere in the window except while typing in a text field.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Action", "Keys", "Where"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        for group in dict.fromkeys(b.group for b in BINDINGS):
            head = QTreeWidgetItem([group])
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(head)
            head.setFirstColumnSpanned(True)
            for b in (b for b in BINDINGS if b.group == group):
                where = "everywhere" if b.modes == ALL_MODES else ", ".join(m.title for m in Mode if m in b.modes)
                item = QTreeWidgetItem([b.label, native_text(b), where])
                for col in range(3):
                    item.setToolTip(col, item.text(col))
                self.tree.addTopLevelItem(item)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.tree)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def key_hint(name: str) -> str:
    """The first key of a binding as shown in tooltips and buttons, e.g. "P"."""
    return QKeySequence(BY_NAME[name].keys[0]).toString(QKeySequence.SequenceFormat.NativeText)


__all__ = ["ALL_MODES", "BINDINGS", "BY_NAME", "Binding", "EDIT_MODES", "KeymapDialog", "Mode", "NUDGES",
           "key_hint", "native_text"]
