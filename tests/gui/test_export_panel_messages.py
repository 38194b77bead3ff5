"""Export panel: the output file, long errors, closing while exports run, stopped jobs."""
from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox, QProgressBar, QToolButton, QWidget

from core.db import models as m
from core.enums import JobState, Upscaler
from core.library import Library
from desktop.ui.export_panel import ExportPanel, ExportService
from desktop.ui.undo import EditorState
from desktop.ui.workers import TaskHub
from tests.gui.test_panels import _job, open_clip
from tests.test_export_jobs import FAST, held_env, seed_reel
from tests.fixtures.media import make_video

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def panel(qtbot, state: EditorState, hub: TaskHub, library: Library):
    service = ExportService(library, hub)
    p = ExportPanel(state, service)
    qtbot.addWidget(p)
    yield p
    service.close()


def test_the_user_sees_and_chooses_the_output_file(qtbot, panel, state, library, tmp_path,
                                                     monkeypatch) -> None:
    open_clip(state, library)
    panel.refresh()
    assert panel.output.label.text().endswith("(automatic)")
    assert panel.output.label.toolTip().startswith(str(library.exports_dir))
    chosen = tmp_path / "Final cut"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(chosen), "MP4 video (*.mp4)"))
    panel.output.choose.click()
    assert panel.output.path() == chosen.with_suffix(".mp4")
    assert panel.output.label.text() == "Final cut.mp4" and panel.output.label.toolTip() == str(chosen) + ".mp4"
    sent = {}
    monkeypatch.setattr(panel.service, "submit", lambda *a, **k: sent.update(k))
    panel.size_box.setCurrentIndex(1)
    panel.start_export()
    assert sent["out"] == chosen.with_suffix(".mp4") and sent["size"] == (1440, 2560)
    panel.output.reset.click()
    assert panel.output.path() is None and not panel.output.reset.isVisible()


def test_a_long_error_is_elided_with_full_text_on_hover_and_a_copy_button(qtbot, panel, state, library) -> None:
    _raw, project, _wc = open_clip(state, library)
    error = "encoding failed: " + "the disk said no and then said it again " * 40
    uid = _job(library, project, JobState.FAILED, 0.2, "failed")
    with library.transaction() as conn:
        conn.execute(m.ExportJob.__table__.update().where(m.ExportJob.uid == uid).values(error=error))
    panel.resize(1000, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh_jobs()
    item = panel._rows[uid]
    assert item.toolTip(2) == error
    header = panel.jobs.header()
    assert header.length() <= panel.jobs.viewport().width()  # nothing beyond the visible width
    assert not panel.jobs.horizontalScrollBar().isVisible()
    copy = panel.jobs.itemWidget(item, 5).findChild(QToolButton, "copy")
    assert copy.isVisible()
    copy.click()
    assert QApplication.clipboard().text() == error


@pytest.mark.parametrize("state_", [JobState.CANCELLED, JobState.FAILED])
def test_a_stopped_job_does_not_look_like_one_running(qtbot, panel, state, library, state_) -> None:
    _raw, project, _wc = open_clip(state, library)
    uid = _job(library, project, state_, 0.33, state_.value)
    panel.refresh_jobs()
    item = panel._rows[uid]
    bar = panel.jobs.itemWidget(item, 3)
    assert isinstance(bar, QProgressBar)
    assert bar.format() == state_.value.capitalize() and not bar.isEnabled()  # not a blue "33 %"
    assert item.text(2).startswith(state_.value.capitalize())


def _answer(button_text: str) -> None:
    """Click a button of the question box once it is up."""
    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        next(b for b in box.buttons() if b.text() == button_text).click()

    QTimer.singleShot(20, click)


class Window(QWidget):
    def __init__(self, panel: ExportPanel) -> None:
        super().__init__()
        self.panel = panel
        self.closed = False

    def closeEvent(self, event) -> None:  # what MainWindow does
        if not self.panel.confirm_close(self):
            event.ignore()
            return
        self.closed = True
        super().closeEvent(event)


def test_closing_during_an_export_asks_stay_cancel_or_keep_rendering(qtbot, panel, library, tmp_path,
                                                                     monkeypatch) -> None:
    project = seed_reel(library, make_video(tmp_path / "game.mp4", seconds=2.0), speed=0.125)
    window = Window(panel)
    qtbot.addWidget(window)
    window.show()
    runner = panel.service.runner
    # Renders hold after their first frames (until cancelled, or until `release` exists): still
    # rendering while we ask, however fast the machine.
    release = tmp_path / "release"
    monkeypatch.setenv("PYTHONPATH", held_env()["PYTHONPATH"])
    monkeypatch.setenv("REELDESK_TEST_RELEASE", str(release))
    uid = runner.create(project, **FAST)
    qtbot.waitUntil(lambda: runner.get(uid).state is JobState.RENDERING and runner.get(uid).progress > 0,
                    timeout=60_000)

    _answer("Stay")
    window.close()
    assert not window.closed and window.isVisible() and runner.get(uid).state is JobState.RENDERING

    _answer("Cancel exports")
    window.close()
    assert window.closed and runner.get(uid).state is JobState.CANCELLED

    short = runner.create(seed_reel(library, make_video(tmp_path / "short.mp4", seconds=0.5),
                                    name="Short", seconds=0.5, speed=0.125), **FAST)  # 4 s of output
    window = Window(panel)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: runner.get(short).state is JobState.RENDERING and runner.get(short).progress > 0,
                    timeout=60_000)
    _answer("Keep rendering in background")
    window.close()
    assert not window.closed and not window.isVisible()  # hidden, still rendering
    release.touch()  # the render goes on to the end
    qtbot.waitUntil(lambda: window.closed, timeout=90_000)  # closes itself once the export is done
    assert runner.get(short).state is JobState.DONE


