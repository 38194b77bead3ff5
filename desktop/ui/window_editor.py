"""The editor page of the main window: the open footage, reel and clip pushed into the viewer,
timeline and transport, and the playhead (a mixin of ``MainWindow``)."""
from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize

from desktop.ui.keymap import Mode
from resources import icon

if TYPE_CHECKING:
    from core.changes import ChangeSet


# A mixin of MainWindow: the attributes it uses are the window's, typed there (mypy sees Any here).
_Window: Any = object

class EditorView(_Window):
    # -- media, clip and playhead ----------------------------------------------------------------
    def _load_media(self, media_hash: str | None) -> None:
        info = self.library.media(media_hash) if media_hash else None
        if info is None:
            self.playback.set_media(None, Fraction(30), 0.0)
            self.viewer.set_frame(None)
            self._refresh_editor()
            return
        fps = Fraction(int(info["fps_num"]), int(info["fps_den"]))
        w, h = (info["height"], info["width"]) if info["rotation"] in (90, 270) else (info["width"], info["height"])
        self.viewer.set_source_size(w, h)
        self.viewer.set_frame(None)
        self.playback.set_media(self.library.media_path(media_hash), fps, float(info["duration"]))
        self._refresh_editor()
        self.playback.seek(self.state.media_time if self.state.media_time <= info["duration"] else 0.0)
        self._load_timeline_media_cache()

    def _load_timeline_media_cache(self) -> None:
        """Thumbnails and waveform of the open media for the timeline (cache thread makes missing ones)."""
        from core.media.cache import PEAKS_PER_SECOND, THUMB_EVERY_S
        from core.media.waveform import load_peaks, peaks_path

        h = self.state.media_hash
        if h is None:
            return
        strip = self.thumbs.strip(h)
        start = self._timeline_origin()
        if strip:
            self.timeline.set_thumbnails([(i * THUMB_EVERY_S, p) for i, p in enumerate(strip)], media_start=start)
        path = peaks_path(self.library.cache_dir, h, PEAKS_PER_SECOND)

        def load(report, cancelled):
            return load_peaks(path)

        def done(peaks) -> None:
            if self.state.media_hash == h and peaks is not None:
                self.timeline.set_peaks(peaks, PEAKS_PER_SECOND, media_start=self._timeline_origin())

        self.hub.submit(load, name="waveform", on_result=done)

    def _timeline_origin(self) -> float:
        """Media time of timeline time 0: the clip start when framing, 0 for game footage."""
        if self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            clip = self.state.clip_doc()
            if clip is not None:
                return float(clip["source"]["start"])
        return 0.0

    def _clip_changed(self) -> None:
        clip = self.state.clip_doc()
        if clip is not None and self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            if clip["media"] != self.state.media_hash:
                self.state.set_media(clip["media"])
            src = clip["source"]
            if not src["start"] <= self.state.media_time <= src["end"]:
                self.playback.seek(src["start"])
        self.reel_list.refresh()
        self._refresh_editor()
        self._load_timeline_media_cache()

    def _project_changed(self) -> None:
        self._fill_reel_combo()
        self.reel_list.refresh()
        doc = self.state.project_doc()
        self.setWindowTitle(f"ReelDesk — {doc['project']['name']}" if doc else "ReelDesk")
        self._refresh_editor()

    def _fill_reel_combo(self) -> None:
        self.reads.request(self.library.projects, self._show_reels)  # off the UI thread, newest wins

    def _show_reels(self, projects: list[dict[str, Any]]) -> None:
        self.reel_combo.blockSignals(True)
        self.reel_combo.clear()
        for p in projects:
            self.reel_combo.addItem(icon("project"), f"{p['name']}  ({p['aspect']})", p["uid"])
        self.reel_combo.setCurrentIndex(max(0, self.reel_combo.findData(self.state.project_uid)))
        self.reel_combo.blockSignals(False)

    def _library_changed(self, changes: ChangeSet | None) -> None:
        """Redraw only what the change set concerns (None: anything may have changed)."""
        from core.changes import EntityKind
        from desktop.ui.refresh import project_rows_changed

        reel = changes is None or self.state.project_uid in changes.of(EntityKind.PROJECT)
        if reel:
            if self.state.project_uid is not None and self.state.project_doc() is None:
                self.state.set_project(None)  # deleted here or on another device
            doc = self.state.project_doc()
            if doc is not None and self.state.wc_uid not in {c["uid"] for c in doc["clips"]}:
                self.state.set_clip(doc["clips"][0]["uid"] if doc["clips"] else None)
        self.thumbs.forget_failures()
        if changes is None or project_rows_changed(changes):
            self._fill_reel_combo()
        if changes is None or changes.touches(EntityKind.RAW_CLIP):  # clip names in the list
            self.reel_list.names_changed()
        elif reel:
            self.reel_list.refresh_gate.request()
        if changes is None or self._editor_shows(changes):
            self._refresh_editor()

    def _editor_shows(self, changes: ChangeSet) -> bool:
        from core.changes import EntityKind
        from desktop.ui.refresh import open_clip_changed

        if self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            return open_clip_changed(self.state)(changes)
        if self.mode is Mode.ANNOTATE:
            return (self.state.media_hash in changes.of(EntityKind.MEDIA)
                    or changes.touches(EntityKind.RAW_CLIP, EntityKind.GAME))
        return False  # the editor page is hidden: set_mode refreshes it when it comes back

    def _refresh_editor(self) -> None:
        """Push the open clip / footage into the viewer, timeline and transport."""
        from desktop.ui.undo import fmt_time

        mode = self.mode
        hint = ""
        framing = mode in (Mode.FRAME, Mode.SPOTLIGHT)
        self.spot_warning.show_for(self.state.clip_doc() if framing else None, self.state.aspect())
        if framing:
            clip = self.state.clip_doc()
            doc = self.state.project_doc()
            if clip is None:
                self.viewer.set_clip(None)
                self.timeline.clear()
                self.playback.set_range(None)
                self.clip_label.setText("")
                hint = ("No reel open.\nSelect clips in the Library or Annotate and choose “Create reel”."
                        if doc is None else "This reel has no clips yet.\nDrag clips from the Library onto it.")
            else:
                self.viewer.set_clip(clip, self.state.aspect())
                self.timeline.set_clip(clip)
                src = clip["source"]
                self.playback.set_range((src["start"], src["end"]))
                raw = self.state.raw_clip(clip["raw_clip"])
                self.clip_label.setText(f"{(raw or {}).get('name') or 'Clip'} · {fmt_time(src['duration'])}"
                                        f" → {fmt_time(clip['output_duration'])}")
        elif mode is Mode.ANNOTATE:
            self.viewer.set_clip(None)
            self.playback.set_range(None)
            info = self.state.media_info()
            if info is None:
                self.timeline.clear()
                hint = "No footage open.\nDrop a game video anywhere on this window to import it."
                self.clip_label.setText("")
            else:
                clips = self.library.raw_clips(self.state.media_hash)
                self.timeline.set_media(float(info["duration"]), Fraction(int(info["fps_num"]), int(info["fps_den"])),
                                        clips)
                self.timeline.set_selected_clip(self.state.raw_clip_uid)
                self.clip_label.setText(f"{info['name']} · {len(clips)} clip{'s' if len(clips) != 1 else ''}")
                if not self.library.media_path(self.state.media_hash).is_file():
                    hint = ("Waiting for media: downloading this footage from the sync bucket…"
                            if self.sync.fetch_media(self.state.media_hash)
                            else "This footage is not on this machine.\nTurn on sync in Settings to fetch it.")
        self.viewer_hint.setText(hint)
        self.viewer_hint_icon.setPixmap(icon("project" if mode in (Mode.FRAME, Mode.SPOTLIGHT) else "drop")
                                        .pixmap(QSize(48, 48)))
        self.viewer_stack.setCurrentWidget(self.viewer_empty if hint else self.program.stack)
        # Nothing open here: no transport of footage that is not shown.
        for b in (self.go_start_b, self.step_back_b, self.play_b, self.step_fwd_b, self.go_end_b, self.loop_b,
                  self.rate):
            b.setEnabled(not hint)
        self._position(self.state.media_time)

    def _position(self, t: float) -> None:
        """Playback moved (or a refresh): update every playhead display."""
        self.state.set_media_time(t)
        origin = self._timeline_origin()
        local = t - origin
        self.timeline.set_playhead(local, follow=True)
        if self.mode in (Mode.FRAME, Mode.SPOTLIGHT):
            self.viewer.set_time(local)
        total = self.playback.duration
        clip = self.state.clip_doc() if self.mode in (Mode.FRAME, Mode.SPOTLIGHT) else None
        if clip is not None:
            total = clip["source"]["duration"]
        if not self.play_b.isEnabled():
            self.time_label.setText("--:--")
            return
        self.time_label.setText(f"{self.timeline.time_text(max(0.0, local))}  /  {self.timeline.time_text(total)}")

    def _timeline_scrubbed(self, t: float) -> None:
        self.playback.seek(t + self._timeline_origin())

    def _timeline_clip_selected(self, uid: str) -> None:
        self.state.set_raw_clip(uid or None)

    def _rate_changed(self, rate: float) -> None:
        i = self.rate.findData(rate)
        if i >= 0:
            self.rate.setCurrentIndex(i)
        self.show_message(f"Speed {rate:g}×")

    def _set_frames_timecode(self, on: bool) -> None:
        from desktop.ui.timecode import FRAMES_SETTING

        self.library.set_setting(FRAMES_SETTING, "1" if on else "0")
        self.timeline.set_frames_timecode(on)
        self._position(self.state.media_time)

    def _toggle_loop(self) -> None:
        self.loop_b.setChecked(not self.loop_b.isChecked())
