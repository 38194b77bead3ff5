"""Settings: the R2 (S3) remote, the Modal token, the watch folder and a few editing defaults.

Secrets (the R2 secret access key, the Modal token secret) go to the OS keyring only, through
``sync.credentials`` / ``keyring``: never into the library database, a settings file or the log.
A stored secret is never shown again; the field stays empty with a "stored" hint and only a new
value replaces it. Checking the remote talks to the network, so it runs on a worker.
"""
from __future__ import annotations

import logging
from pathlib import Path

import keyring
import keyring.errors
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLabel, QLineEdit, QMessageBox, QPushButton, QStackedWidget, QTabWidget,
                               QVBoxLayout, QWidget)

from core.library import Library
from core.redact import redact
from desktop.ui import theme
from desktop.ui.workers import TaskHub
from resources import icon

log = logging.getLogger(__name__)

MODAL_KEYRING_SERVICE = "ReelDesk Modal"
MODAL_TOKEN_ID_SETTING = "export.modal.token_id"
STORED_HINT = "stored in the system keyring — type a new one to replace it"


def modal_token_id(library: Library) -> str:
    return library.get_setting(MODAL_TOKEN_ID_SETTING, "") or ""


def modal_secret_stored(library: Library) -> bool:
    token_id = modal_token_id(library)
    if not token_id:
        return False
    try:
        return bool(keyring.get_password(MODAL_KEYRING_SERVICE, token_id))
    except keyring.errors.KeyringError:
        return False


def store_modal_token(library: Library, token_id: str, secret: str) -> None:
    keyring.set_password(MODAL_KEYRING_SERVICE, token_id, secret)
    library.set_setting(MODAL_TOKEN_ID_SETTING, token_id)


