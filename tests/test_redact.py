"""One secret redactor: a secret never reaches the log file, the console, text shown to the user or
an export job row, whatever shape it comes in (known value, presigned URL, header, token)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import redact as redact_module
from core.export.jobs import ExportJobs
from core.library import Library
from core.redact import error_text, redact, remember
from desktop.logging_setup import setup_logging
from desktop.ui.workers import user_message
from sync.credentials import get_secret, store_secret
from sync.runtime import sanitize_error
from tests.test_export_jobs import FAST, seed_reel
from tests.fixtures.media import make_video

R2_SECRET = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY0123456789abcdef0123456789ab"
MODAL_SECRET = "as-Zq9TQb8mR2kLw7Xy4vN1pHs"
PRESIGNED = ("https://acc.r2.cloudflarestorage.com/bucket/renders/job.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIDEXAMPLE%2F20261129%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=20261129T120000Z"
             "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b")
SIGNATURE = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b"
AUTH_HEADER = ("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/auto/s3/aws4_request, "
               "SignedHeaders=host, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7")
LEAKS = (R2_SECRET, MODAL_SECRET, SIGNATURE, "AKIDEXAMPLE", "5d672d79c15b13162d9279b0855cfba6")


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    redact_module.forget_all()
    yield
    redact_module.forget_all()


def assert_clean(text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked into: {text}"


def test_every_secret_shape_is_masked_and_ordinary_text_is_kept() -> None:
    remember(R2_SECRET)
    blake3 = "ab" * 32  # media hashes look like keys but are not secrets: logs need them
    text = redact(f"PUT failed with {R2_SECRET} for {PRESIGNED}; {AUTH_HEADER}\n"
                  f"modal token {MODAL_SECRET}, headers {{'Authorization': 'Bearer abc.def.ghi'}} "
                  f"aws_secret_access_key={R2_SECRET[:20]}xyz media {blake3}")
    assert_clean(text)
    assert "abc.def.ghi" not in text and R2_SECRET[:20] not in text
    assert "X-Amz-Signature=***" in text and "Authorization: AWS4-HMAC-SHA256 ***" in text
    assert blake3 in text and "renders/job.mp4" in text and "X-Amz-Expires=3600" in text
    assert redact("no secrets here: 12 clips, 3 reels") == "no secrets here: 12 clips, 3 reels"
    assert redact("short a", extra=["a"]) == "short a"  # a one-letter "secret" cannot mangle text


def test_secrets_are_known_once_read_from_the_keyring_or_stored() -> None:
    store_secret("key-id-1", R2_SECRET)
    redact_module.forget_all()
    assert R2_SECRET in redact(R2_SECRET)
    assert get_secret("key-id-1") == R2_SECRET  # reading it registers it
    assert redact(f"x {R2_SECRET} y") == "x *** y"


def test_a_secret_in_a_log_record_never_reaches_the_log_file_or_console(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    remember(R2_SECRET, MODAL_SECRET)
    log = logging.getLogger("reeldesk.test.redact")  # a child logger: handler filters must see it
    with setup_logging(tmp_path) as session:
        log.warning("upload to %s failed: %s", PRESIGNED, R2_SECRET)
        log.error("request %s", AUTH_HEADER)
        try:
            raise RuntimeError(f"modal said no to {MODAL_SECRET}")
        except RuntimeError:
            log.exception("render failed for %s", "job-1")
        log.info("stack", stack_info=True, extra={"ignored": R2_SECRET})
        assert session.log_file is not None
        log_file = session.log_file
    written = log_file.read_text(encoding="utf-8")
    assert "upload to" in written and "RuntimeError: modal said no to ***" in written
    assert "render failed for job-1" in written and "Traceback" in written
    assert_clean(written)
    console = capsys.readouterr().err
    assert "upload to" in console
    assert_clean(console)


def test_an_exception_message_shown_to_the_user_is_redacted() -> None:
    remember(R2_SECRET)
    exc = ValueError(f"the bucket refused {R2_SECRET} at {PRESIGNED}")
    shown = user_message(exc)
    assert shown.startswith("the bucket refused ***")
    assert_clean(shown)
    assert_clean(error_text(RuntimeError(AUTH_HEADER)))
    assert error_text(RuntimeError()) == "RuntimeError"
    assert_clean(sanitize_error(OSError(f"boom {MODAL_SECRET}\n{PRESIGNED}")))


def test_a_job_message_stored_for_an_export_job_is_redacted(library: Library, tmp_path: Path) -> None:
    remember(MODAL_SECRET)
    source = make_video(tmp_path / "game.mp4", seconds=1.0)
    project = seed_reel(library, source, seconds=1.0)
    jobs = ExportJobs(library)
    try:
        uid = jobs.create(project, start=False, **FAST)
        assert jobs.claim(uid)
        assert jobs.fail(uid, f"the Modal render failed: token {MODAL_SECRET} uploading {PRESIGNED}")
        stored = jobs.get(uid).error
    finally:
        jobs.close()
    assert stored is not None and stored.startswith("the Modal render failed: token ***")
    assert_clean(stored)
