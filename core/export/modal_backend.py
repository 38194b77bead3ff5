# This module is longer than 500 lines because the Modal job's life (spawn, poll, cancel, reattach after a
# restart, offline cancels) is one state machine on one class; its connection and credential helpers are
# the part to move out when it grows.
"""The Modal export backend: renders on Modal's GPUs through the deployed ``modal_app``.

The desktop never hands Modal its R2 keys: a ``Presigner`` (supplied by the desktop layer, which
owns the R2 store) uploads missing sources and mints short-lived presigned URLs: GET for each
source, PUT for the render. The job then

1. spawns the orchestrator (``Function.spawn``) and stores the call id on the job row,
2. polls the progress ``modal.Dict`` (keyed by job uid) and ``FunctionCall.get(timeout=0)``,
3. downloads the finished render from R2 and records it as a final video.

Everything runs on a thread per job, never on the caller's: a Modal call without network can
hang for a minute. After a restart ``reattach`` resumes polling by call id. Modal's API is reached
through an injected ``ModalClient`` (``function`` / ``call`` / ``dict``), so tests drive a fake.

Credentials: the token secret comes from the OS keyring (service "ReelDesk Modal", user = the
token id kept in the library setting ``export.modal.token_id``), else ``MODAL_TOKEN_ID`` /
``MODAL_TOKEN_SECRET`` or Modal's own ``~/.modal.toml``. Never in the database, logs or errors.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.enums import JobState
from core.redact import redact, remember

if TYPE_CHECKING:
    from core.export.backend import JobStore
    from core.library import Library

__all__ = [
    "APP_NAME",
    "ORCHESTRATOR",
    "PROGRESS_DICT",
    "RENDER_FUNCTION",
    "ModalBackend",
    "ModalClient",
    "ModalNotConfigured",
    "ModalUnreachable",
    "Presigner",
    "connect_modal",
    "modal_credentials",
    "modal_setup_problem",
    "register_presigner_factory",
]

log = logging.getLogger(__name__)

APP_NAME = "reeldesk-export"
ORCHESTRATOR = "orchestrate"
RENDER_FUNCTION = "render_chunk"
PROGRESS_DICT = "reeldesk-export-progress"
# Chunks of a Modal render: at most MAX_CHUNK_S of output each, spread over up to MAX_CONTAINERS
# GPUs while each keeps MIN_CHUNK_S (container start-up and the model load are paid per chunk).
MAX_CHUNK_S = 10.0
MIN_CHUNK_S = 3.0
MAX_CONTAINERS = int(os.environ.get("REELDESK_MODAL_MAX_CONTAINERS", "10"))
# The chunk GPU, fixed when the app is deployed. An H200 ran Real-ESRGAN x4plus at 170 ms per
# 608x1080 crop (benchmarks/bench_realesrgan.py): a 15 s reel's 3 s chunks take ~15 s of model
# time each. An L4, scaled from that by its data sheet, would need ~16x longer per frame for
# about a sixth of the price per second (more per reel), and its 24 GB would barely hold a batch.
MODAL_GPU = os.environ.get("REELDESK_MODAL_GPU", "H200")

MODAL_KEYRING_SERVICE = "ReelDesk Modal"  # same names as desktop.ui.settings_dialog
MODAL_TOKEN_ID_SETTING = "export.modal.token_id"
DEFAULT_SERVER_URL = "https://api.modal.com"
_PROBE_TIMEOUT_S = 5.0
_NOT_CONFIGURED_HINT = ("add a Modal token in Settings > Export (or set MODAL_TOKEN_ID and "
                        "MODAL_TOKEN_SECRET, or run 'modal token new')")


class ModalNotConfigured(RuntimeError):
    """No Modal token (or no R2 remote to move files through)."""


class ModalUnreachable(RuntimeError):
    """Modal's API cannot be reached (offline, DNS, firewall)."""


