"""Remote object store interface shared by R2/S3 (`S3Store`) and plain folders (`FolderStore`).

Keys are '/'-separated relative paths (docs/ARCHITECTURE.md, "Sync"). Every failure surfaces as a
`StoreError` subclass so the sync runtime can decide between "back off and retry"
(`StoreUnavailable`), "report" (`AccessDenied`, plain `StoreError`) and protocol outcomes
(`NotFound`, `AlreadyExists`, `PreconditionFailed`). Messages never contain credentials.

Multipart uploads are orchestrated here once; stores implement only the `_mp_*` primitives.
"""
from __future__ import annotations

import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_log = logging.getLogger(__name__)

MiB = 1024 * 1024
# Small parts: an interrupted upload keeps every finished part, so with 3 in flight at most
# ~15 MiB is sent again, and a slow uplink finishes (and persists) a part every few seconds.
DEFAULT_PART_SIZE = 5 * MiB
DEFAULT_MAX_CONCURRENCY = 3
# S3 refuses parts below 5 MiB (except the last); R2 follows S3.
S3_MIN_PART_SIZE = 5 * MiB

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of every store failure. `key` is the store-relative key when one applies."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class NotFound(StoreError):
    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"object not found: {key!r}", key=key)


class UploadNotFound(NotFound):
    """The multipart upload id is unknown to the store (aborted, completed, expired)."""


class AlreadyExists(StoreError):
    """Create-only write hit an existing object (S3 412, or R2's 409 while a racing
    conditional write is in flight: the caller may then read back NotFound and should retry)."""

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"object already exists: {key!r}", key=key)


class PreconditionFailed(StoreError):
    """`put_if_match` lost the race: the object changed (or appeared/vanished) since read."""

    def __init__(self, key: str, message: str | None = None) -> None:
        super().__init__(message or f"precondition failed for {key!r}", key=key)


class StoreUnavailable(StoreError):
    """Endpoint/folder unreachable: connection refused, timeouts, 5xx after retries,
    unmounted share. Transient by assumption: back off and retry."""


class AccessDenied(StoreError):
    """Credentials rejected or no permission (401/403). Not transient: needs the user."""


class BucketMissing(StoreError):
    """The bucket does not exist (a typo in its name, or it was deleted). Needs the user."""


class Cancelled(StoreError):
    """A transfer stopped because its `cancelled()` callback said so. For uploads the last
    `on_state` snapshot is valid for resuming."""

    def __init__(self, key: str) -> None:
        super().__init__(f"transfer cancelled: {key!r}", key=key)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str


@dataclass(frozen=True)
class CompletedPart:
    number: int  # 1-based, as in S3
    etag: str


