"""Device identity: a device id belongs to one machine and one library folder.

The id lives in ``library.sqlite``, so copying the folder (or restoring a backup of it) copies the
id. A copy must become a new device: otherwise two histories interleave under one name, batches
collide, and each side believes the other's batches are its own. The database therefore also
keeps a *binding*, a digest of this machine's id and the folder's absolute path; a library opened
where the binding does not match is a copy and re-mints its id (`remint`). A backup restored in
place (same machine, same folder) keeps a matching binding; the sync notices that case from the
bucket (batches of our id that we never wrote) and calls `remint` too.

Re-minting keeps every gesture as it is (op_id, device, lamport: the total order must not change);
what it changes is who carries the unpushed ones. They are marked `RELAY` and pushed again under the
new id, and the old id becomes "another device" whose log is pulled after the last batch this copy
wrote, so whatever the original (or the pre-restore self) wrote later comes back.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import uuid
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Table, delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core.db import models as m
from core.ids import new_uid

log = logging.getLogger(__name__)

RELAY = -1  # gesture_log.pushed_batch of a gesture made under a former id that must be pushed again
SETTING_DEVICE = "device_id"
SETTING_BINDING = "device_binding"
SETTING_FORMER = "former_device_ids"  # JSON list of {"device_id", "reason"}
SETTING_REGISTERED = "sync.registered_in"

_S = cast(Table, m.Setting.__table__)
_G = cast(Table, m.GestureRow.__table__)
_BAT = cast(Table, m.SyncBatch.__table__)
_CUR = cast(Table, m.SyncCursor.__table__)


def _machine_id() -> str:
    """A stable id of this machine (Windows MachineGuid, Linux machine-id, else the MAC address)."""
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            pass
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            text = Path(candidate).read_text(encoding="ascii").strip()
        except OSError:
            continue
        if text:
            return text
    return f"node-{uuid.getnode():012x}"


def binding_for(root: Path) -> str:
    folder = os.path.normcase(str(Path(root).resolve()))
    return hashlib.sha256(f"{_machine_id()}\0{folder}".encode()).hexdigest()


def _get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(_S.c.value).where(_S.c.key == key)).scalar()


def _put(conn: Connection, key: str, value: str) -> None:
    stmt = sqlite_insert(_S).values(key=key, value=value)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def former_ids(conn: Connection) -> list[dict[str, str]]:
    raw = _get(conn, SETTING_FORMER)
    return json.loads(raw) if raw else []


def ensure_identity(conn: Connection, root: Path) -> str:
    """The device id for the library at `root`, minting or re-minting it as needed."""
    binding = binding_for(root)
    device = _get(conn, SETTING_DEVICE)
    if device is None:
        device = new_uid()
        _put(conn, SETTING_DEVICE, device)
    else:
        stored = _get(conn, SETTING_BINDING)
        if stored is not None and stored != binding:
            device = remint(conn, device, "the library folder was copied or moved to another folder or machine")
    _put(conn, SETTING_BINDING, binding)
    return device


def remint(conn: Connection, old: str, reason: str) -> str:
    """Give this library a new device id (in the caller's transaction); returns it."""
    new = new_uid()
    last = conn.execute(select(_BAT.c.batch, _BAT.c.key).order_by(_BAT.c.batch.desc()).limit(1)).first()
    if last is not None:  # pull the old id's log from where this copy's own history stops
        stmt = sqlite_insert(_CUR).values(device_id=old, last_batch=last.batch, last_key=last.key,
                                          updated_at=m.utcnow())
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["device_id"]))
    conn.execute(delete(_BAT))
    relayed = conn.execute(update(_G).where(_G.c.device_id == old, _G.c.pushed_batch.is_(None))
                           .values(pushed_batch=RELAY)).rowcount
    formers = former_ids(conn) + [{"device_id": old, "reason": reason}]
    _put(conn, SETTING_FORMER, json.dumps(formers))
    _put(conn, SETTING_DEVICE, new)
    conn.execute(delete(_S).where(_S.c.key == SETTING_REGISTERED))
    log.warning("new device id %s (was %s): %s; %d unpushed gesture(s) will be pushed again", new, old, reason,
                relayed)
    return new


def own_ids(conn: Connection, device: str) -> list[str]:
    """This library's device id and every id it had before (undo follows the user across a re-mint)."""
    return [device, *(f["device_id"] for f in former_ids(conn))]