class Presigner(Protocol):
    """Moves files through R2 for Modal; implemented by the desktop layer (it owns the keys)."""

    def media_url(self, media_hash: str, local_path: Path) -> str:
        """A presigned GET URL of a source, uploading it first if the remote lacks it."""

    def output_url(self, job_uid: str) -> tuple[str, str]:
        """(object key, presigned PUT URL) for the job's render."""

    def download(self, key: str, dest: Path) -> None:
        """Fetch the rendered object to ``dest``."""


_presigner_factory: Callable[[Library], Presigner | None] | None = None


def register_presigner_factory(factory: Callable[[Library], Presigner | None] | None) -> None:
    """The desktop registers how to build a Presigner for a library (core cannot import sync)."""
    global _presigner_factory
    _presigner_factory = factory


class ModalClient:
    """The three Modal entry points the backend uses (the seam tests replace with a fake)."""

    def __init__(self, client: Any = None, secrets: tuple[str, ...] = ()) -> None:
        self._client = client
        self.secrets = secrets

    def function(self, app_name: str, name: str) -> Any:
        import modal

        return modal.Function.from_name(app_name, name, client=self._client)

    def call(self, call_id: str) -> Any:
        import modal

        return modal.FunctionCall.from_id(call_id, client=self._client)

    def dict(self, name: str) -> Any:
        import modal

        return modal.Dict.from_name(name, create_if_missing=True, client=self._client)


def _config_file() -> Path:
    return Path(os.environ.get("MODAL_CONFIG_PATH") or Path.home() / ".modal.toml")


def modal_credentials(library: Library) -> tuple[str, str] | None:
    """(token id, secret): the keyring's first, then the environment, then Modal's config file."""
    token_id = (library.get_setting(MODAL_TOKEN_ID_SETTING, "") or "").strip()
    if token_id:
        try:
            import keyring

            secret = keyring.get_password(MODAL_KEYRING_SERVICE, token_id)
        except Exception as exc:  # noqa: BLE001 - any keyring backend failure means "not here"
            log.warning("cannot read the Modal token from the OS keyring: %s", type(exc).__name__)
            secret = None
        if secret:
            remember(secret)
            return token_id, secret
    env_id, env_secret = os.environ.get("MODAL_TOKEN_ID"), os.environ.get("MODAL_TOKEN_SECRET")
    if env_id and env_secret:
        remember(env_secret)
        return env_id, env_secret
    if _config_file().is_file():
        try:
            from modal.config import config

            cid, csecret = config.get("token_id"), config.get("token_secret")
        except Exception as exc:  # noqa: BLE001 - a broken config file is "not configured"
            log.warning("cannot read Modal's config file: %s", type(exc).__name__)
            return None
        if cid and csecret:
            remember(str(csecret))
            return str(cid), str(csecret)
    return None


def modal_setup_problem(library: Library) -> str | None:
    """Why a Modal export cannot start here, or None. Cheap: no network, no ``import modal``."""
    token_id = (library.get_setting(MODAL_TOKEN_ID_SETTING, "") or "").strip()
    has_token = bool(token_id) or bool(os.environ.get("MODAL_TOKEN_ID")) or _config_file().is_file()
    if not has_token:
        return f"Modal is not configured: {_NOT_CONFIGURED_HINT}"
    if _presigner_factory is None:
        return "Modal exports need the R2 remote, which this build cannot reach"
    return None


def _server_url() -> str:
    return os.environ.get("MODAL_SERVER_URL") or DEFAULT_SERVER_URL