@dataclass
class MultipartState:
    """Resumable multipart upload, persisted by the caller after every `on_state` call.

    `key` and `size` let a resume detect that the state belongs to another object/file
    version and start over instead of completing a corrupt object.
    """

    key: str
    upload_id: str
    part_size: int
    size: int
    parts: list[CompletedPart] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultipartState:
        return cls(
            key=str(data["key"]),
            upload_id=str(data["upload_id"]),
            part_size=int(data["part_size"]),
            size=int(data["size"]),
            parts=[CompletedPart(int(p["number"]), str(p["etag"])) for p in data.get("parts", [])],
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MultipartState:
        return cls.from_dict(json.loads(text))

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def part_length(self, number: int) -> int:
        return min(self.part_size, self.size - (number - 1) * self.part_size)


# --------------------------------------------------------------------------- interface


class RemoteStore(ABC):
    """Object store with create-only and compare-and-swap writes plus resumable media transfer."""

    part_size: int = DEFAULT_PART_SIZE
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY

    # ---- small objects

    @abstractmethod
    def put_create_only(self, key: str, data: bytes) -> None:
        """Write `key` only if absent; raise `AlreadyExists(key)` otherwise. Atomic.

        AlreadyExists can also mean an earlier attempt of this same write landed but its
        response was lost (client retry): callers compare the stored content to decide."""

    @abstractmethod
    def put(self, key: str, data: bytes) -> str:
        """Unconditional write; returns the new etag."""

    @abstractmethod
    def get_with_etag(self, key: str, limit: int | None = None) -> tuple[bytes, str]:
        """Content and etag read in one request (consistent pair); `NotFound` if absent. With `limit`,
        at most `limit + 1` bytes are read (more than `limit` means the object is too large): bucket
        content is untrusted, so no read may fill memory."""

    def get(self, key: str, limit: int | None = None) -> bytes:
        return self.get_with_etag(key, limit)[0]

    @abstractmethod
    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        """Compare-and-swap: write only if the current etag is `etag` (None: only if absent).
        Returns the new etag; raises `PreconditionFailed` otherwise."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size and etag, or None when absent."""

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    @abstractmethod
    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        """Keys under `prefix` strictly after `start_after`, in lexicographic (code point /
        UTF-8 byte) order. Lazy; errors may surface while iterating."""

    def list_etags(self, prefix: str) -> Iterator[tuple[str, str]]:
        """Keys under `prefix` with their etags (a HEAD per key unless the store's listing has them)."""
        for key in self.list_keys(prefix):
            info = self.head(key)
            if info is not None:
                yield key, info.etag

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; absent keys are not an error (S3 semantics)."""

    # ---- media

    @abstractmethod
    def download_file(
        self,
        key: str,
        dest: Path,
        *,
        progress: ProgressFn | None = None,
        cancelled: CancelledFn | None = None,
    ) -> None:
        """Stream to a temp file next to `dest`, then `os.replace` it into place; a failed or
        cancelled download leaves `dest` untouched."""

    @abstractmethod
    def presign_get(self, key: str, expires_s: int) -> str: ...

    @abstractmethod
    def presign_put(self, key: str, expires_s: int) -> str: ...

    # ---- multipart primitives (implemented per store)

    @abstractmethod
    def _mp_create(self, key: str) -> str:
        """Start a multipart upload; return its id."""

    @abstractmethod
    def _mp_upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Upload one part; return its etag. `UploadNotFound` if the id vanished."""

    @abstractmethod
    def _mp_list_parts(self, key: str, upload_id: str) -> dict[int, ObjectInfo]:
        """Parts the store holds for this upload; `UploadNotFound` if the id vanished."""

    @abstractmethod
    def _mp_complete(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None: ...

    @abstractmethod
    def _mp_abort(self, key: str, upload_id: str) -> None: ...

    def _existing_size(self, key: str) -> int | None:
        """Size of `key` if present; stores may make this cheaper."""
        info = self.head(key)
        return None if info is None else info.size

    @abstractmethod
    def etags_of(self, path: Path) -> set[str]:
        """Every etag this store can give an intact copy of `path` (one read of the file)."""

    def holds_copy(self, key: str, path: Path, expected: set[str] | None = None) -> bool:
        """Whether `key` holds exactly the bytes of `path`, judged by its etag (a HEAD), not its size.
        `expected`: `etags_of(path)` when the caller has it cached."""
        info = self.head(key)
        if info is None or info.size != os.stat(path).st_size:
            return False
        return info.etag in (expected if expected is not None else self.etags_of(path))

    # ---- upload orchestration

    def abort_upload(self, state: MultipartState) -> None:
        """Best-effort discard of an unfinished upload's parts (e.g. media deleted locally)."""
        try:
            self._mp_abort(state.key, state.upload_id)
        except NotFound:
            pass

    def upload_file(
        self,
        key: str,
        path: Path,
        *,
        state: MultipartState | None,
        on_state: Callable[[MultipartState], None],
        progress: ProgressFn | None = None,
        cancelled: CancelledFn | None = None,
    ) -> None:
        """Upload `path` to `key`, resumably.

        Skipped when `key` already holds these exact bytes (`holds_copy`); a corrupted or
        truncated object is replaced. Files up to `part_size` go in one PUT. Larger files use multipart
        with up to `max_concurrency` parts in flight; `on_state` receives a fresh snapshot
        (on the calling thread) after the upload is created and after every finished part —
        persist it and pass it back as `state` to resume. Resume lists the parts the store
        holds and re-uploads only the missing ones; if the upload id vanished it starts over.
        Returns normally once the object is complete (the caller then drops its state);
        raises `Cancelled` (in-flight parts are finished and recorded first) or a `StoreError`.
        """
        size = os.stat(path).st_size
        if state is None and self.holds_copy(key, path):
            _log.debug("upload of %s skipped: already present (%d bytes)", key, size)
            if progress:
                progress(size, size)
            return
        if state is None and size <= self.part_size:
            if cancelled and cancelled():
                raise Cancelled(key)
            with open(path, "rb") as f:
                data = f.read()
            self.put(key, data)
            if progress:
                progress(size, size)
            return

        # One restart at most: an upload id can vanish (aborted by lifecycle rules) mid-way.
        for attempt in range(2):
            state = self._prepare_upload(key, size, state, on_state)
            try:
                self._upload_parts(path, state, on_state, progress, cancelled)
                parts = sorted(state.parts, key=lambda p: p.number)
                self._mp_complete(key, state.upload_id, parts)
                _log.debug("multipart upload of %s complete (%d parts)", key, len(parts))
                return
            except UploadNotFound:
                if attempt:
                    raise
                _log.info("multipart upload of %s vanished; starting over", key)
                state = None
        raise AssertionError("unreachable")

    def _prepare_upload(
        self,
        key: str,
        size: int,
        state: MultipartState | None,
        on_state: Callable[[MultipartState], None],
    ) -> MultipartState:
        if state is not None and (state.key != key or state.size != size or state.part_size <= 0):
            _log.info("stale upload state for %s (different object or file); starting over", key)
            self.abort_upload(state)
            state = None
        if state is not None:
            try:
                held = self._mp_list_parts(key, state.upload_id)
            except UploadNotFound:
                _log.info("upload id for %s no longer exists; starting over", key)
                state = None
            else:
                recorded = {p.number: p.etag for p in state.parts}
                verified: list[CompletedPart] = []
                for number, info in sorted(held.items()):
                    if number > state.part_count or info.size != state.part_length(number):
                        continue  # truncated/foreign part: upload again
                    if number in recorded and recorded[number] != info.etag:
                        continue
                    # A part the store holds but our state lacks is a crash between the part
                    # finishing and the caller persisting: same file, so keep it.
                    verified.append(CompletedPart(number, info.etag))
                state.parts = verified
                _log.debug("resuming upload of %s: %d/%d parts held", key, len(verified), state.part_count)
        if state is None:
            upload_id = self._mp_create(key)
            state = MultipartState(key=key, upload_id=upload_id, part_size=self.part_size, size=size)
            _log.debug("started multipart upload of %s (%d parts)", key, state.part_count)
        on_state(_copy_state(state))
        return state

    def _upload_parts(
        self,
        path: Path,
        state: MultipartState,
        on_state: Callable[[MultipartState], None],
        progress: ProgressFn | None,
        cancelled: CancelledFn | None,
    ) -> None:
        done = {p.number for p in state.parts}
        todo = [n for n in range(1, state.part_count + 1) if n not in done]
        sent = sum(state.part_length(n) for n in done)
        if progress:
            progress(sent, state.size)
        if not todo:
            return

        def send(number: int) -> tuple[int, str]:
            offset = (number - 1) * state.part_size
            # Each worker opens its own handle and closes it at once (Windows-friendly).
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(state.part_length(number))
            if len(data) != state.part_length(number):
                raise StoreError(f"file changed during upload of {state.key!r}", key=state.key)
            return number, self._mp_upload_part(state.key, state.upload_id, number, data)

        error: BaseException | None = None
        stop = False
        pending: set[Future[tuple[int, str]]] = set()
        queue = iter(todo)
        with ThreadPoolExecutor(max_workers=max(1, self.max_concurrency), thread_name_prefix="store-part") as pool:
            while True:
                # Schedule lazily so cancellation stops new parts promptly.
                while not stop and len(pending) < max(1, self.max_concurrency):
                    if cancelled and cancelled():
                        stop = True
                        break
                    number = next(queue, None)
                    if number is None:
                        break
                    pending.add(pool.submit(send, number))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    try:
                        number, etag = fut.result()
                    except BaseException as exc:  # record, drain the others, then re-raise
                        if error is None:
                            error = exc
                        stop = True
                        continue
                    state.parts.append(CompletedPart(number, etag))
                    sent += state.part_length(number)
                    on_state(_copy_state(state))
                    if progress:
                        progress(sent, state.size)
        if error is not None:
            raise error
        if len(state.parts) < state.part_count:
            raise Cancelled(state.key)


def _copy_state(state: MultipartState) -> MultipartState:
    # Callers may keep the snapshot (or hand it to another thread) while we keep mutating ours.
    return MultipartState(state.key, state.upload_id, state.part_size, state.size, list(state.parts))

