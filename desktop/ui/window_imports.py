"""Importing from the main window: file dialogs, drops from Explorer and the import report (a mixin
of ``MainWindow``)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog

from desktop.ui.window_widgets import ImportReportDialog

if TYPE_CHECKING:  # the frame of the main window is built before the library and media code are loaded
    from core.media.importer import ImportProgress, ImportResult
    from desktop.ui.workers import Task

# A mixin of MainWindow: the attributes it uses are the window's, typed there (mypy sees Any here).
_Window: Any = object

log = logging.getLogger(__name__)


def _local_files(urls: list[QUrl]) -> list[Path]:
    return [Path(u.toLocalFile()) for u in urls if u.isLocalFile() and u.toLocalFile()]


class ImportActions(_Window):
    _import_task: Task | None  # set in MainWindow.__init__; declared so mypy reads it before it is assigned here

    # -- import ----------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        from desktop.ui.import_games import VIDEO_FILTER

        files, _f = QFileDialog.getOpenFileNames(self, "Import videos", str(Path.home()), VIDEO_FILTER)
        if files:
            self.start_import([Path(f) for f in files])

    def import_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Import a folder of videos", str(Path.home()))
        if folder:
            self.start_import([Path(folder)])

    def import_game_dialog(self) -> None:
        from desktop.ui.import_games import ask_game_import

        chosen = ask_game_import(self)
        if chosen is not None:
            self.start_import(chosen[0], game_name=chosen[1])

    def start_import(self, paths: list[Path], *, game_name: str | None = None) -> None:
        if self._import_task is not None:
            self.show_message("An import is running; drop again when it is done", error=True)
            return
        importer = self.importer

        def work(report, cancelled):
            return importer.import_paths(paths, game_name=game_name, progress=report, cancelled=cancelled)

        self.import_label.setText("Importing…")
        self.import_bar.setValue(0)
        self.import_box.show()
        self._import_task = self.hub.submit(work, name="import", on_result=self._import_done,
                                            on_error=self._import_failed, on_progress=self._import_progress,
                                            on_cancelled=lambda: self.show_message("Import cancelled"),
                                            on_finished=self._import_finished)

    def cancel_import(self) -> None:
        if self._import_task is not None:
            self._import_task.cancel()
            self.import_label.setText("Cancelling…")

    def _import_progress(self, p: ImportProgress) -> None:
        self.import_bar.setValue(int(1000 * p.fraction))
        self.import_label.setText(f"Importing {p.file_index + 1} of {p.file_count}: {p.path.name}")

    def _import_failed(self, text: str) -> None:
        self.show_message(f"Import failed: {text}", error=True)

    def _import_finished(self) -> None:
        self._import_task = None
        self.import_box.hide()

    def _import_done(self, results: list[ImportResult]) -> None:
        from core.media.importer import ImportStatus
        from desktop.ui.import_games import game_name_for, long_footage, make_game

        ok = [r for r in results if r.ok]
        bad = [r for r in results if r.status is ImportStatus.ERROR]
        new_media = [r.media for r in ok if r.media]
        if bad:
            self.show_message(f"Imported {len(ok)} file(s); {len(bad)} could not be imported", error=True)
            dialog = ImportReportDialog(results, self)
            dialog.setModal(False)
            dialog.show()
            self._reports.append(dialog)
        elif ok:
            self.show_message(f"Imported {len(ok)} file(s)")
        else:
            self.show_message("No videos found to import", error=True)
        matches = long_footage(self.state, results)
        if matches:
            name = game_name_for(matches)
            if make_game(self.state, matches, name):
                self.show_message(f"“{name}” is long footage: imported as a game to mark clips in "
                                  f"(Ctrl+Z makes it {'clips' if len(matches) > 1 else 'a clip'})")
                new_media = [r.media for r in matches if r.media] + new_media
        if new_media and (self.state.media_hash is None or matches):
            self.state.set_media(new_media[0])
        self.importFinished.emit(results)

    # -- drag and drop from Explorer -------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if not self.ready:  # nothing can be imported before the library is open: refuse, and say so
            event.ignore()
            self.show_message("The library is still opening; drop the files again when it is open", error=True)
            return
        if event.mimeData().hasUrls() and _local_files(event.mimeData().urls()):
            n = len(_local_files(event.mimeData().urls()))
            self.drop_overlay.text = f"Drop to import {n} item{'s' if n != 1 else ''}"
            self.drop_overlay.setGeometry(self.rect())
            self.drop_overlay.raise_()
            self.drop_overlay.show()
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802
        self.drop_overlay.hide()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        self.drop_overlay.hide()
        paths = _local_files(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if not paths or not self.ready:
            event.ignore()
            return
        event.acceptProposedAction()
        self.start_import(paths)
