"""`RemoteStore` on S3-compatible endpoints (Cloudflare R2 first, moto in tests) via boto3.

The secret access key is handed to boto3 once and never kept on this object, so `repr()`,
`vars()` and log lines cannot leak it; botocore errors are rewritten into our `StoreError`s
with messages we format ourselves (operation, key, error code, HTTP status — never the
server's free-text message, which may echo request details).
"""
from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import HTTPClientError, IncompleteReadError

from core.redact import redact, remember
from sync.store import (
    DEFAULT_PART_SIZE,
    S3_MIN_PART_SIZE,
    MiB,
    AccessDenied,
    AlreadyExists,
    BucketMissing,
    Cancelled,
    CancelledFn,
    CompletedPart,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    ProgressFn,
    RemoteStore,
    StoreError,
    StoreUnavailable,
    UploadNotFound,
)

_log = logging.getLogger(__name__)

_CHUNK = 1024 * 1024
_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}
_DENIED_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "Unauthorized",
    "Forbidden",
    "InvalidToken",
    "ExpiredToken",
}
_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "ServiceUnavailable", "InternalError", "RequestTimeTooSkewed"}
_CODE_RE = re.compile(r"[A-Za-z0-9.]{1,64}")


class S3Store(RemoteStore):
    def __init__(
        self,
        endpoint_url: str,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        *,
        prefix: str = "",
        region: str = "auto",
        max_concurrency: int = 3,
        # Sized so an endpoint that never answers is reported as offline within 15 s:
        # (retries + 1) x (connect + read) = worst_wait_s. Reads wait per socket read, not per object.
        connect_timeout: float = 3,
        read_timeout: float = 4.5,
        retries: int = 1,
        part_size: int = DEFAULT_PART_SIZE,
        list_page_size: int = 1000,
    ) -> None:
        if part_size < S3_MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {S3_MIN_PART_SIZE} bytes for S3")
        if not 1 <= list_page_size <= 1000:
            raise ValueError("list_page_size must be within 1..1000")
        self.endpoint_url = _strip_userinfo(endpoint_url)
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.region = region
        self.max_concurrency = max_concurrency
        self.part_size = part_size
        self.worst_wait_s = (retries + 1) * (connect_timeout + read_timeout)
        self.list_page_size = list_page_size
        self._key_id_hint = access_key_id[:4] + "…" if access_key_id else ""
        # Scrubbing is defence in depth for text we format; the closure keeps the secret off
        # the instance dict (no attribute a repr/vars/debugger dump would print).
        remember(secret_access_key)
        config = Config(
            region_name=region,
            signature_version="s3v4",
            # R2 rejects/ignores the newer default CRC checksums; only send when required.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": retries + 1, "mode": "standard"},
            max_pool_connections=max(10, max_concurrency * 2),
        )
        # Credentials go to this client only (explicit keys win over env/profile lookup).
        with _SESSION_LOCK:
            self._client = _shared_session().client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                config=config,
            )

    def __repr__(self) -> str:
        return (
            f"S3Store(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r}, "
            f"prefix={self.prefix!r}, access_key_id={self._key_id_hint!r})"
        )

    __str__ = __repr__

    # ---------------------------------------------------------------- helpers

    def _k(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise ValueError(f"invalid key {key!r}")
        return self.prefix + key

    def _call(self, op: str, key: str | None, **params: Any) -> Any:
        try:
            return getattr(self._client, op)(Bucket=self.bucket, **params)
        except (BotoCoreError, ClientError) as exc:
            self._raise(exc, op, key)

    def _raise(self, exc: Exception, op: str, key: str | None) -> NoReturn:
        err = self._translate(exc, op, key)
        _log.debug("%s", err)
        # `from None`: the botocore exception (and its server message) must not ride along
        # in tracebacks that end up in logs.
        raise err from None

    def _translate(self, exc: Exception, op: str, key: str | None) -> StoreError:
        where = f"{op} {key!r}" if key is not None else op
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {}) or {}
            raw_code = str(error.get("Code", ""))
            code = raw_code if _CODE_RE.fullmatch(raw_code) else "?"
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            text = redact(f"{where}: {code} (HTTP {status})")
            if code == "NoSuchUpload":
                return UploadNotFound(key or "", text)
            if code in _NOT_FOUND_CODES:
                return NotFound(key or "", text)
            if code in _PRECONDITION_CODES or status == 412:
                return PreconditionFailed(key or "", text)
            if code in _DENIED_CODES or status in (401, 403):
                return AccessDenied(text, key=key)
            if code in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
                return StoreUnavailable(text, key=key)
            if code == "NoSuchBucket":
                return BucketMissing(redact(f"{where}: bucket {self.bucket!r} does not exist"), key=key)
            return StoreError(text, key=key)
        # Builtin ConnectionError/TimeoutError: a body stream dropped after the headers came.
        if isinstance(exc, (BotoConnectionError, HTTPClientError, IncompleteReadError, ConnectionError, TimeoutError)):
            return StoreUnavailable(f"{where}: endpoint unreachable ({type(exc).__name__})", key=key)
        return StoreError(f"{where}: {type(exc).__name__}", key=key)

    # ---------------------------------------------------------------- set-up

    def ensure_bucket(self) -> None:
        """Create the bucket if missing (tests, first set-up)."""
        try:
            self._client.create_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                return
            if code != "IllegalLocationConstraintException":
                self._raise(exc, "create_bucket", None)
        except BotoCoreError as exc:
            self._raise(exc, "create_bucket", None)
        # Plain S3 (and moto) want the region spelled out outside us-east-1; R2 does not.
        try:
            self._client.create_bucket(
                Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                self._raise(exc, "create_bucket", None)
        except BotoCoreError as exc:
            self._raise(exc, "create_bucket", None)

    # ---------------------------------------------------------------- small objects

    def put_create_only(self, key: str, data: bytes) -> None:
        try:
            self._call("put_object", key, Key=self._k(key), Body=data, IfNoneMatch="*")
        except PreconditionFailed as exc:
            raise AlreadyExists(key, str(exc)) from None

    def put(self, key: str, data: bytes) -> str:
        resp = self._call("put_object", key, Key=self._k(key), Body=data)
        return _etag(resp)

    def get_with_etag(self, key: str, limit: int | None = None) -> tuple[bytes, str]:
        resp = self._call("get_object", key, Key=self._k(key))
        body = resp["Body"]
        try:
            # A whole read verifies Content-Length; a bounded one stops early (the caller refuses it).
            data = body.read() if limit is None else body.read(limit + 1)
        except (BotoCoreError, OSError) as exc:
            self._raise(exc, "get_object", key)
        finally:
            body.close()
        return data, _etag(resp)

    def put_if_match(self, key: str, data: bytes, etag: str | None) -> str:
        cond = {"IfNoneMatch": "*"} if etag is None else {"IfMatch": f'"{etag.strip(chr(34))}"'}
        try:
            resp = self._call("put_object", key, Key=self._k(key), Body=data, **cond)
        except NotFound as exc:
            # If-Match on a vanished object: some stores answer 404 rather than 412.
            raise PreconditionFailed(key, str(exc)) from None
        return _etag(resp)

    def etags_of(self, path: Path) -> set[str]:
        # Part sizes this and earlier ReelDesk versions upload with.
        return s3_etags(path, {self.part_size, S3_MIN_PART_SIZE, 8 * MiB})

    def head(self, key: str) -> ObjectInfo | None:
        try:
            resp = self._call("head_object", key, Key=self._k(key))
        except NotFound:
            return None
        return ObjectInfo(size=int(resp["ContentLength"]), etag=_etag(resp))

    def list_keys(self, prefix: str, start_after: str | None = None) -> Iterator[str]:
        return (key for key, _etag in self._list(prefix, start_after))

    def list_etags(self, prefix: str) -> Iterator[tuple[str, str]]:
        return self._list(prefix, None)  # a listing carries each object's etag: no HEADs

    def _list(self, prefix: str, start_after: str | None) -> Iterator[tuple[str, str]]:
        params: dict[str, Any] = {"Prefix": self.prefix + prefix, "MaxKeys": self.list_page_size}
        if start_after is not None:
            params["StartAfter"] = self.prefix + start_after
        cut = len(self.prefix)
        while True:
            resp = self._call("list_objects_v2", prefix, **params)
            for item in resp.get("Contents", []):
                yield item["Key"][cut:], _etag(item)
            token = resp.get("NextContinuationToken")
            if not resp.get("IsTruncated") or not token:
                return
            params["ContinuationToken"] = token
            params.pop("StartAfter", None)

    def delete(self, key: str) -> None:
        self._call("delete_object", key, Key=self._k(key))

    # ---------------------------------------------------------------- media

    def download_file(
        self,
        key: str,
        dest: Path,
        *,
        progress: ProgressFn | None = None,
        cancelled: CancelledFn | None = None,
    ) -> None:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        resp = self._call("get_object", key, Key=self._k(key))
        total = int(resp.get("ContentLength", 0))
        tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
        done = 0
        body = resp["Body"]
        try:
            # Not `with body`: StreamingBody.__enter__ hands out the raw urllib3 stream.
            with open(tmp, "wb") as out:
                for chunk in body.iter_chunks(_CHUNK):
                    if cancelled and cancelled():
                        raise Cancelled(key)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
            if progress and total == 0:
                progress(0, 0)
            if done != total:
                raise StoreUnavailable(f"get_object {key!r}: truncated ({done}/{total} bytes)", key=key)
            os.replace(tmp, dest)
        except (BotoCoreError, OSError) as exc:
            _unlink_quiet(tmp)
            if isinstance(exc, OSError) and not _is_stream_error(exc):
                raise  # local disk problem: not the store's fault
            self._raise(exc, "get_object", key)
        except BaseException:
            _unlink_quiet(tmp)
            raise
        finally:
            body.close()

    def presign_get(self, key: str, expires_s: int) -> str:
        return self._presign("get_object", key, expires_s)

    def presign_put(self, key: str, expires_s: int) -> str:
        return self._presign("put_object", key, expires_s)

    def _presign(self, op: str, key: str, expires_s: int) -> str:
        try:
            return str(
                self._client.generate_presigned_url(
                    op, Params={"Bucket": self.bucket, "Key": self._k(key)}, ExpiresIn=int(expires_s)
                )
            )
        except (BotoCoreError, ClientError) as exc:
            self._raise(exc, f"presign {op}", key)

    # ---------------------------------------------------------------- multipart primitives

    def _mp_create(self, key: str) -> str:
        return str(self._call("create_multipart_upload", key, Key=self._k(key))["UploadId"])

    def _mp_upload_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        resp = self._call(
            "upload_part", key, Key=self._k(key), UploadId=upload_id, PartNumber=number, Body=data
        )
        return _etag(resp)

    def _mp_list_parts(self, key: str, upload_id: str) -> dict[int, ObjectInfo]:
        parts: dict[int, ObjectInfo] = {}
        params: dict[str, Any] = {"Key": self._k(key), "UploadId": upload_id, "MaxParts": 1000}
        while True:
            resp = self._call("list_parts", key, **params)
            for p in resp.get("Parts", []):
                parts[int(p["PartNumber"])] = ObjectInfo(size=int(p["Size"]), etag=_etag(p))
            if not resp.get("IsTruncated"):
                return parts
            params["PartNumberMarker"] = resp["NextPartNumberMarker"]

    def _mp_complete(self, key: str, upload_id: str, parts: list[CompletedPart]) -> None:
        self._call(
            "complete_multipart_upload",
            key,
            Key=self._k(key),
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": f'"{p.etag}"'} for p in parts]},
        )

    def _mp_abort(self, key: str, upload_id: str) -> None:
        self._call("abort_multipart_upload", key, Key=self._k(key), UploadId=upload_id)


_SESSION_LOCK = threading.Lock()
_SESSION: boto3.session.Session | None = None


def _shared_session() -> boto3.session.Session:
    # One session for all stores: it caches parsed service models (~0.1 s per fresh session).
    # boto3 sessions are not thread-safe, hence the lock around client creation.
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def s3_etags(path: Path, part_sizes: Iterable[int]) -> set[str]:
    """The etags S3 (and R2) give `path` uploaded in one PUT (its MD5) or in parts of each size
    (MD5 of the parts' MD5s, "-N"), computed in one read of the file."""
    sizes = sorted({ps for ps in part_sizes if ps > 0})
    whole = hashlib.md5(usedforsecurity=False)
    parts: dict[int, list[bytes]] = {ps: [] for ps in sizes}
    current = {ps: hashlib.md5(usedforsecurity=False) for ps in sizes}
    filled = dict.fromkeys(sizes, 0)
    step = math.gcd(*sizes) if sizes else MiB
    with open(path, "rb") as f:
        while chunk := f.read(min(step, 4 * MiB)):
            whole.update(chunk)
            for ps in sizes:
                current[ps].update(chunk)
                filled[ps] += len(chunk)
                if filled[ps] == ps:
                    parts[ps].append(current[ps].digest())
                    current[ps], filled[ps] = hashlib.md5(usedforsecurity=False), 0
    out = {whole.hexdigest()}
    for ps in sizes:
        digests = parts[ps] + ([current[ps].digest()] if filled[ps] else [])
        if len(digests) > 1:  # a file of one part or less goes up in a single PUT
            out.add(f"{hashlib.md5(b''.join(digests), usedforsecurity=False).hexdigest()}-{len(digests)}")
    return out


def _etag(resp: dict[str, Any]) -> str:
    return str(resp.get("ETag", "")).strip('"')


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _is_stream_error(exc: OSError) -> bool:
    # urllib3/http.client surface a dropped body as ConnectionError/TimeoutError subclasses.
    return isinstance(exc, (ConnectionError, TimeoutError))


def _unlink_quiet(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