class SettingsDialog(QDialog):
    def __init__(self, library: Library, hub: TaskHub, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.hub = hub
        self.remote_saved = False
        self._busy = False
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        root = QVBoxLayout(self)
        self.tabs = QTabWidget()
        root.addWidget(self.tabs)

        # -- sync ----------------------------------------------------------------------------
        from sync.credentials import RemoteConfig, RemoteKind, secret_source, SecretSource
        from sync.media import SETTING_POLICY as MEDIA_POLICY_SETTING, MediaPolicy

        self._RemoteConfig, self._RemoteKind = RemoteConfig, RemoteKind
        current = RemoteConfig.load(library)
        sync = QWidget()
        sl = QVBoxLayout(sync)
        intro = QLabel("Mirror every edit and media file to your Cloudflare R2 bucket (or any S3 endpoint, or a "
                       "shared folder), so a second machine picks the work up. Everything keeps working offline.")
        intro.setWordWrap(True)
        intro.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        sl.addWidget(intro)
        kind_form = QFormLayout()
        self.kind = QComboBox()
        self.kind.addItem("Off", "")
        self.kind.addItem("Cloudflare R2 / S3", RemoteKind.S3.value)
        self.kind.addItem("Folder (NAS, shared drive)", RemoteKind.FOLDER.value)
        kind_form.addRow("Sync to", self.kind)
        self.media_policy = QComboBox()
        for policy, label in ((MediaPolicy.REELS, "Footage used in reels"), (MediaPolicy.ALL, "All footage"),
                              (MediaPolicy.ON_DEMAND, "Only footage I open")):
            self.media_policy.addItem(label, policy.value)
        self.media_policy.setCurrentIndex(max(0, self.media_policy.findData(
            library.get_setting(MEDIA_POLICY_SETTING, MediaPolicy.REELS.value))))
        self.media_policy.setToolTip("Which footage this computer downloads from the bucket by itself")
        kind_form.addRow("Download", self.media_policy)
        sl.addLayout(kind_form)
        self.kind_pages = QStackedWidget()
        self.kind_pages.addWidget(QWidget())
        s3 = QWidget()
        f = QFormLayout(s3)
        f.setContentsMargins(0, 0, 0, 0)
        self.endpoint = QLineEdit(current.endpoint if current else "")
        self.endpoint.setPlaceholderText("https://<account id>.r2.cloudflarestorage.com")
        self.bucket = QLineEdit(current.bucket if current else "")
        self.prefix = QLineEdit(current.prefix if current else "")
        self.prefix.setPlaceholderText("optional")
        self.key_id = QLineEdit(current.key_id if current else "")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setInputMethodHints(Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhNoPredictiveText)
        has_secret = bool(current and current.key_id and secret_source(current.key_id) is SecretSource.KEYRING)
        self.secret.setPlaceholderText(STORED_HINT if has_secret else "secret access key")
        f.addRow("Endpoint", self.endpoint)
        f.addRow("Bucket", self.bucket)
        f.addRow("Prefix", self.prefix)
        f.addRow("Access key id", self.key_id)
        f.addRow("Secret access key", self.secret)
        self.kind_pages.addWidget(s3)
        folder_page = QWidget()
        ff = QFormLayout(folder_page)
        ff.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit(current.folder if current else "")
        browse = QPushButton(icon("folder"), "Browse…")
        browse.clicked.connect(lambda: self._browse(self.folder))
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        ff.addRow("Folder", row)
        self.kind_pages.addWidget(folder_page)
        sl.addWidget(self.kind_pages)
        self.sync_status = QLabel()
        self.sync_status.setWordWrap(True)
        sl.addWidget(self.sync_status)
        sl.addStretch(1)
        self.tabs.addTab(sync, icon("cloud", checked_dark=False), "Sync")
        self.kind.currentIndexChanged.connect(lambda i: self.kind_pages.setCurrentIndex(i))
        self.kind.setCurrentIndex(self.kind.findData(current.kind.value) if current else 0)
        self._initial_kind = self.kind.currentData()

        # -- export --------------------------------------------------------------------------
        export = QWidget()
        ef = QFormLayout(export)
        note = QLabel("Cloud exports with AI upscaling run on Modal GPUs. Create a token at modal.com "
                      "(Settings → API tokens).")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        ef.addRow(note)
        self.modal_id = QLineEdit(modal_token_id(library))
        self.modal_id.setPlaceholderText("ak-…")
        self.modal_secret = QLineEdit()
        self.modal_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.modal_secret.setPlaceholderText(STORED_HINT if modal_secret_stored(library) else "as-…")
        ef.addRow("Modal token id", self.modal_id)
        ef.addRow("Modal token secret", self.modal_secret)
        self.tabs.addTab(export, icon("export", checked_dark=False), "Export")

        # -- import / editing ----------------------------------------------------------------
        general = QWidget()
        gf = QFormLayout(general)
        from core.media.watch_service import watch_folder

        wf = watch_folder(library)
        self.watch = QLineEdit(str(wf) if wf else "")
        self.watch.setPlaceholderText("none: new recordings are imported only when dropped")
        wbrowse = QPushButton(icon("folder"), "Browse…")
        wbrowse.clicked.connect(lambda: self._browse(self.watch))
        wrow = QHBoxLayout()
        wrow.addWidget(self.watch, 1)
        wrow.addWidget(wbrowse)
        gf.addRow("Watch folder", wrow)
        self.before = QDoubleSpinBox()
        self.after = QDoubleSpinBox()
        for spin, key, default in ((self.before, "ui.quick_mark_before", 9.0),
                                   (self.after, "ui.quick_mark_after", 3.0)):
            spin.setRange(0.5, 120.0)
            spin.setDecimals(1)
            spin.setSuffix(" s")
            spin.setValue(float(library.get_setting(key) or default))
        gf.addRow("Quick mark: before", self.before)
        gf.addRow("Quick mark: after", self.after)
        lib_label = QLabel(str(library.root))
        lib_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lib_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        gf.addRow("Library folder", lib_label)
        self.tabs.addTab(general, icon("settings", checked_dark=False), "General")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        root.addWidget(self.buttons)

    def _browse(self, field: QLineEdit) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder", field.text() or str(Path.home()))
        if folder:
            field.setText(folder)

    def _say(self, text: str, error: bool = False) -> None:
        self.sync_status.setText(text)
        self.sync_status.setStyleSheet(f"color: {(theme.ERROR if error else theme.TEXT_DIM).name()};")

    # -- saving ----------------------------------------------------------------------------------
    def save(self) -> None:
        """Local settings at once; the remote (network check) on a worker, then close."""
        if self._busy:
            return
        try:
            self._save_local()
        except (keyring.errors.KeyringError, OSError, ValueError) as exc:
            reason = "the system keyring refused" if isinstance(exc, keyring.errors.KeyringError) else redact(str(exc))
            QMessageBox.warning(self, "Settings", f"Could not save the settings: {type(exc).__name__}: {reason}")
            return
        config = self._remote_config()
        if config is False:
            return
        if config is None:
            if self._initial_kind:  # turned off: forget the remote locally (the bucket keeps its data)
                self._RemoteConfig.clear(self.library)
                self.remote_saved = True
            self.accept()
            return
        self._configure(config, force=False)

    def _save_local(self) -> None:
        from core.media.watch_service import set_watch_folder
        from sync.media import SETTING_POLICY as MEDIA_POLICY_SETTING

        self.library.set_setting(MEDIA_POLICY_SETTING, str(self.media_policy.currentData()))
        self.library.set_setting("ui.quick_mark_before", str(self.before.value()))
        self.library.set_setting("ui.quick_mark_after", str(self.after.value()))
        watch = self.watch.text().strip()
        if watch and not Path(watch).is_dir():
            raise ValueError(f"the watch folder {watch} does not exist")
        set_watch_folder(self.library, Path(watch) if watch else None)
        token_id, token_secret = self.modal_id.text().strip(), self.modal_secret.text()
        if token_secret:
            if not token_id:
                raise ValueError("enter the Modal token id with its secret")
            store_modal_token(self.library, token_id, token_secret)
        elif token_id != modal_token_id(self.library):
            self.library.set_setting(MODAL_TOKEN_ID_SETTING, token_id)
        self.modal_secret.clear()

    def _remote_config(self):  # RemoteConfig | None (off) | False (invalid, message shown)
        kind = self.kind.currentData()
        if not kind:
            return None
        try:
            if kind == self._RemoteKind.S3.value:
                return self._RemoteConfig(self._RemoteKind.S3, endpoint=self.endpoint.text().strip(),
                                          bucket=self.bucket.text().strip(), key_id=self.key_id.text().strip(),
                                          prefix=self.prefix.text().strip())
            return self._RemoteConfig(self._RemoteKind.FOLDER, folder=self.folder.text().strip())
        except ValueError as exc:
            self._say(str(exc).replace("--", "").replace("-", " "), error=True)
            return False

    def _configure(self, config, *, force: bool) -> None:
        secret = self.secret.text() or None
        library = self.library
        library_uid = library.get_setting("library_uid") if force else None

        def work(report, cancelled):
            from sync.remote import configure_remote

            return configure_remote(library, config, library_uid=library_uid, secret=secret)

        def done(result) -> None:
            self._busy = False
            self.secret.clear()
            self.remote_saved = True
            joined = " (joined the library found there)" if result.joined else ""
            self._say(f"Saved{joined}.")
            self.accept()

        def failed(text: str) -> None:
            self._busy = False
            self.buttons.setEnabled(True)
            if not force and _looks_offline(text):
                answer = QMessageBox.question(self, "Remote unreachable",
                                              f"The remote did not answer ({text}).\n\nSave these settings anyway? "
                                              "Sync starts once it is reachable.")
                if answer == QMessageBox.StandardButton.Yes:
                    self._configure(config, force=True)
                    return
            self._say(text, error=True)

        self._busy = True
        self.buttons.setEnabled(False)
        self._say("Checking the remote…")
        self.hub.submit(work, name="configure remote", on_result=done, on_error=failed)


def _looks_offline(text: str) -> bool:
    words = ("unreachable", "unavailable", "connect", "timed out", "timeout", "offline", "network", "resolve")
    return any(w in text.lower() for w in words)


__all__ = ["MODAL_KEYRING_SERVICE", "SettingsDialog", "modal_secret_stored", "modal_token_id", "store_modal_token"]