def test_ai_upscaling_on_this_computer_says_what_is_missing(qtbot, panel, state, library, tmp_path,
                                                            monkeypatch) -> None:
    monkeypatch.setenv("REELDESK_MODELS", str(tmp_path / "models"))
    monkeypatch.setitem(sys.modules, "torch", None)  # not installed, whatever this environment holds
    open_clip(state, library)
    panel.refresh()
    panel.local.setChecked(True)
    panel.upscaler.setCurrentIndex(panel.upscaler.findData(Upscaler.REALESRGAN.value))
    assert panel.problem.text().startswith("AI upscaling on this computer needs torch")
    assert not panel.export_button.isEnabled()
    panel.modal.setChecked(True)  # the Modal backend brings its own GPU
    assert "AI upscaling" not in panel.problem.text()


def test_the_ai_model_is_downloaded_from_the_panel_when_only_it_is_missing(
        qtbot, panel, state, library, tmp_path, monkeypatch, weights_server) -> None:
    from core.export import ai_local
    from tests.fixtures.weights_server import WEIGHTS_SHA256
    from tests.test_export_ai_local import _installed

    models = tmp_path / "models"
    monkeypatch.setenv("REELDESK_MODELS", str(models))
    _installed(monkeypatch, tmp_path, "torch", "spandrel")  # the GPU packages "are installed"
    monkeypatch.setattr(ai_local, "WEIGHTS_URL", weights_server.url())
    monkeypatch.setattr(ai_local, "WEIGHTS_SHA256", WEIGHTS_SHA256)
    open_clip(state, library)
    panel.refresh()
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    panel.local.setChecked(True)
    panel.upscaler.setCurrentIndex(panel.upscaler.findData(Upscaler.REALESRGAN.value))
    assert "reeldesk models fetch" in panel.problem.text() and not panel.export_button.isEnabled()
    assert panel.model_fetch.isVisible()
    with qtbot.waitSignal(panel.model_fetch.fetched, timeout=30_000):
        panel.model_fetch.button.click()
        assert not panel.model_fetch.button.isEnabled()  # one download at a time
    assert (models / ai_local.WEIGHTS_NAME).is_file() and weights_server.requests == 1
    assert not panel.problem.isVisible() and panel.export_button.isEnabled()
    assert not panel.model_fetch.isVisible()



def test_a_failed_model_download_says_why_and_can_be_tried_again(qtbot, panel, state, library, tmp_path,
                                                                  monkeypatch, weights_server) -> None:
    from core.export import ai_local
    from tests.test_export_ai_local import _installed

    monkeypatch.setenv("REELDESK_MODELS", str(tmp_path / "models"))
    _installed(monkeypatch, tmp_path, "torch", "spandrel")
    monkeypatch.setattr(ai_local, "WEIGHTS_URL", weights_server.url("/moved.pth"))
    open_clip(state, library)
    panel.refresh()
    panel.local.setChecked(True)
    panel.upscaler.setCurrentIndex(panel.upscaler.findData(Upscaler.REALESRGAN.value))
    with qtbot.waitSignal(state.message, timeout=30_000) as said:
        panel.model_fetch.button.click()
    text, error = said.args
    assert error and text.startswith("The AI model could not be downloaded: downloading ") and "HTTP 404" in text
    assert panel.model_fetch.button.isEnabled() and not (tmp_path / "models" / ai_local.WEIGHTS_NAME).exists()
