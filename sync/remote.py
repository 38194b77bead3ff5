"""Pointing a library at a remote (`reeldesk remote set`) and opening a sync engine for it.

Library identity: keys live under ``libraries/{library_uid}/``. The first machine creates the
library in the bucket under its own uid; a second machine joins the single library it finds there
(or the one named with ``--library-uid``) by adopting that uid as its local ``library_uid`` setting.
Once a library has pushed or pulled, its remote identity (bucket or folder, prefix, library uid) is
fixed: switching would leave its pushed gestures behind in the old place. The endpoint URL and key
id may change (rotated keys, a custom domain for the same bucket).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.ids import is_uid
from core.library import Library
from sync.codec import utc_iso
from sync.credentials import (
    RemoteConfig,
    RemoteKind,
    get_secret,
    open_store,
    store_secret,
)
from sync.engine import SyncEngine, discover_libraries
from sync.folderstore import FolderStore
from sync.layout import Layout
from sync.ledger import Ledger
from sync.s3store import S3Store
from sync.store import AlreadyExists, RemoteStore, StoreUnavailable

log = logging.getLogger(__name__)


_NETWORK_OPTIONS = {"connect_timeout", "read_timeout", "retries", "list_page_size", "region"}


class RemoteSetupError(ValueError):
    """The remote cannot be set as asked (bad input, ambiguous bucket, identity already fixed)."""


@dataclass(frozen=True)
class RemoteSetResult:
    config: RemoteConfig
    library_uid: str
    joined: bool  # adopted a library uid found in (or named for) the bucket
    verified: bool  # the remote answered
    secret_stored: bool
    libraries_found: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"remote": self.config.to_public_dict(), "library_uid": self.library_uid, "joined": self.joined,
                "verified": self.verified, "secret_stored": self.secret_stored,
                "libraries_found": self.libraries_found}


def configure_remote(library: Library, config: RemoteConfig, *, library_uid: str | None = None,
                     secret: str | None = None, store: RemoteStore | None = None) -> RemoteSetResult:
    """Check the remote, decide which library to join, then save the settings (and the secret)."""
    if library_uid is not None and not is_uid(library_uid):
        raise RemoteSetupError("--library-uid must be a library uuid")
    current_uid = library.get_setting("library_uid") or library.library_uid
    if store is None:
        store = _store_for(config, secret)
    verified = True
    try:
        found = discover_libraries(store)
    except StoreUnavailable:
        if library_uid is None:
            raise
        log.warning("remote %s is unreachable; saving the settings unverified", config.describe())
        found, verified = [], False
    if library_uid is not None:
        target = library_uid
    elif current_uid in found or not found:
        target = current_uid
    elif len(found) == 1:
        target = found[0]
    else:
        raise RemoteSetupError(f"the remote holds {len(found)} libraries; choose one with --library-uid: "
                               + ", ".join(found[:10]))
    current = RemoteConfig.load(library)
    if Ledger(library).has_history() and (current is None or current.identity != config.identity
                                          or target != current_uid):
        where = current.describe() if current is not None else "another remote"
        raise RemoteSetupError(f"this library already syncs with {where} as library {current_uid}; it cannot "
                               "switch to another bucket, prefix or library (its pushed edits would stay behind)")
    if verified:
        _claim(store, target)
    if secret:
        store_secret(config.key_id, secret)
    config.save(library)
    if target != current_uid:
        library.set_setting("library_uid", target)
        log.info("joined library %s found in %s", target, config.describe())
    return RemoteSetResult(config, target, target != current_uid, verified, bool(secret), found)


def _claim(store: RemoteStore, library_uid: str) -> None:
    """Write ``libraries/{uid}/library.json`` now, so a second machine set up before the first sync
    joins this library instead of starting another one in the same bucket."""
    layout = Layout(library_uid)
    doc = {"format": "reeldesk.library", "v": 1, "library": library_uid, "created_at": utc_iso()}
    try:
        store.put_create_only(layout.library_key, json.dumps(doc, sort_keys=True).encode("utf-8"))
    except AlreadyExists:
        pass


def _store_for(config: RemoteConfig, secret: str | None, **options: Any) -> RemoteStore:
    if config.kind is RemoteKind.FOLDER:
        store = FolderStore(Path(config.folder), **options)
        store.ensure_root()  # first set-up creates the folder; later an absent one reads as offline
        return store
    if secret:
        return S3Store(config.endpoint, config.bucket, config.key_id, secret, prefix=config.prefix, **options)
    return open_store(config, **options)


def open_sync(library: Library, **options: Any) -> SyncEngine | None:
    """The engine for the library's configured remote; None when sync is not set up.

    `options` go to the store (timeouts, part size) and the engine (batch_size, snapshot_every).
    """
    config = RemoteConfig.load(library)
    if config is None:
        return None
    engine_keys = {"batch_size", "snapshot_every", "device_name", "cancelled"}
    engine_options = {k: v for k, v in options.items() if k in engine_keys}
    store_options = {k: v for k, v in options.items() if k not in engine_keys}
    if config.kind is RemoteKind.FOLDER:  # network knobs mean nothing to a folder
        store_options = {k: v for k, v in store_options.items() if k not in _NETWORK_OPTIONS}
    return SyncEngine(library, open_store(config, **store_options), **engine_options)


def known_secrets(library: Library) -> tuple[str, ...]:
    """The configured secret, for scrubbing status text (never stored anywhere by this call)."""
    config = RemoteConfig.load(library)
    if config is None or config.kind is not RemoteKind.S3:
        return ()
    try:
        return (get_secret(config.key_id),)
    except Exception:  # noqa: BLE001 - no secret, nothing to scrub
        return ()
