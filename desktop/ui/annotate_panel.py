"""Annotate mode: mark the moments worth keeping in a game and rate, tag and note them.

I marks an in point, O marks the out point and creates the raw clip (which becomes selected, so
1–5 rate it right away); M quick-marks around the playhead (9 s before, 3 s after by default);
Shift+I / Shift+O move the selected clip's ends to the playhead. Every change is one gesture.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QCompleter, QDialog, QDoubleSpinBox,
                               QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSizePolicy, QToolButton, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.changes import ChangeSet, EntityKind
from core.enums import AspectRatio, GestureKind
from core.gestures.model import Gesture
from core.reads import read_games
from desktop.ui import theme
from desktop.ui.annotate_widgets import ClipList, NotesEdit, StarRating, parse_tags
from desktop.ui.background import LatestRead
from desktop.ui.library_listing import ListRead, clip_title, read_tags
from desktop.ui.library_panel import UID_ROLE
from desktop.ui.new_reel import NewReelDialog, create_reel
from desktop.ui.refresh import gate, touching
from desktop.ui.undo import EditorState, fmt_time
from desktop.ui.window_fit import MIN_ROWS, rows_height
from resources import icon

log = logging.getLogger(__name__)

QUICK_BEFORE_S = 9.0
QUICK_AFTER_S = 3.0
MIN_CLIP_S = 0.1


NOTES_SAVE_MS = 700  # notes save this long after the last keystroke
_ROWS_UPDATED_IN_PLACE = 50  # a change naming more clips re-reads the list


class AnnotatePanel(QWidget):
    """Inspector of the Annotate mode."""

    reelCreated = Signal(str)

    def __init__(self, state: EditorState, parent: QWidget | None = None, *, reads: LatestRead | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.reads = reads if reads is not None else LatestRead(self)  # the library's tags, read on a worker
        self.pending_in: float | None = None
        self.quick_before = float(state.library.get_setting("ui.quick_mark_before", str(QUICK_BEFORE_S)))
        self.quick_after = float(state.library.get_setting("ui.quick_mark_after", str(QUICK_AFTER_S)))
        self._clips: list[dict[str, Any]] = []

        root = QVBoxLayout(self)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(10)

        self.footage = QComboBox()
        self.footage.setToolTip("The footage being marked (games list their parts in order)")
        self.footage.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.footage.setMinimumContentsLength(20)
        self.footage.setPlaceholderText("No footage yet")
        self.media_label = QLabel("No footage open")
        self.media_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.media_label.setWordWrap(True)
        root.addWidget(self.footage)
        root.addWidget(self.media_label)

        marks = QGroupBox("Mark")
        grid = QGridLayout(marks)
        grid.setHorizontalSpacing(6)
        self.in_button = QPushButton(icon("mark-in"), "In  (I)")
        self.out_button = QPushButton(icon("mark-out"), "Out  (O)")
        self.quick_button = QPushButton(icon("quick-mark"), "Quick mark  (M)")
        self.in_label = QLabel("in --:--")
        self.in_label.setFont(theme.mono_font(9))
        self.in_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.before = QDoubleSpinBox()
        self.after = QDoubleSpinBox()
        for spin, value, tip in ((self.before, self.quick_before, "seconds before the playhead"),
                                 (self.after, self.quick_after, "seconds after the playhead")):
            spin.setRange(0.5, 120.0)
            spin.setDecimals(1)
            spin.setSuffix(" s")
            spin.setValue(value)
            spin.setToolTip("Quick mark: " + tip)
            spin.setMaximumWidth(86)
        grid.addWidget(self.in_button, 0, 0)
        grid.addWidget(self.out_button, 0, 1)
        grid.addWidget(self.in_label, 0, 2)
        window = QHBoxLayout()
        window.addWidget(self.quick_button)
        window.addWidget(QLabel("−"))
        window.addWidget(self.before)
        window.addWidget(QLabel("+"))
        window.addWidget(self.after)
        window.addStretch(1)
        grid.addLayout(window, 1, 0, 1, 3)
        root.addWidget(marks)

        self.clip_list = ClipList()
        self.clip_list.setHeaderLabels(["Clip", "In", "Length", "Rating"])
        self.clip_list.setRootIsDecorated(False)
        self.clip_list.setAlternatingRowColors(True)
        self.clip_list.setUniformRowHeights(True)
        self.clip_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.clip_list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.clip_list.setMinimumHeight(rows_height(self.clip_list, MIN_ROWS))
        self.clip_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        root.addWidget(self.clip_list, 1)

        self.details = QGroupBox("Selected clip")
        form = QFormLayout(self.details)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Name")
        self.range_label = QLabel()
        self.range_label.setFont(theme.mono_font(9))
        self.stars = StarRating()
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("goal, assist, #10 …")
        self.notes_edit = NotesEdit()
        self.notes_edit.setPlaceholderText("Notes (saved as you type)")
        self.notes_edit.setTabChangesFocus(True)
        self._notes_timer = QTimer(self)
        self._notes_timer.setSingleShot(True)
        self._notes_timer.setInterval(NOTES_SAVE_MS)
        self._notes_uid: str | None = None  # the clip the unsaved notes belong to
        self._filling_notes = False
        self.notes_edit.setFixedHeight(64)
        form.addRow("Name", self.name_edit)
        form.addRow("Range", self.range_label)
        form.addRow("Rating", self.stars)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Notes", self.notes_edit)
        root.addWidget(self.details)

        actions = QHBoxLayout()
        self.reel_button = QPushButton(icon("project"), "Create reel from selected")
        self.reel_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.delete_button = QToolButton()
        self.delete_button.setIcon(icon("trash"))
        self.delete_button.setToolTip("Delete the selected clips (Del)")
        actions.addWidget(self.reel_button)
        actions.addWidget(self.delete_button)
        root.addLayout(actions)

        self.footage.activated.connect(lambda _i: self.state.set_media(self.footage.currentData()))
        self.in_button.clicked.connect(self.mark_in)
        self.out_button.clicked.connect(self.mark_out)
        self.quick_button.clicked.connect(self.quick_mark)
        self.before.valueChanged.connect(self._save_quick_window)
        self.after.valueChanged.connect(self._save_quick_window)
        self.clip_list.itemSelectionChanged.connect(self._selection_changed)
        self.clip_list.itemDoubleClicked.connect(lambda item, _c: self._seek_to(item))
        self.stars.rated.connect(self.rate)
        self.name_edit.editingFinished.connect(self._commit_name)
        self.tags_edit.editingFinished.connect(self._commit_tags)
        self.notes_edit.committed.connect(self._commit_notes)
        self.notes_edit.textChanged.connect(self._notes_typed)
        self._notes_timer.timeout.connect(self._commit_notes)
        self.reel_button.clicked.connect(self.create_reel_from_selection)
        self.delete_button.clicked.connect(self.delete_selected)
        state.mediaChanged.connect(lambda _h: self.refresh())
        # Footage list and clip list refresh apart: a rating or a rename re-reads the clips it
        # names (not the whole list, and not the games).
        self._stale_clips: set[str] | None = set()  # named since the last refresh; None: all
        self.footage_gate = gate(self, state.libraryChanged, self._fill_footage,
                                 touching(EntityKind.MEDIA, EntityKind.GAME))
        self.refresh_gate = gate(self, state.libraryChanged, self._refresh_clips, self._clips_changed)
        state.rawClipChanged.connect(self._select_uid)
        self.refresh()

    # -- data ------------------------------------------------------------------------------------
    def _fill_footage(self) -> None:
        """Games first (their parts in order), then loose footage."""
        lib = self.state.library
        media = {m["hash"]: m for m in lib.media_list()}
        self.footage.blockSignals(True)
        self.footage.clear()
        listed: set[str] = set()
        for game in read_games(lib):
            parts = [h for h in game.media if h in media]
            for i, h in enumerate(parts, 1):
                label = game.name + (f" — part {i} of {len(parts)}" if len(parts) > 1 else "")
                self.footage.addItem(icon("library"), label, h)
                listed.add(h)
        for h, mm in media.items():
            if h not in listed:
                self.footage.addItem(icon("film"), mm["name"] or h[:12], h)
        self.footage.setCurrentIndex(self.footage.findData(self.state.media_hash))
        self.footage.blockSignals(False)

    def refresh(self) -> None:
        self._fill_footage()
        self._stale_clips = None
        self._refresh_clips()

    def _clips_changed(self, changes: ChangeSet) -> bool:
        """Gate test that also remembers which clips to re-read (all when media changed)."""
        if changes.touches(EntityKind.MEDIA):
            self._stale_clips = None
            return True
        named = changes.of(EntityKind.RAW_CLIP)
        if named and self._stale_clips is not None:
            self._stale_clips |= named
        return bool(named)

    def _refresh_clips(self) -> None:
        stale, self._stale_clips = self._stale_clips, set()
        if stale is None or len(stale) > _ROWS_UPDATED_IN_PLACE or not self._update_rows(stale):
            self._read_list()
        self.reads.request(partial(read_tags, self.state.library), self._offer_tags, key=ListRead.TAGS)
        self._show_details()

    def _read_list(self) -> None:
        """The open footage's line and its whole clip list, read again."""
        h = self.state.media_hash
        info = self.state.media_info()
        if info is None:
            self.media_label.setText("No footage open — drop a game video on the window, or double-click "
                                     "footage in the Library")
            self._clips = []
        else:
            fps = info["fps_num"] / info["fps_den"]
            self.media_label.setText(f"{info['name']}  ·  {fmt_time(info['duration'], precise=False)}  ·  "
                                     f"{info['width']}×{info['height']}  ·  {fps:.3g} fps")
            self._clips = self.state.library.raw_clips(h)
        enabled = info is not None
        for w in (self.in_button, self.out_button, self.quick_button):
            w.setEnabled(enabled)
        selected = set(self.selected_uids())
        self.clip_list.blockSignals(True)
        self.clip_list.clear()
        for c in self._clips:
            item = QTreeWidgetItem()
            self._fill_row(item, c)
            self.clip_list.addTopLevelItem(item)
            if c["uid"] in selected or c["uid"] == self.state.raw_clip_uid:
                item.setSelected(True)
        self.clip_list.blockSignals(False)
        self._update_in_label()

    @staticmethod
    def _fill_row(item: QTreeWidgetItem, c: dict[str, Any]) -> None:
        for col, text in enumerate((clip_title(c), fmt_time(c["start"]), fmt_time(c["end"] - c["start"]),
                                    "★" * int(c["rating"] or 0))):
            item.setText(col, text)
        item.setData(0, UID_ROLE, c["uid"])
        item.setForeground(3, theme.rating_color(c["rating"]))
        item.setToolTip(0, ", ".join(c["tags"]))

    def _update_rows(self, uids: set[str]) -> bool:
        """Re-read the named clips and update their rows in place; False when the list itself
        must be read again (a clip added, deleted or moved in time on this footage)."""
        rows = {c["uid"]: i for i, c in enumerate(self._clips)}
        fresh = []
        for uid in uids:
            c = self.state.library.raw_clip(uid)
            if c is None or c["media_hash"] != self.state.media_hash:
                continue  # another footage's clip
            i = rows.get(uid)
            if i is None or c["deleted"] or c["start"] != self._clips[i]["start"]:
                return False
            fresh.append((i, c))
        for i, c in fresh:
            self._clips[i] = c
            item = self.clip_list.topLevelItem(i)
            if item is not None:
                self._fill_row(item, c)
        return True

    def _offer_tags(self, tags: list[str]) -> None:
        """Every tag in the library as the tag field's completions."""
        completer = QCompleter(tags, self.tags_edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.tags_edit.setCompleter(completer)

    def clips(self) -> list[dict[str, Any]]:
        return list(self._clips)

    def selected_uids(self) -> list[str]:
        return [i.data(0, UID_ROLE) for i in self.clip_list.selectedItems()]

    def current_clip(self) -> dict[str, Any] | None:
        uid = self.state.raw_clip_uid
        return next((c for c in self._clips if c["uid"] == uid), None)

    def _select_uid(self, uid: str | None) -> None:
        if uid is not None and uid in self.selected_uids():
            self._show_details()  # our own selection named it (a Ctrl+click): keep the others selected
            return
        self.clip_list.blockSignals(True)
        for i in range(self.clip_list.topLevelItemCount()):
            item = self.clip_list.topLevelItem(i)
            if item is None:
                continue
            item.setSelected(item.data(0, UID_ROLE) == uid)
            if item.data(0, UID_ROLE) == uid:
                self.clip_list.scrollToItem(item)
        self.clip_list.blockSignals(False)
        self._show_details()

    def _selection_changed(self) -> None:
        self._commit_notes()  # unsaved notes belong to the clip that was selected
        uids = self.selected_uids()
        self.state.set_raw_clip(uids[-1] if uids else None)
        if len(uids) == 1:
            clip = self.current_clip()
            if clip is not None:
                self.state.seek(clip["start"])
        self._show_details()

    def _seek_to(self, item: QTreeWidgetItem) -> None:
        clip = next((c for c in self._clips if c["uid"] == item.data(0, UID_ROLE)), None)
        if clip is not None:
            self.state.seek(clip["start"])

    def _show_details(self) -> None:
        clip = self.current_clip()
        self.details.setEnabled(clip is not None)
        self.reel_button.setEnabled(bool(self.selected_uids()))
        self.delete_button.setEnabled(bool(self.selected_uids()))
        if clip is None:
            for w in (self.name_edit, self.tags_edit):
                w.clear()
            self._filling_notes = True
            self.notes_edit.clear()
            self._filling_notes = False
            self.range_label.setText("—")
            self.stars.set_value(0)
            return
        if not self.name_edit.hasFocus():
            self.name_edit.setText(clip["name"])
        if not self.tags_edit.hasFocus():
            self.tags_edit.setText(", ".join(clip["tags"]))
        if (not self.notes_edit.hasFocus() and self._notes_uid is None
                and self.notes_edit.toPlainText() != clip["notes"]):
            self._filling_notes = True
            self.notes_edit.setPlainText(clip["notes"])
            self._filling_notes = False
        self.range_label.setText(f"{fmt_time(clip['start'])} – {fmt_time(clip['end'])}"
                                 f"   ({fmt_time(clip['end'] - clip['start'])})")
        self.stars.set_value(int(clip["rating"] or 0))

    def _update_in_label(self) -> None:
        self.in_label.setText(f"in {fmt_time(self.pending_in)}" if self.pending_in is not None else "in --:--")
        colour = theme.ACCENT if self.pending_in is not None else theme.TEXT_DIM
        self.in_label.setStyleSheet(f"color: {colour.name()};")

    def _save_quick_window(self) -> None:
        self.quick_before, self.quick_after = self.before.value(), self.after.value()
        self.state.library.set_setting("ui.quick_mark_before", str(self.quick_before))
        self.state.library.set_setting("ui.quick_mark_after", str(self.quick_after))

    # -- marking ---------------------------------------------------------------------------------
    def _duration(self) -> float | None:
        info = self.state.media_info()
        return float(info["duration"]) if info else None

    def mark_in(self) -> None:
        if self._duration() is None:
            self.state.message.emit("Open some footage first", True)
            return
        self.pending_in = self.state.media_time
        self.state.set_raw_clip(None)  # a new clip starts: rating keys go to it once it exists
        self._update_in_label()
        self.state.message.emit(f"In at {fmt_time(self.pending_in)} — press O at the end of the moment", False)

    def mark_out(self) -> None:
        duration = self._duration()
        if duration is None:
            self.state.message.emit("Open some footage first", True)
            return
        if self.pending_in is None:
            self.state.message.emit("Mark the in point first (I)", True)
            return
        t = min(self.state.media_time, duration)
        if t - self.pending_in < MIN_CLIP_S:
            self.state.message.emit("The out point must come after the in point", True)
            return
        self._mark(self.pending_in, t)
        self.pending_in = None
        self._update_in_label()

    def quick_mark(self) -> None:
        duration = self._duration()
        if duration is None:
            self.state.message.emit("Open some footage first", True)
            return
        t = self.state.media_time
        self._mark(max(0.0, t - self.quick_before), min(duration, t + self.quick_after))

    def _mark(self, start: float, end: float) -> None:
        n = len(self._clips) + 1
        # Applied here, not on the write worker: the new clip is selected at once by its uid.
        result = self.state.apply(Gesture(GestureKind.MARK_CLIP, None, {
            "media": self.state.media_hash, "start": round(start, 6), "end": round(end, 6), "name": f"Clip {n}"}))
        if result is not None:
            self.refresh()
            self.state.set_raw_clip(result.entity)
            self.state.message.emit(f"Marked {fmt_time(start)} – {fmt_time(end)}; rate it with 1–5", False)

    def set_clip_edge(self, which: str) -> None:
        """Shift+I / Shift+O: move the selected clip's start or end to the playhead."""
        clip = self.current_clip()
        if clip is None:
            self.state.message.emit("Select a clip first", True)
            return
        t = round(self.state.media_time, 6)
        start, end = (t, clip["end"]) if which == "start" else (clip["start"], t)
        if end - start < MIN_CLIP_S:
            self.state.message.emit("A clip must end after it starts", True)
            return
        self.state.submit(Gesture(GestureKind.UPDATE_CLIP, clip["uid"], {"start": start, "end": end}),
                          optimistic=partial(clip.update, start=start, end=end))

    def rate(self, n: int, uids: list[str] | None = None) -> None:
        uids = uids if uids is not None else (self.selected_uids() or
                                              ([self.state.raw_clip_uid] if self.state.raw_clip_uid else []))
        if not uids:
            self.state.message.emit("Select or mark a clip to rate it", True)
            return
        gestures = [Gesture(GestureKind.UPDATE_CLIP, uid, {"rating": n}) for uid in uids]
        if len(gestures) == 1:
            self.state.submit(gestures[0])
        else:  # one undo step for the whole selection
            self.state.submit_many(gestures, f"Rate {len(gestures)} clips")

    def _commit_name(self) -> None:
        clip = self.current_clip()
        name = self.name_edit.text().strip()[:200]
        if clip is not None and name != clip["name"]:
            # The field shows the name; the clip as listed takes it at once, so a second commit
            # (Enter, then leaving the field) is no change while the write is under way.
            self.state.submit(Gesture(GestureKind.UPDATE_CLIP, clip["uid"], {"name": name}),
                              optimistic=partial(clip.update, name=name))

    def _commit_tags(self) -> None:
        clip = self.current_clip()
        tags = parse_tags(self.tags_edit.text())
        if clip is not None and tags != clip["tags"]:
            self.state.submit(Gesture(GestureKind.UPDATE_CLIP, clip["uid"], {"tags": tags}),
                              optimistic=partial(clip.update, tags=tags))

    def _notes_typed(self) -> None:
        if self._filling_notes or self.state.raw_clip_uid is None:
            return
        if self._notes_uid is None:
            self._notes_uid = self.state.raw_clip_uid
        self._notes_timer.start()

    def _commit_notes(self) -> None:
        """Save typed notes: after a pause, on leaving the field, or before the selection moves.
        Saves within a burst of typing merge into one undo step."""
        self._notes_timer.stop()
        uid, self._notes_uid = self._notes_uid, None
        clip = next((c for c in self._clips if c["uid"] == uid), None)
        notes = self.notes_edit.toPlainText()[:10_000]
        if clip is not None and notes != clip["notes"]:
            self.state.submit(Gesture(GestureKind.UPDATE_CLIP, clip["uid"], {"notes": notes}), merge_key="notes",
                              text="Edit notes", optimistic=partial(clip.update, notes=notes))

    def delete_selected(self) -> None:
        uids = self.selected_uids()
        if uids:
            self.state.submit_many([Gesture(GestureKind.DELETE_CLIP, u, {}) for u in uids],
                                   f"Delete {len(uids)} clip(s)")
            self.state.set_raw_clip(None)

    def create_reel_from_selection(self, uids: list[str] | None = None) -> None:
        uids = uids if uids else self.selected_uids()
        default = AspectRatio(self.state.library.get_setting("ui.default_aspect", AspectRatio.PORTRAIT.value))
        dialog = NewReelDialog(len(uids), default, self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        aspect = AspectRatio(dialog.aspect.currentData())
        self.state.library.set_setting("ui.default_aspect", aspect.value)
        project = create_reel(self.state, dialog.name.text(), aspect, uids)
        if project is not None:
            self.reelCreated.emit(project)


__all__ = ["AnnotatePanel", "QUICK_AFTER_S", "QUICK_BEFORE_S"]
