"""Export mode: pick backend, upscaling and quality; follow jobs (progress, stage, ETA); cancel,
retry, open the output folder; a notification when a job finishes.

Jobs are durable rows run by the export package's job runner; the panel only reads them
(``core.reads.read_jobs``, polled while something runs) and dispatches submit/cancel/retry to the
runner through :class:`ExportService`. When Modal is not set up its choice is disabled with a
tooltip saying why.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QApplication, QButtonGroup, QCheckBox, QComboBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QProgressBar, QPushButton, QRadioButton,
                               QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from core.changes import EntityKind
from core.editmath import size_presets
from core.enums import AspectRatio, ExportBackend, JobState, Upscaler, VideoEncoder
from core.export.ai_local import local_ai_problem, needs_weights
from core.export.job_files import safe_file_stem
from core.export.spec import SpecError
from core.reads import Job, read_jobs
from desktop.ui import theme
from desktop.ui.ai_model_fetch import ModelFetch
from desktop.ui.empty_views import paint_empty_state
from desktop.ui.refresh import gate, touching
from desktop.ui.export_options import CloseChoice, OutputFileChooser, ask_close_during_export
from desktop.ui.export_service import ExportService, Quality
from desktop.ui.reel_poster import ReelPoster
from desktop.ui.spotlight_warning import hidden_spans, spans_text
from desktop.ui.undo import EditorState, fmt_time
from resources import icon

log = logging.getLogger(__name__)

POLL_MS = 400
JOB_ROWS = 200  # the newest jobs listed; older ones stay in the database


QUALITIES = (Quality("Draft (fast)", 26, "veryfast"), Quality("Standard", 20, "medium"),
             Quality("High", 17, "slow"))
UPSCALERS = ((Upscaler.NONE, "None"), (Upscaler.LANCZOS, "Sharp resize (Lanczos)"),
             (Upscaler.REALESRGAN, "AI ×4 (Real-ESRGAN, GPU)"))


class _JobList(QTreeWidget):
    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if self.topLevelItemCount() == 0:
            paint_empty_state(self, "No exports yet.\nChoose a reel and press Export.")


class ExportPanel(QWidget):
    jobFinished = Signal(str, bool)  # message, ok

    def closeEvent(self, event) -> None:  # noqa: N802
        self.close_poster()
        super().closeEvent(event)

    def close_poster(self) -> None:
        self.poster.close_source()

    def __init__(self, state: EditorState, service: ExportService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.service = service
        self._states: dict[str, str] = {}
        self._rows: dict[str, QTreeWidgetItem] = {}

        root = QHBoxLayout(self)
        root.setContentsMargins(16, 12, 16, 12)
        root.setSpacing(16)

        left = QVBoxLayout()
        box = QGroupBox("New export")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(10)
        self.project = QComboBox()
        self.project.setMinimumWidth(220)
        self.local = QRadioButton("This computer")
        self.modal = QRadioButton("Modal cloud GPU")
        self.backend = QButtonGroup(self)
        self.backend.addButton(self.local)
        self.backend.addButton(self.modal)
        self.local.setChecked(True)
        brow = QVBoxLayout()
        brow.addWidget(self.local)
        brow.addWidget(self.modal)
        self.upscaler = QComboBox()
        for value, label in UPSCALERS:
            self.upscaler.addItem(label, value.value)
        self.quality = QComboBox()
        for q in QUALITIES:
            self.quality.addItem(q.label)
        self.quality.setCurrentIndex(1)
        self.size_box = QComboBox()
        self.fast = QCheckBox("Fast (GPU encoder)")
        self.fast.setEnabled(False)
        self.fast.setToolTip("Looking for a GPU encoder on this computer…")
        self.output = OutputFileChooser()
        self.summary = QLabel("—")
        self.summary.setFont(theme.mono_font(9.5))
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {theme.ERROR.name()};")
        self.export_button = QPushButton(icon("export"), "Export")
        self.export_button.setStyleSheet(f"QPushButton {{ background: {theme.ACCENT.name()}; color: "
                                         f"{theme.ACCENT_TEXT.name()}; font-weight: 600; padding: 7px 18px; }}"
                                         f"QPushButton:disabled {{ background: {theme.PANEL_HI.name()}; "
                                         f"color: {theme.TEXT_DISABLED.name()}; }}")
        form.addRow("Reel", self.project)
        form.addRow("Render on", brow)
        form.addRow("Upscaling", self.upscaler)
        form.addRow("Quality", self.quality)
        form.addRow("Size", self.size_box)
        form.addRow("", self.fast)
        form.addRow("Save to", self.output)
        form.addRow("Output", self.summary)
        form.addRow(self.problem)
        self.model_fetch = ModelFetch(service.hub)  # shown when only the AI model's weights are missing
        self.model_fetch.hide()
        self.model_fetch.fetched.connect(self._model_fetched)
        self.model_fetch.failed.connect(lambda reason: self.state.message.emit(
            f"The AI model could not be downloaded: {reason}", True))
        form.addRow(self.model_fetch)
        self.spot_warning = QLabel()  # not blocking: the user may mean it, but never silently
        self.spot_warning.setWordWrap(True)
        self.spot_warning.setStyleSheet(f"color: {theme.ERROR.name()};")
        self.spot_warning.hide()
        form.addRow(self.spot_warning)
        form.addRow(self.export_button)
        left.addWidget(box)
        preview = QGroupBox("Reel")
        pl = QHBoxLayout(preview)
        self.poster = ReelPoster()
        self.contents = QLabel()
        self.contents.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.contents.setWordWrap(True)
        self.contents.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        pl.addWidget(self.poster, 0, Qt.AlignmentFlag.AlignTop)
        pl.addWidget(self.contents, 1)
        left.addWidget(preview)
        left.addStretch(1)
        holder = QWidget()
        holder.setLayout(left)
        holder.setFixedWidth(380)
        root.addWidget(holder)

        right = QVBoxLayout()
        title = QLabel("Jobs")
        title.setStyleSheet("font-weight: 600; font-size: 13px;")
        right.addWidget(title)
        self.jobs = _JobList()
        self.jobs.setHeaderLabels(["Reel", "Render on", "Stage", "Progress", "Time left", ""])
        self.jobs.setRootIsDecorated(False)
        self.jobs.setUniformRowHeights(True)
        self.jobs.setAlternatingRowColors(True)
        header = self.jobs.header()
        # Long errors are elided (full text on hover, copy button): the table never scrolls sideways.
        self.jobs.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.jobs.setTextElideMode(Qt.TextElideMode.ElideRight)
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(3, 160)
        for col in (1, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.ResizeToContents)
        right.addWidget(self.jobs, 1)
        root.addLayout(right, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh_jobs)
        self.project.currentIndexChanged.connect(self._update_summary)
        self.upscaler.currentIndexChanged.connect(self._update_summary)
        self.size_box.currentIndexChanged.connect(self._update_summary)
        service.encodersChecked.connect(self._show_encoders)
        self._quit_when_done: QWidget | None = None
        self.backend.buttonToggled.connect(lambda *_: self._update_summary())
        self.export_button.clicked.connect(self.start_export)
        service.changed.connect(self.refresh_jobs)
        self.refresh_gate = gate(self, state.libraryChanged, self.refresh, touching(EntityKind.PROJECT))
        service.modalChecked.connect(self.refresh_gate.request)  # hidden: refreshes when shown
        state.projectChanged.connect(lambda _p: self._select_current_project())
        self._offer_open = False  # the reel being edited is to be selected once it is listed
        self.refresh()

    # -- form ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        current = self.state.project_uid if self._offer_open else (self.project.currentData() or self.state.project_uid)
        self.project.blockSignals(True)
        self.project.clear()
        for p in self.state.library.projects():
            self.project.addItem(icon("project"), f"{p['name']}  ({p['aspect']})", p["uid"])
        i = self.project.findData(current)
        self.project.setCurrentIndex(max(0, i))
        self._offer_open = self._offer_open and i < 0
        self.project.blockSignals(False)
        modal_ok, why = self.service.modal_status()
        self.modal.setEnabled(modal_ok)
        self.modal.setToolTip("" if modal_ok else why)
        if not modal_ok and self.modal.isChecked():
            self.local.setChecked(True)
        self._update_summary()
        self.refresh_jobs()

    def _select_current_project(self) -> None:
        i = self.project.findData(self.state.project_uid)
        if i >= 0:
            self.project.setCurrentIndex(i)
        # A reel just created is not listed until its change event refreshes the list: offer it then.
        self._offer_open = i < 0

    def _choice(self) -> tuple[ExportBackend, Upscaler, Quality]:
        backend = ExportBackend.MODAL if self.modal.isChecked() else ExportBackend.LOCAL
        return backend, Upscaler(self.upscaler.currentData()), QUALITIES[self.quality.currentIndex()]

    def _model_fetched(self, path: Path) -> None:
        self.state.message.emit(f"AI model saved to {path}", False)
        self._update_summary()  # the problem it solved goes away

    def _update_summary(self) -> None:
        backend, upscaler, _q = self._choice()
        uid = self.project.currentData()
        problem = ""
        if uid is None:
            self.summary.setText("—")
            problem = "Create a reel first (Library → Create reel)."
        else:
            from core.export.build import build_spec
            self._fill_sizes(uid)
            try:
                spec = build_spec(self.state.library, uid, upscaler=upscaler, size=self.size_box.currentData())
            except SpecError as exc:
                self.summary.setText("—")
                problem = f"This reel cannot be exported yet: {exc}"
            except Exception:  # a half-synced project: say so, never a traceback
                log.exception("building the export spec failed")
                self.summary.setText("—")
                problem = "This reel cannot be exported yet; details are in the log"
            else:
                out = spec.output
                self.summary.setText(f"{out.width}×{out.height} · {float(out.fps):.3g} fps · "
                                     f"{fmt_time(spec.output_duration)}")
                name = safe_file_stem(self.project.currentText().rsplit("  (", 1)[0])
                self.output.set_automatic(str(self.state.library.exports_dir / f"{name}-vN.mp4"))
        self._show_reel(uid)
        ai_problem = local_ai_problem() if upscaler is Upscaler.REALESRGAN and backend is ExportBackend.LOCAL else None
        if ai_problem:
            problem = problem or f"{ai_problem[0].upper()}{ai_problem[1:]}."
        self.model_fetch.setVisible(bool(ai_problem) and needs_weights())
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.export_button.setEnabled(not problem)
        self.export_button.setToolTip(problem)

    def _fill_sizes(self, uid: str) -> None:
        """The output-size presets of the reel's aspect, keeping the choice when it still fits."""
        aspect = AspectRatio(self.state.library.show_project(uid)["project"]["aspect"])
        presets = size_presets(aspect)
        if [self.size_box.itemData(i) for i in range(self.size_box.count())] == list(presets):
            return
        self.size_box.blockSignals(True)
        self.size_box.clear()
        for i, (w, h) in enumerate(presets):
            self.size_box.addItem(f"{w}×{h}" + ("  (default)" if i == 0 else ""), (w, h))
        self.size_box.blockSignals(False)

    def _show_encoders(self) -> None:
        found = self.service.gpu_encoders
        self.fast.setEnabled(bool(found))
        self.fast.setToolTip(
            f"Encode with {', '.join(e.value for e in found)} (falls back to x264 if it fails)" if found
            else "No working GPU encoder (NVENC, Quick Sync, AMF) on this computer: x264 is used")

    def _show_reel(self, uid: str | None) -> None:
        """The reel's contents and a poster: its first frame, cropped as it will be exported."""
        try:
            doc = self.state.library.show_project(uid) if uid else None
        except Exception:
            doc = None
        if not doc or not doc["clips"]:
            self.spot_warning.hide()
            self.contents.setText("No clips yet." if doc else "")
            self.poster.show_text("no preview")
            return
        names = {c["uid"]: c["name"] for c in self.state.library.raw_clips(include_deleted=True)}
        lines = [f"<b>{doc['project']['name']}</b> · {doc['project']['aspect']}"]
        hidden: list[str] = []
        for i, c in enumerate(doc["clips"], 1):
            spans = hidden_spans(c, doc["project"]["aspect"])
            if spans:
                hidden.append(f"clip {i} at {spans_text(spans)}")
            extra = []
            if any(s["speed"] != 1.0 for s in c["edit"]["speeds"]):
                extra.append("slow-mo")
            if c["edit"]["regions"]:
                extra.append("spotlight")
            tail = f" · {', '.join(extra)}" if extra else ""
            lines.append(f"{i}. {names.get(c['raw_clip']) or 'Clip'} — {fmt_time(c['output_duration'])}{tail}")
        self.contents.setText("<br>".join(lines))
        self.spot_warning.setText(f"⚠ The spotlight is outside the crop in {'; '.join(hidden)}: its ring will not "
                                  "be visible there. Fix it in Frame or Spotlight mode, or export anyway.")
        self.spot_warning.setVisible(bool(hidden))
        aspect = AspectRatio(doc["project"]["aspect"])
        first = doc["clips"][0]
        self.poster.show_clip(self.state.library.media_path(first["media"]), first, aspect)

    def start_export(self) -> None:
        uid = self.project.currentData()
        if uid is None:
            return
        backend, upscaler, quality = self._choice()
        self.export_button.setEnabled(False)

        def done(_job: Any) -> None:
            self.state.message.emit("Export queued", False)
            self._update_summary()
            self.refresh_jobs()

        def failed(text: str) -> None:
            self.state.message.emit(f"Export could not start: {text}", True)
            self._update_summary()

        encoder = VideoEncoder.AUTO if self.fast.isEnabled() and self.fast.isChecked() else VideoEncoder.X264
        self.service.submit(uid, backend, upscaler, quality, done, failed, size=self.size_box.currentData(),
                            encoder=encoder, out=self.output.path())

    # -- jobs ------------------------------------------------------------------------------------
    def refresh_jobs(self) -> None:
        jobs = read_jobs(self.state.library, limit=JOB_ROWS)
        names = {p["uid"]: p["name"] for p in self.state.library.projects(include_deleted=True)}
        seen = set()
        active = False
        for i, job in enumerate(jobs):
            uid = job.uid
            seen.add(uid)
            state = job.state
            active |= not state.finished
            item = self._rows.get(uid)
            if item is None:
                item = QTreeWidgetItem()
                self.jobs.insertTopLevelItem(i, item)
                self._rows[uid] = item
                bar = QProgressBar()
                bar.setRange(0, 1000)
                bar.setTextVisible(True)
                bar.setFixedHeight(16)
                self.jobs.setItemWidget(item, 3, bar)
                self.jobs.setItemWidget(item, 5, self._actions(job))
            self._fill(item, job, names.get(job.project_uid, "?"))
            previous = self._states.get(uid)
            if previous is not None and previous != state.value and state.finished:
                self._notify(job, names.get(job.project_uid, "reel"))
            self._states[uid] = state.value
        for uid in list(self._rows):
            if uid not in seen:
                self.jobs.takeTopLevelItem(self.jobs.indexOfTopLevelItem(self._rows.pop(uid)))
        if active and not self.timer.isActive():
            self.timer.start()
        elif not active and self.timer.isActive():
            self.timer.stop()
        if self._quit_when_done is not None and not self._running_here():
            window, self._quit_when_done = self._quit_when_done, None
            window.close()  # the exports kept in the background are done

    def _actions(self, job: Job) -> QWidget:
        w = QWidget()
        lay = QHBoxLayout(w)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(2)
        uid = job.uid
        for name, tip, fn in (("cancel", "Cancel", lambda: self.service.cancel(uid)),
                              ("retry", "Retry", lambda: self.service.retry(uid)),
                              ("copy", "Copy the error message", lambda: self._copy_error(uid)),
                              ("folder", "Open the output folder", lambda: self._open_folder(uid))):
            b = QToolButton()
            b.setIcon(icon(name))
            b.setToolTip(tip)
            b.setObjectName(name)
            b.setAutoRaise(True)
            b.clicked.connect(fn)
            lay.addWidget(b)
        lay.addStretch(1)
        return w

    def _fill(self, item: QTreeWidgetItem, job: Job, name: str) -> None:
        state, created = job.state, job.created_at
        item.setText(0, name)
        item.setToolTip(0, f"Started {created.astimezone():%Y-%m-%d %H:%M}" if created else "")
        item.setText(1, "Modal GPU" if job.backend is ExportBackend.MODAL else "This computer")
        stage = job.stage or state.value
        if state is JobState.FAILED and job.error:
            stage = f"Failed: {job.error}"
            item.setForeground(2, theme.ERROR)
        elif state is JobState.DONE:
            stage = "Done"
            item.setForeground(2, theme.REGION)
        elif state is JobState.CANCELLED:
            stage = "Cancelled"
            item.setForeground(2, theme.TEXT_DIM)
        item.setText(2, stage[:1].upper() + stage[1:])
        item.setToolTip(2, job.error or "")
        eta = job.eta_s
        item.setText(4, fmt_time(eta, precise=False) if eta is not None and not state.finished else "")
        bar = self.jobs.itemWidget(item, 3)
        if isinstance(bar, QProgressBar):
            bar.setValue(int(round(1000 * job.progress)))
            # A stopped job must not look like one still running at its last percentage.
            stopped = state in (JobState.CANCELLED, JobState.FAILED)
            bar.setEnabled(not stopped)
            bar.setFormat("Cancelled" if state is JobState.CANCELLED else "Failed" if stopped
                          else f"{100 * job.progress:.0f}%")
        actions = self.jobs.itemWidget(item, 5)
        if actions is not None:
            buttons = {b.objectName(): b for b in actions.findChildren(QToolButton)}  # made by _actions
            buttons["cancel"].setVisible(not state.finished)
            buttons["retry"].setVisible(state in (JobState.FAILED, JobState.CANCELLED))
            buttons["copy"].setVisible(bool(job.error))
            buttons["folder"].setEnabled(bool(job.output_path) or state is JobState.DONE)

    def _copy_error(self, uid: str) -> None:
        job = self._job(uid)
        if job is not None and job.error:
            QApplication.clipboard().setText(job.error)

    def _job(self, uid: str) -> Job | None:
        return next((j for j in read_jobs(self.state.library, limit=JOB_ROWS) if j.uid == uid), None)

    # -- closing the window while exports run --------------------------------------------------
    def _running_here(self) -> list[str]:
        """Active jobs rendered by this window's process (Modal jobs carry on in the cloud)."""
        runner = self.service.runner
        return [j.uid for j in read_jobs(self.state.library, limit=JOB_ROWS)
                if not j.state.finished and j.backend is ExportBackend.LOCAL and runner.local.owns(j.uid)]

    def confirm_close(self, window: QWidget) -> bool:
        """Whether the window may close now; asks keep rendering in background / cancel / stay
        while this window renders exports."""
        running = self._running_here()
        if not running:
            return True
        choice = ask_close_during_export(window, len(running))
        if choice is CloseChoice.CANCEL:
            for uid in running:
                self.service.runner.cancel(uid)
            return True
        if choice is CloseChoice.KEEP:
            self._quit_when_done = window
            window.hide()
            self.refresh_jobs()
        return False

    def _open_folder(self, uid: str) -> None:
        job = self._job(uid)
        path = Path(job.output_path).parent if job and job.output_path else self.state.library.exports_dir
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def _notify(self, job: Job, name: str) -> None:
        if job.state is JobState.DONE:
            self.jobFinished.emit(f"“{name}” is exported — it is in the Gallery", True)
        elif job.state is JobState.FAILED:
            self.jobFinished.emit(f"Export of “{name}” failed: {job.error or 'see the log'}", False)


__all__ = ["ExportPanel", "ExportService", "QUALITIES", "Quality"]
