"""Remote configuration and the R2 secret.

The non-secret part (endpoint, bucket, key id, prefix, or a folder path) is a local library setting.
The secret access key lives only in the OS keyring (Windows Credential Manager, macOS Keychain,
Secret Service), service ``"ReelDesk R2"``, user name = the key id; headless machines (CI, a server)
may pass it in ``REELDESK_S3_SECRET`` instead. It is never written to the database, a config file or
a log, and never put into an exception message: errors here name the key id and the backend only.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import keyring
import keyring.errors

from core.library import Library
from core.redact import remember
from sync.folderstore import FolderStore
from sync.s3store import S3Store
from sync.store import RemoteStore

log = logging.getLogger(__name__)

KEYRING_SERVICE = "ReelDesk R2"
ENV_SECRET = "REELDESK_S3_SECRET"
_PREFIX = "sync.remote."
_FIELDS = ("kind", "endpoint", "bucket", "key_id", "prefix", "folder")


class RemoteKind(str, Enum):
    S3 = "s3"
    FOLDER = "folder"


class SecretSource(str, Enum):
    ENV = "env"
    KEYRING = "keyring"
    NONE = "none"


class CredentialsError(Exception):
    """No secret available, or the keyring refused. Never carries the secret."""


@dataclass(frozen=True)
class RemoteConfig:
    kind: RemoteKind
    endpoint: str = ""
    bucket: str = ""
    key_id: str = ""
    prefix: str = ""
    folder: str = ""

    def __post_init__(self) -> None:
        if self.kind is RemoteKind.S3:
            if not self.endpoint.startswith(("https://", "http://")):
                raise ValueError("--endpoint must be an http(s) URL")
            if "@" in self.endpoint.partition("://")[2].partition("/")[0]:
                raise ValueError("--endpoint must not contain credentials")
            if not self.bucket or not self.key_id:
                raise ValueError("an S3/R2 remote needs --bucket and --key-id")
        elif not self.folder:
            raise ValueError("a folder remote needs --folder")

    @property
    def identity(self) -> tuple[str, ...]:
        """What names the remote data (the endpoint URL and key id may change: same bucket)."""
        where = self.bucket if self.kind is RemoteKind.S3 else str(Path(self.folder).absolute())
        return (self.kind.value, where, self.prefix.strip("/"))

    def describe(self) -> str:
        if self.kind is RemoteKind.FOLDER:
            return f"folder {self.folder}"
        prefix = f"/{self.prefix.strip('/')}" if self.prefix.strip("/") else ""
        return f"{self.endpoint} bucket {self.bucket}{prefix}"

    def to_public_dict(self) -> dict[str, Any]:
        """Everything `remote show` may print (no secret: it is not in here at all)."""
        return {"kind": self.kind.value, "endpoint": self.endpoint or None, "bucket": self.bucket or None,
                "key_id": self.key_id or None, "prefix": self.prefix or None, "folder": self.folder or None}

    # -- persistence in the library's local settings ---------------------------------------------
    @classmethod
    def load(cls, library: Library) -> RemoteConfig | None:
        values = {f: library.get_setting(_PREFIX + f, "") or "" for f in _FIELDS}
        if not values["kind"]:
            return None
        try:
            return cls(kind=RemoteKind(values.pop("kind")), **values)
        except ValueError as exc:
            log.warning("ignoring an invalid remote configuration: %s", exc)
            return None

    def save(self, library: Library) -> None:
        for f in _FIELDS:
            value = getattr(self, f)
            library.set_setting(_PREFIX + f, value.value if isinstance(value, Enum) else value)

    @staticmethod
    def clear(library: Library) -> None:
        """Forget the remote on this machine (sync off) and its keyring secret; the bucket keeps its data."""
        key_id = library.get_setting(_PREFIX + "key_id", "") or ""
        for f in _FIELDS:
            library.set_setting(_PREFIX + f, "")
        if key_id:
            delete_secret(key_id)


# -- the secret ------------------------------------------------------------------------------------
def keyring_backend_name() -> str:
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring set-up is reported, not fatal
        return f"unavailable ({type(exc).__name__})"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def store_secret(key_id: str, secret: str) -> None:
    if not secret:
        raise CredentialsError("the secret is empty")
    remember(secret)
    try:
        keyring.set_password(KEYRING_SERVICE, key_id, secret)
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(
            f"cannot store the secret in the OS keyring ({type(exc).__name__}); on a machine without a keyring "
            f"set {ENV_SECRET} in the environment instead") from None


def delete_secret(key_id: str) -> None:
    try:
        keyring.delete_password(KEYRING_SERVICE, key_id)
    except keyring.errors.KeyringError:
        pass


def secret_source(key_id: str) -> SecretSource:
    if os.environ.get(ENV_SECRET):
        return SecretSource.ENV
    try:
        if keyring.get_password(KEYRING_SERVICE, key_id):
            return SecretSource.KEYRING
    except keyring.errors.KeyringError:
        pass
    return SecretSource.NONE


def get_secret(key_id: str) -> str:
    env = os.environ.get(ENV_SECRET)
    if env:
        remember(env)
        return env
    try:
        secret = keyring.get_password(KEYRING_SERVICE, key_id)
    except keyring.errors.KeyringError as exc:
        raise CredentialsError(f"cannot read the secret for key id {key_id!r} from the OS keyring "
                               f"({type(exc).__name__}); set {ENV_SECRET} instead") from None
    if not secret:
        raise CredentialsError(f"no secret stored for key id {key_id!r}: run 'reeldesk remote set' again "
                               f"or set {ENV_SECRET}")
    remember(secret)
    return secret


def open_store(config: RemoteConfig, **options: Any) -> RemoteStore:
    """A store for the configured remote (the secret goes straight from the keyring into boto3)."""
    if config.kind is RemoteKind.FOLDER:
        return FolderStore(Path(config.folder), **options)
    return S3Store(config.endpoint, config.bucket, config.key_id, get_secret(config.key_id),
                   prefix=config.prefix, **options)
