"""``reeldesk sync``, ``reeldesk remote set|show`` and ``reeldesk doctor``.

The R2 secret is read from stdin (``--secret-stdin``), a hidden prompt, or ``REELDESK_S3_SECRET``
(headless), goes to the OS keyring, and is never printed: every text these commands write is
built from the public remote settings and sanitised error text.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.library import Library
from core.media.integrity import damaged_media
from sync.credentials import (
    ENV_SECRET,
    CredentialsError,
    RemoteConfig,
    RemoteKind,
    SecretSource,
    keyring_backend_name,
    secret_source,
)
from sync.engine import SyncCounts, SyncError
from sync.remote import RemoteSetupError, configure_remote, known_secrets, open_sync
from sync.runtime import SyncStatus, SyncThread, sanitize_error, status_once
from desktop.cli_common import EXIT_FAILED, EXIT_OK, CliError, Outcome
from sync.store import StoreError


log = logging.getLogger(__name__)



def _common() -> argparse.ArgumentParser:
    # Same as desktop.cli's shared flags: SUPPRESS defaults so the global --json/-v is not overwritten.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print exactly one JSON document on stdout")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more detail in the log and on the console")
    return common


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 86_400:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 86400 seconds")
    return value


def register(subparsers: Any, parents: Sequence[argparse.ArgumentParser] | None = None) -> None:
    """Add ``sync``, ``remote`` and ``doctor`` to the ``reeldesk`` sub-command parser."""
    common = list(parents) if parents is not None else [_common()]

    p = subparsers.add_parser("sync", parents=common, help="sync this library with its remote (R2 or a folder)",
                              description="Push this library's edits and pull the other devices' edits.")
    p.add_argument("--once", action="store_true", help="one push+pull+media cycle, then exit")
    p.add_argument("--interval", type=_positive, default=30.0, metavar="S",
                   help="seconds between pulls when running continuously (default 30)")

    p = subparsers.add_parser("remote", parents=common, help="show or set the sync remote",
                              description="Show or set where this library syncs to.")
    rsub = p.add_subparsers(dest="remote_command", metavar="ACTION", required=True)
    rs = rsub.add_parser("set", parents=common, help="set the remote (the secret goes to the OS keyring)",
                         description="Set the remote: an S3/R2 bucket (--endpoint --bucket --key-id) or a folder "
                                     "(--folder). A second machine joins the library it finds there.")
    rs.add_argument("--endpoint", metavar="URL", help="S3 endpoint, e.g. https://<account>.r2.cloudflarestorage.com")
    rs.add_argument("--bucket", metavar="NAME")
    rs.add_argument("--key-id", metavar="ID", help="access key id (the secret is asked for, never an argument)")
    rs.add_argument("--prefix", default="", metavar="P", help="key prefix inside the bucket")
    rs.add_argument("--folder", type=Path, metavar="PATH", help="sync through a local or network folder instead")
    rs.add_argument("--library-uid", metavar="U", help="join this library (when the bucket holds several)")
    rs.add_argument("--secret-stdin", action="store_true",
                    help=f"read the secret from stdin (default: prompt; or set {ENV_SECRET})")
    rsub.add_parser("show", parents=common, help="show the remote (never the secret)")

    subparsers.add_parser("doctor", parents=common, help="check the library, the remote and the keyring",
                          description="Library path, database integrity, pending edits, remote reachability, "
                                      "keyring backend, conflicts and quarantined objects.")


# -- remote ----------------------------------------------------------------------------------------
def _read_secret(args: argparse.Namespace) -> tuple[str | None, bool]:
    """(secret, store it in the keyring)."""
    if args.secret_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CliError("--secret-stdin: no secret on stdin")
        return secret, True
    env = os.environ.get(ENV_SECRET)
    if env:
        return env, False  # headless: the environment keeps providing it; nothing to store
    if not sys.stdin.isatty():
        raise CliError(f"no terminal to ask for the secret: use --secret-stdin or set {ENV_SECRET}")
    secret = getpass.getpass("R2 secret access key (not shown): ").strip()
    if not secret:
        raise CliError("no secret entered")
    return secret, True


def cmd_remote(lib: Library, args: argparse.Namespace) -> Outcome:
    if args.remote_command == "show":
        return _remote_show(lib)
    if args.folder is not None:
        if args.endpoint or args.bucket or args.key_id:
            raise CliError("use either --folder or --endpoint/--bucket/--key-id, not both")
        config = RemoteConfig(RemoteKind.FOLDER, folder=str(Path(args.folder).absolute()), prefix=args.prefix)
        secret, keep = None, False
    else:
        missing = [flag for flag, value in (("--endpoint", args.endpoint), ("--bucket", args.bucket),
                                            ("--key-id", args.key_id)) if not value]
        if missing:
            raise CliError(f"missing {', '.join(missing)} (or use --folder PATH)")
        config = RemoteConfig(RemoteKind.S3, endpoint=args.endpoint, bucket=args.bucket, key_id=args.key_id,
                              prefix=args.prefix)
        secret, keep = _read_secret(args)
    try:
        result = configure_remote(lib, config, library_uid=args.library_uid, secret=secret if keep else None,
                                  store=None if keep or secret is None else _env_store(config))
    except (RemoteSetupError, CredentialsError) as exc:
        raise CliError(str(exc)) from None
    except StoreError as exc:
        text = sanitize_error(exc, (secret,) if secret else ())
        return Outcome({"error": text}, f"cannot use remote {config.describe()}: {text}", EXIT_FAILED)
    data = result.to_json()
    lines = [f"remote set: {config.describe()}"]
    if result.joined:
        lines.append(f"joined library {result.library_uid}")
    elif result.libraries_found:
        lines.append(f"library {result.library_uid} (already in the remote)")
    else:
        lines.append(f"library {result.library_uid} will be created in the remote on the first sync")
    if result.secret_stored:
        lines.append(f"secret stored in the OS keyring ({keyring_backend_name()})")
    elif config.kind is RemoteKind.S3:
        lines.append(f"secret taken from {ENV_SECRET} (not stored)")
    if not result.verified:
        lines.append("warning: the remote did not answer; settings saved unverified")
    return Outcome(data, "\n".join(lines))


def _env_store(config: RemoteConfig) -> Any:
    from sync.credentials import open_store

    return open_store(config)


def _secret_info(config: RemoteConfig | None) -> dict[str, Any]:
    if config is None or config.kind is not RemoteKind.S3:
        return {"needed": False, "stored": False, "source": SecretSource.NONE.value}
    source = secret_source(config.key_id)
    return {"needed": True, "stored": source is not SecretSource.NONE, "source": source.value}


def _remote_show(lib: Library) -> Outcome:
    config = RemoteConfig.load(lib)
    secret = _secret_info(config)
    data = {"remote": config.to_public_dict() if config else None, "secret": secret,
            "library_uid": lib.get_setting("library_uid"), "device_id": lib.device_id}
    if config is None:
        return Outcome(data, "no remote set (use 'reeldesk remote set')")
    lines = [f"remote: {config.describe()}", f"library: {data['library_uid']}", f"device: {lib.device_id}"]
    if config.kind is RemoteKind.S3:
        lines.append(f"key id: {config.key_id}")
        lines.append("secret: " + ({"keyring": "stored in the OS keyring", "env": f"from {ENV_SECRET}"}
                                   .get(secret["source"], "MISSING (run 'reeldesk remote set' again)")))
    return Outcome(data, "\n".join(lines))


# -- sync ------------------------------------------------------------------------------------------
def _counts_text(c: SyncCounts) -> str:
    parts = [f"pushed {c.pushed} gesture(s) in {c.batches_pushed} batch(es)",
             f"pulled {c.pulled} gesture(s) in {c.batches_pulled} batch(es)"]
    if c.bootstrapped:
        parts.append(f"{c.bootstrapped} from a snapshot")
    if c.quarantined:
        parts.append(f"{c.quarantined} object(s) quarantined")
    if c.media_uploaded or c.media_downloaded:
        parts.append(f"media: {c.media_uploaded} up, {c.media_downloaded} down")
    if c.snapshot:
        parts.append("snapshot written")
    return "; ".join(parts)


def _status_text(status: SyncStatus) -> str:
    lines = [f"status: {status.summary()}"]
    if status.last_error:
        lines.append(f"error: {status.last_error}")
    if status.advice:
        lines.append(f"what to do: {status.advice}")
    lines.extend(f"held: {h}" for h in status.held)
    return "\n".join(lines)


def _open_engine(lib: Library, **options: Any) -> Any:
    try:
        engine = open_sync(lib, **options)
    except CredentialsError as exc:
        raise CliError(str(exc)) from None
    if engine is None:
        raise CliError("no remote set: run 'reeldesk remote set' first")
    return engine


def cmd_sync(lib: Library, args: argparse.Namespace) -> Outcome:
    engine = _open_engine(lib)
    secrets = known_secrets(lib)
    if args.once:
        counts = SyncCounts()
        error: BaseException | None = None
        try:
            counts = engine.sync_once()
        except (StoreError, SyncError) as exc:
            error = exc
            log.info("sync failed: %s", sanitize_error(exc, secrets))
        status = status_once(engine, error=error, secrets=secrets, held=counts.held,
                             last_sync_at=None if error else datetime.now(UTC))
        return Outcome({"counts": counts.to_json(), "status": status.to_json()},
                        _counts_text(counts) + "\n" + _status_text(status), EXIT_FAILED if error else EXIT_OK)
    return _run_continuously(engine, args, secrets)


def _run_continuously(engine: Any, args: argparse.Namespace, secrets: tuple[str, ...]) -> Outcome:
    as_json = bool(getattr(args, "json", False))

    def show(status: SyncStatus) -> None:
        if not as_json:
            stamp = time.strftime("%H:%M:%S")
            sys.stdout.write(f"{stamp}  {status.summary()}" + (f"  ({status.last_error})" if status.last_error
                                                               else "") + "\n")
            sys.stdout.flush()

    thread = SyncThread(engine, interval_s=args.interval, on_status=show, secrets=secrets)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        flushed = thread.stop(flush_timeout_s=10.0)
    status = thread.status
    text = "stopped; " + ("everything pushed" if flushed else f"{status.pending} gesture(s) still pending")
    return Outcome({"status": status.to_json(), "flushed": flushed}, text)


# -- doctor ----------------------------------------------------------------------------------------
STUCK_PENDING_S = 600  # edits older than this and not uploaded are reported by doctor


def cmd_doctor(lib: Library, args: argparse.Namespace) -> Outcome:
    from sync.ledger import Ledger

    config = RemoteConfig.load(lib)
    integrity = lib.integrity_check()
    ledger = Ledger(lib)
    quarantined = ledger.quarantined()
    formers = lib.former_device_ids()
    data: dict[str, Any] = {
        "library": str(lib.root), "database": integrity, "library_uid": lib.get_setting("library_uid"),
        "device_id": lib.device_id, "former_device_ids": formers, "pending": lib.pending_count(),
        "stuck_pending": lib.pending_count(older_than_s=STUCK_PENDING_S), "conflicts": len(lib.conflicts()),
        "quarantined": quarantined, "keyring_backend": keyring_backend_name(),
        "remote": config.to_public_dict() if config else None, "secret": _secret_info(config),
        "remote_reachable": None, "remote_error": None, "clash": None, "device_skews": [],
    }
    # Each problem names its fix; any problem makes the exit code non-zero.
    problems = [] if integrity == "ok" else ["database integrity check failed: restore the library folder from a "
                                             "backup or from the bucket (delete it and run 'reeldesk sync')"]
    damaged = damaged_media(lib)
    data["damaged_media"] = [str(d) for d in damaged]
    if damaged:
        problems.append(f"{len(damaged)} damaged media file(s): re-import them from the original footage")
    if config is not None:
        reachable, error, clash, skews = _probe(lib)
        data["remote_reachable"], data["remote_error"], data["clash"] = reachable, error, clash
        data["device_skews"] = skews
        problems.extend(skews)  # each names the computer to update
        if not reachable:
            problems.append(f"remote unreachable ({error}): check the network, the endpoint and the key, "
                            "then run 'reeldesk remote set' again if they changed")
        if clash:
            problems.append(f"another copy of this library (a copied folder or a restored backup) wrote {clash} "
                            "under this device id: run 'reeldesk sync --once'; this library then takes a new "
                            "device id, sends its edits again and fetches the copy's")
    if data["stuck_pending"]:
        problems.append(f"{data['stuck_pending']} edit(s) waiting more than {STUCK_PENDING_S // 60} minutes to "
                        "upload: run 'reeldesk sync --once' and read its error")
    if quarantined:
        problems.append(f"{len(quarantined)} quarantined object(s): another device wrote something this version "
                        "cannot apply; later edits of that device wait behind it. Update ReelDesk on this machine "
                        "(quarantined batches are retried after an update); if it stays, update the device "
                        "that wrote it")
    lines = [f"library:          {lib.root}",
             f"database:         {integrity}",
             *[f"damaged media:    {d}" for d in damaged],
             f"library uid:      {data['library_uid']}",
             f"device id:        {lib.device_id}",
             *[f"  was {f['device_id']}: {f['reason']}" for f in formers],
             f"pending edits:    {data['pending']}",
             f"conflicts:        {data['conflicts']}",
             f"quarantined:      {len(quarantined)}",
             *[f"  {q['key']}: {q['reason']}" for q in quarantined[:20]],
             f"keyring backend:  {data['keyring_backend']}",
             f"remote:           {config.describe() if config else 'not set'}"]
    if config is not None:
        if config.kind is RemoteKind.S3:
            lines.append(f"secret:           {data['secret']['source'] if data['secret']['stored'] else 'MISSING'}")
        lines.append("remote reachable: " + ("yes" if data["remote_reachable"] else f"no ({data['remote_error']})"))
    lines += [f"PROBLEM: {p}" for p in problems] or ["no problems found"]
    data["problems"] = problems
    return Outcome(data, "\n".join(lines), EXIT_FAILED if problems else EXIT_OK)


def _probe(lib: Library) -> tuple[bool, str | None, str | None, list[str]]:
    """(reachable, error, clash, skews): a HEAD of the snapshot pointer (cheap, no side effects), a look
    for batches of this device id that another copy of the library wrote, and the devices whose build
    reads other kinds of edit than this one."""
    secrets = known_secrets(lib)
    try:
        engine = open_sync(lib, connect_timeout=3, read_timeout=10, retries=0)
        assert engine is not None
        engine.store.head(engine.layout.pointer_key)
        return True, None, engine.foreign_own_batch(), engine.device_skews()
    except (StoreError, CredentialsError) as exc:
        return False, sanitize_error(exc, secrets), None, []


COMMANDS: dict[str, Callable[[Library, argparse.Namespace], Outcome]] = {
    "sync": cmd_sync, "remote": cmd_remote, "doctor": cmd_doctor,
}