def probe_modal(timeout: float = _PROBE_TIMEOUT_S) -> None:
    """A TCP connect to Modal's API: fail in seconds offline instead of gRPC's minute of retries."""
    url = urllib.parse.urlsplit(_server_url())
    host = url.hostname or "api.modal.com"
    port = url.port or (443 if url.scheme in ("https", "grpcs", "") else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ModalUnreachable(f"cannot reach Modal: {host}:{port}: {reason}") from None


def connect_modal(library: Library) -> ModalClient:
    """A client with this library's Modal credentials. Raises ModalNotConfigured or
    ModalUnreachable with a clear message (never containing the secret)."""
    creds = modal_credentials(library)
    if creds is None:
        raise ModalNotConfigured(f"Modal is not configured: {_NOT_CONFIGURED_HINT}")
    probe_modal()
    try:
        import modal

        client = modal.Client.from_credentials(*creds)
    except Exception as exc:  # noqa: BLE001 - reported as one clean line
        raise ModalUnreachable(f"cannot reach Modal: {redact(_one_line(exc), (creds[1],))}") from None
    return ModalClient(client, secrets=(creds[1],))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _modal_errors() -> dict[str, type[BaseException]]:
    try:
        from modal import exception as mx
    except Exception:  # noqa: BLE001 - without modal installed only the builtins apply
        return {}
    return {name: getattr(mx, name) for name in
            ("AuthError", "NotFoundError", "ConnectionError", "OutputExpiredError",
             "InputCancellation", "FunctionTimeoutError", "TimeoutError")
            if hasattr(mx, name)}


def _is_pending(exc: BaseException) -> bool:
    """``get(timeout=0)``'s "not finished yet": the builtin TimeoutError (Modal's own timeout
    classes mean the remote function timed out, or its result expired)."""
    errors = _modal_errors()
    modal_timeout = errors.get("TimeoutError")
    return isinstance(exc, TimeoutError) and not (modal_timeout and isinstance(exc, modal_timeout))


def _is_transient(exc: BaseException) -> bool:
    errors = _modal_errors()
    conn = errors.get("ConnectionError")
    return isinstance(exc, (ConnectionError, OSError)) or bool(conn and isinstance(exc, conn))


def _start_message(exc: BaseException, secrets: tuple[str, ...]) -> str:
    errors = _modal_errors()
    text = redact(_one_line(exc), secrets)
    if "AuthError" in errors and isinstance(exc, errors["AuthError"]):
        return f"Modal is not configured: the token was rejected ({text})"
    if "NotFoundError" in errors and isinstance(exc, errors["NotFoundError"]):
        return (f"the ReelDesk export app is not deployed on Modal; run "
                f"'modal deploy core/export/modal_app.py' ({text})")
    if _is_transient(exc):
        return f"cannot reach Modal: {text}"
    return f"the Modal export could not start: {text}"


class _Poll:
    """One job followed by this process."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.cancel = threading.Event()
        self.finished = threading.Event()
        self.client: Any = None


class ModalBackend:
    """Runs Modal jobs on background threads. ``client``: a ModalClient (or a fake); default:
    ``connect_modal(library)`` per job. ``presigner``: default from the registered factory."""

    def __init__(self, *, client: ModalClient | Any | None = None,
                 connect: Callable[[Library], Any] | None = None,
                 presigner: Presigner | None = None, poll_s: float = 1.0,
                 chunk_s: float = MAX_CHUNK_S, max_containers: int = MAX_CONTAINERS,
                 reconnect_s: float = 15.0) -> None:
        self._jobs: JobStore | None = None
        self._client = client
        self._connect = connect or connect_modal
        self._presigner = presigner
        self._poll_s = poll_s
        self._chunk_s = chunk_s
        self._max_containers = max_containers
        self._reconnect_s = reconnect_s
        self._polls: dict[str, _Poll] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def bind(self, jobs: JobStore) -> None:
        self._jobs = jobs

    @property
    def jobs(self) -> JobStore:
        assert self._jobs is not None, "ModalBackend is not bound to a job store"
        return self._jobs

    # -- API used by the job store (ExportJobs) -----------------------------------------------
    def start(self, uid: str) -> None:
        self._thread(uid, self._run_new)

    def reattach(self, uid: str) -> None:
        self._thread(uid, self._run_reattached)

    def owns(self, uid: str) -> bool:
        with self._lock:
            return uid in self._polls

    def cancel(self, uid: str, timeout: float = 15.0) -> bool:
        """Cancel the remote call. Ours: the poller does it; else a helper thread (bounded wait:
        a call without network can hang)."""
        with self._lock:
            poll = self._polls.get(uid)
        if poll is not None:
            poll.cancel.set()
            poll.finished.wait(timeout)
            return True
        job = self.jobs.get(uid)
        if job.modal_call_id:
            # Pending until Modal confirms: a cancel made offline is sent on the next connection.
            self.jobs.set_cancel_pending(uid, True)
            t = threading.Thread(target=self._cancel_remote, args=(uid, job.modal_call_id),
                                 name=f"modal-cancel-{uid[:8]}", daemon=True)
            t.start()
            t.join(timeout)
        return True

    def send_pending_cancels(self, client: Any = None) -> list[str]:
        """Cancel on Modal the jobs cancelled while it could not be reached; returns those sent."""
        sent = []
        for job in self.jobs.list():
            if job.cancel_pending and job.modal_call_id and job.state is JobState.CANCELLED:
                if self._cancel_remote(job.uid, job.modal_call_id, client):
                    sent.append(job.uid)
        return sent

    def send_pending_cancels_soon(self) -> None:
        """``send_pending_cancels`` on a thread (connecting can hang without network)."""
        threading.Thread(target=self._send_quietly, name="modal-pending-cancels", daemon=True).start()

    def _send_quietly(self, client: Any = None) -> None:
        try:
            self.send_pending_cancels(client)
        except Exception:  # offline again, or not configured: the next connection tries again
            log.info("pending Modal cancels not sent yet", exc_info=True)

    def close(self, timeout: float = 10.0) -> None:
        """Stop polling; remote renders go on and are re-attached at the next start."""
        self._closing.set()
        with self._lock:
            polls = list(self._polls.values())
        deadline = time.monotonic() + timeout
        for poll in polls:
            poll.finished.wait(max(0.0, deadline - time.monotonic()))

    # -- threads ------------------------------------------------------------------------------
    def _thread(self, uid: str, target: Callable[[_Poll], None]) -> None:
        with self._lock:
            if uid in self._polls:
                return
            poll = self._polls[uid] = _Poll(uid)

        def body() -> None:
            try:
                target(poll)
            except Exception as exc:  # never leave a job "running" because of a bug here
                log.exception("export job %s: unexpected error in the Modal backend", uid)
                self.jobs.fail(uid, f"unexpected error in the Modal backend: {_one_line(exc)}")
            finally:
                if poll.client is not None and self.jobs.get(uid).state.finished:
                    self._forget_progress(poll.client, uid)
                with self._lock:
                    self._polls.pop(uid, None)
                poll.finished.set()

        threading.Thread(target=body, name=f"export-modal-{uid[:8]}", daemon=True).start()

    def _client_for_job(self, poll: _Poll | None = None) -> Any:
        client = self._client if self._client is not None else self._connect(self.jobs.library)
        if poll is not None:
            poll.client = client
            self._send_quietly(client)  # connected again: cancels made offline go out now
        return client

    @staticmethod
    def _forget_progress(client: Any, uid: str) -> None:
        try:
            client.dict(PROGRESS_DICT).pop(uid)
        except Exception:  # absent, or offline: entries are small
            log.debug("export job %s: progress entry not removed", uid, exc_info=True)

    def _presigner_for_job(self) -> Presigner:
        presigner = self._presigner
        if presigner is None and _presigner_factory is not None:
            presigner = _presigner_factory(self.jobs.library)
        if presigner is None:
            raise ModalNotConfigured(
                "Modal exports move files through the R2 remote, and none is set up: "
                "run 'reeldesk remote set' (or Settings > Sync) first")
        return presigner

    def _run_new(self, poll: _Poll) -> None:
        jobs, uid = self.jobs, poll.uid
        if not jobs.claim(uid, stage="connecting to Modal"):
            return
        try:
            client = self._client_for_job(poll)
            presigner = self._presigner_for_job()
        except (ModalNotConfigured, ModalUnreachable) as exc:
            jobs.fail(uid, str(exc))
            return
        secrets = tuple(getattr(client, "secrets", ()) or ())
        job = jobs.get(uid)
        spec = job.spec
        try:
            urls: dict[str, str] = {}
            hashes = list(dict.fromkeys(c.media_hash for c in spec.clips))
            for i, media_hash in enumerate(hashes, 1):
                if poll.cancel.is_set() or not jobs.set_fields(
                        uid, stage=f"uploading sources ({i} of {len(hashes)})"):
                    return self._abandon(poll, None, client)
                urls[media_hash] = presigner.media_url(media_hash, jobs.library.media_path(media_hash))
            key, put_url = presigner.output_url(uid)
        except Exception as exc:  # noqa: BLE001 - any store problem fails the job, retryable
            jobs.fail(uid, f"cannot prepare the sources for Modal: {_one_line(exc)}")
            return
        if poll.cancel.is_set() or not jobs.set_fields(uid, stage="starting on Modal", r2_key=key):
            return self._abandon(poll, None, client)
        try:
            call = client.function(APP_NAME, ORCHESTRATOR).spawn(
                uid, job.spec_json, urls, put_url, self._chunk_s, self._max_containers)
            call_id = str(call.object_id)
        except Exception as exc:  # noqa: BLE001 - classified into a clear message
            jobs.fail(uid, _start_message(exc, secrets))
            return
        log.info("export job %s: Modal call %s", uid, call_id)
        if not jobs.set_fields(uid, modal_call_id=call_id, stage="waiting for a GPU"):
            return self._abandon(poll, call_id, client)
        self._follow(poll, client, call_id, key, presigner)

    def _run_reattached(self, poll: _Poll) -> None:
        jobs, uid = self.jobs, poll.uid
        while True:  # the remote render goes on meanwhile: keep trying, never fail for this
            job = jobs.get(uid)
            if job.state.finished or not job.modal_call_id:
                return
            try:
                client = self._client_for_job(poll)
                presigner = self._presigner_for_job()
                break
            except (ModalNotConfigured, ModalUnreachable) as exc:
                jobs.set_fields(uid, stage=f"waiting for Modal ({exc})")
                if poll.cancel.wait(self._reconnect_s) or self._closing.is_set():
                    if poll.cancel.is_set() and not self._cancel_remote(uid, job.modal_call_id):
                        self.jobs.set_cancel_pending(uid, True)
                    return
        log.info("export job %s: re-attached to Modal call %s", uid, job.modal_call_id)
        key = job.r2_key or f"renders/{uid}.mp4"
        self._follow(poll, client, job.modal_call_id, key, presigner)

    def _follow(self, poll: _Poll, client: Any, call_id: str, key: str,
                presigner: Presigner) -> None:
        jobs, uid = self.jobs, poll.uid
        secrets = tuple(getattr(client, "secrets", ()) or ())
        call = client.call(call_id)
        progress = None
        failures = 0
        while True:
            if self._closing.is_set():
                return  # keeps running remotely; re-attached at the next start
            if poll.cancel.is_set() or jobs.get(uid).state.finished:
                return self._abandon(poll, call_id, client, call)
            try:
                result = call.get(timeout=0)
            except BaseException as exc:
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                if _is_pending(exc):
                    failures = 0
                elif _is_transient(exc):
                    failures += 1
                    jobs.set_fields(uid, stage="waiting for Modal (connection lost, retrying)")
                else:
                    return self._remote_failed(poll, exc, secrets, key, presigner)
            else:
                return self._finish(poll, key, presigner, result)
            try:
                if progress is None:
                    progress = client.dict(PROGRESS_DICT)
                self._apply_progress(uid, progress.get(uid))
            except Exception:
                log.debug("export job %s: progress read failed", uid, exc_info=True)
            delay = self._poll_s * min(2 ** failures, 30)
            if poll.cancel.wait(delay):
                continue

    def _apply_progress(self, uid: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        state = {"preparing": JobState.PREPARING, "rendering": JobState.RENDERING,
                 "finishing": JobState.FINISHING}.get(str(data.get("state")))
        fraction = data.get("fraction")
        text = data.get("stage") or (state.value if state else None)
        eta = data.get("eta_s")
        self.jobs.report(uid, state=state,
                         fraction=float(fraction) if isinstance(fraction, (int, float)) else None,
                         stage=f"{text} (Modal GPU)" if text else None,
                         eta_s=float(eta) if isinstance(eta, (int, float)) else None)

    def _remote_failed(self, poll: _Poll, exc: BaseException, secrets: tuple[str, ...],
                       key: str, presigner: Presigner) -> None:
        errors = _modal_errors()
        uid = poll.uid
        expired = errors.get("OutputExpiredError")
        if expired and isinstance(exc, expired):
            # The result is gone from Modal but the render may be in R2: try to fetch it.
            try:
                return self._finish(poll, key, presigner, {})
            except Exception:  # noqa: BLE001
                self.jobs.fail(uid, "Modal no longer has this render's result; retry the export")
                return
        if self.jobs.get(uid).state is JobState.CANCELLED:
            return
        cancelled = errors.get("InputCancellation")
        if cancelled and isinstance(exc, cancelled):
            self.jobs.fail(uid, "the Modal render was cancelled on Modal")
            return
        self.jobs.fail(uid, f"the Modal render failed: {redact(_one_line(exc), secrets)}")

    def _finish(self, poll: _Poll, key: str, presigner: Presigner, result: Any) -> None:
        from core.export.job_files import remove_quietly
        from core.export.worker import probe

        jobs, uid = self.jobs, poll.uid
        if not jobs.report(uid, state=JobState.FINISHING, fraction=0.99,
                           stage="downloading the render"):
            return
        job = jobs.get(uid)
        staged = jobs.staging_path(job)
        try:
            presigner.download(key, staged)
            info = probe(staged)
        except Exception as exc:  # noqa: BLE001 - the render stays in R2: a retry re-renders
            remove_quietly(staged)
            jobs.fail(uid, f"cannot download the render from R2: {_one_line(exc)}")
            return
        if poll.cancel.is_set():
            remove_quietly(staged)
            return
        try:
            jobs.finalize(uid, staged, r2_key=key, **info)
        except OSError as exc:
            remove_quietly(staged)
            jobs.fail(uid, f"cannot save the export: {exc}")

    def _abandon(self, poll: _Poll, call_id: str | None, client: Any, call: Any = None) -> None:
        """The job was cancelled: stop the remote work (if any), leave nothing behind."""
        if call_id:
            try:
                (call or client.call(call_id)).cancel()
            except Exception:
                log.warning("export job %s: cancelling Modal call %s failed; sent when Modal "
                            "answers again", poll.uid, call_id, exc_info=True)
                self.jobs.set_cancel_pending(poll.uid, True)
        job = self.jobs.get(poll.uid)
        self.jobs.sweep(job)

    def _cancel_remote(self, uid: str, call_id: str, client: Any = None) -> bool:
        """Cancel a call; True (and the job no longer pending) when Modal took it."""
        try:
            (client or self._client_for_job()).call(call_id).cancel()
        except Exception:
            log.warning("cancelling Modal call %s failed; sent when Modal answers again", call_id,
                        exc_info=True)
            return False
        self.jobs.set_cancel_pending(uid, False)
        log.info("export job %s: Modal call %s cancelled", uid, call_id)
        return True
