"""``reeldesk remote set|show``, ``sync`` and ``doctor`` in-process through ``desktop.cli.main``,
against moto over HTTP; the secret-leak check over every output, the database and the log."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import keyring
import pytest

from desktop import cli_sync
from desktop.cli import main
from sync.credentials import ENV_SECRET, KEYRING_SERVICE
from sync.runtime import SyncThread
from tests.fixtures.library import FAKE_HASH, FAKE_INFO
from tests.fixtures.s3 import FlakyProxy, endpoint_down

Bucket = dict[str, Any]


class Cli:
    """Runs `reeldesk --library DIR ...` in-process and keeps every byte it printed."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.transcript: list[str] = []

    def __call__(self, root: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--library", str(root), *args])
        out, err = self.capsys.readouterr()
        self.transcript += [out, err]
        return code, out, err

    def json(self, root: Path, *args: str, code: int = 0, stdin: str | None = None) -> Any:
        got, out, err = self(root, "--json", *args, stdin=stdin)
        assert got == code, err
        return json.loads(out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(capsys, monkeypatch)


def remote_set(cli: Cli, root: Path, bucket: Bucket, endpoint: str | None = None, *extra: str) -> Any:
    return cli.json(root, "remote", "set", "--endpoint", endpoint or bucket["endpoint_url"], "--bucket",
                    bucket["bucket"], "--key-id", bucket["key_id"], "--secret-stdin", *extra,
                    stdin=bucket["secret"] + "\n")


def apply(cli: Cli, root: Path, kind: str, target: str | None, payload: dict[str, Any]) -> Any:
    return cli.json(root, "apply", json.dumps({"kind": kind, "target": target, "payload": payload}))


def start_project(cli: Cli, root: Path) -> tuple[str, str]:
    apply(cli, root, "import_media", FAKE_HASH, {"info": FAKE_INFO, "name": "game.mp4"})
    clip = cli.json(root, "mark", FAKE_HASH, "--start", "10", "--end", "16")["clip"]
    project = cli.json(root, "project", "create", "Final")["project"]
    wc = cli.json(root, "project", "add", project, clip)["working_clip"]
    return project, wc


# ------------------------------------------------------------------------------ done-when
def test_two_libraries_edited_alternately_and_offline_end_identical_after_sync_once(
        cli: Cli, tmp_path: Path, s3_bucket: Bucket, flaky_proxy: FlakyProxy) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    endpoint = flaky_proxy.endpoint_url
    set_a = remote_set(cli, a, s3_bucket, endpoint)
    assert set_a["joined"] is False and set_a["secret_stored"] is True
    project, wc = start_project(cli, a)
    first = cli.json(a, "sync", "--once")
    assert first["counts"]["pushed"] == 4 and first["status"]["state"] == "synced"

    set_b = remote_set(cli, b, s3_bucket, endpoint)
    assert set_b["joined"] is True and set_b["library_uid"] == set_a["library_uid"]
    assert cli.json(b, "sync", "--once")["counts"]["pulled"] == 4

    kf = {"time": 1.0, "x": 100.0, "y": 0.0, "width": 607.5, "height": 1080.0}
    with endpoint_down(flaky_proxy):  # both laptops offline: edits keep working, locally
        apply(cli, a, "add_crop_keyframe", wc, kf)
        apply(cli, b, "set_rotation", wc, {"degrees": 4.5})
        apply(cli, a, "rename_project", project, {"name": "Final (A)"})
        apply(cli, b, "rename_project", project, {"name": "Final (B)"})
        apply(cli, a, "split", wc, {"time": 2.0})
        apply(cli, b, "set_segment_speed", wc, {"time": 0.5, "speed": 0.5})
        cli.json(a, "undo", project)
        offline = cli.json(a, "sync", "--once", code=1)
        assert offline["status"]["state"] == "offline" and offline["status"]["pending"] == 4
    cli.json(a, "sync", "--once")
    cli.json(b, "sync", "--once")
    cli.json(a, "sync", "--once")
    show_a = cli(a, "show", project, "--json")
    show_b = cli(b, "show", project, "--json")
    assert show_a[0] == show_b[0] == 0
    assert show_a[1] == show_b[1]  # byte-identical canonical JSON
    assert cli.json(a, "conflicts") == cli.json(b, "conflicts") != []  # the concurrent renames
    for root in (a, b):
        status = cli.json(root, "sync", "--once")["status"]
        assert (status["state"], status["pending"], status["conflicts"]) == ("synced", 0, 1)


# ------------------------------------------------------------------------------ remote set / show
def test_remote_show_and_secret_sources(cli: Cli, tmp_path: Path, s3_bucket: Bucket,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    a = tmp_path / "A"
    assert cli.json(a, "remote", "show")["remote"] is None
    code, out, _err = cli(a, "remote", "show")
    assert code == 0 and "no remote set" in out
    remote_set(cli, a, s3_bucket)
    shown = cli.json(a, "remote", "show")
    assert shown["remote"]["bucket"] == s3_bucket["bucket"] and shown["secret"] == {
        "needed": True, "stored": True, "source": "keyring"}
    assert keyring.get_password(KEYRING_SERVICE, s3_bucket["key_id"]) == s3_bucket["secret"]
    code, out, _err = cli(a, "remote", "show")
    assert "stored in the OS keyring" in out and s3_bucket["key_id"] in out

    # headless: the secret comes from the environment and is not stored
    b = tmp_path / "B"
    keyring.delete_password(KEYRING_SERVICE, s3_bucket["key_id"])
    monkeypatch.setenv(ENV_SECRET, s3_bucket["secret"])
    result = cli.json(b, "remote", "set", "--endpoint", s3_bucket["endpoint_url"], "--bucket", s3_bucket["bucket"],
                      "--key-id", s3_bucket["key_id"], stdin="")
    assert result["joined"] is True and result["secret_stored"] is False
    assert keyring.get_password(KEYRING_SERVICE, s3_bucket["key_id"]) is None
    assert cli.json(b, "remote", "show")["secret"]["source"] == "env"
    assert cli.json(b, "sync", "--once")["status"]["state"] == "synced"
    monkeypatch.delenv(ENV_SECRET)
    code, _out, err = cli(b, "sync", "--once")
    assert code == 2 and "no secret stored" in err


def test_remote_set_with_several_libraries_needs_a_uid(cli: Cli, tmp_path: Path, s3_bucket: Bucket) -> None:
    a, b, c = tmp_path / "A", tmp_path / "B", tmp_path / "C"
    uid_a = remote_set(cli, a, s3_bucket)["library_uid"]
    # b starts a second library in the same bucket on purpose
    uid_b = remote_set(cli, b, s3_bucket, None, "--library-uid", "01900000-0000-7000-8000-00000000000b")[
        "library_uid"]
    assert uid_a != uid_b
    code, _out, err = cli(c, "remote", "set", "--endpoint", s3_bucket["endpoint_url"], "--bucket",
                          s3_bucket["bucket"], "--key-id", s3_bucket["key_id"], "--secret-stdin",
                          stdin=s3_bucket["secret"] + "\n")
    assert code == 2 and "2 libraries" in err and uid_a in err
    assert cli.json(c, "remote", "show")["remote"] is None  # nothing saved
    joined = remote_set(cli, c, s3_bucket, None, "--library-uid", uid_a)
    assert joined["joined"] and joined["library_uid"] == uid_a
    code, _out, err = cli(a, "remote", "set", "--folder", str(tmp_path / "elsewhere"))
    assert code == 0  # nothing synced yet: switching is fine
    cli.json(c, "project", "create", "pushed")
    cli.json(c, "sync", "--once")  # c's gestures are in uid_a now: c may not move elsewhere
    code, _out, err = cli(c, "remote", "set", "--folder", str(tmp_path / "elsewhere"))
    assert code == 2 and "cannot switch" in err


def test_folder_remote_syncs_two_libraries(cli: Cli, tmp_path: Path) -> None:
    a, b, folder = tmp_path / "A", tmp_path / "B", tmp_path / "share"
    cli.json(a, "remote", "set", "--folder", str(folder))
    project, _wc = start_project(cli, a)
    cli.json(a, "sync", "--once")
    assert cli.json(b, "remote", "set", "--folder", str(folder))["joined"] is True
    cli.json(b, "sync", "--once")
    assert cli(a, "show", project, "--json")[1] == cli(b, "show", project, "--json")[1]
    assert cli.json(b, "remote", "show")["secret"]["needed"] is False


def test_bad_remote_arguments(cli: Cli, tmp_path: Path, s3_bucket: Bucket) -> None:
    a = tmp_path / "A"
    code, _out, err = cli(a, "remote", "set", "--bucket", "x")
    assert code == 2 and "--endpoint" in err
    code, _out, err = cli(a, "remote", "set", "--endpoint", "ftp://x", "--bucket", "b", "--key-id", "k",
                          "--secret-stdin", stdin="s3cr3t-value\n")
    assert code == 2 and "http" in err
    code, _out, err = cli(a, "remote", "set", "--endpoint", s3_bucket["endpoint_url"], "--bucket", "b",
                          "--key-id", "k", "--secret-stdin", stdin="\n")
    assert code == 2 and "no secret" in err
    code, _out, err = cli(a, "sync", "--once")
    assert code == 2 and "no remote set" in err


# ------------------------------------------------------------------------------ sync / doctor
def test_sync_json_counts_and_continuous_mode(cli: Cli, tmp_path: Path, s3_bucket: Bucket,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    a = tmp_path / "A"
    remote_set(cli, a, s3_bucket)
    start_project(cli, a)

    class OneCycle(SyncThread):
        def join(self, timeout: float | None = None) -> None:
            if self.cycles and timeout == 0.5:
                raise KeyboardInterrupt  # the user pressed Ctrl+C
            super().join(timeout)

    monkeypatch.setattr(cli_sync, "SyncThread", OneCycle)
    code, out, _err = cli(a, "sync")
    assert code == 0 and "everything pushed" in out
    data = cli.json(a, "sync", "--once")
    assert set(data["counts"]) >= {"pushed", "pulled", "quarantined", "media_uploaded", "bootstrapped"}
    assert set(data["status"]) >= {"state", "pending", "last_error", "conflicts", "media_bytes_pending",
                                   "quarantined", "last_sync_at"}
    code, out, _err = cli(a, "sync", "--once")
    assert code == 0 and "status: synced" in out


def test_doctor_reports_library_remote_and_keyring(cli: Cli, tmp_path: Path, s3_bucket: Bucket,
                                                   flaky_proxy: FlakyProxy) -> None:
    a = tmp_path / "A"
    report = cli.json(a, "doctor")
    assert report["database"] == "ok" and report["remote"] is None and report["remote_reachable"] is None
    assert "MemoryKeyring" in report["keyring_backend"]
    remote_set(cli, a, s3_bucket, flaky_proxy.endpoint_url)
    start_project(cli, a)
    report = cli.json(a, "doctor")
    assert report["remote_reachable"] is True and report["pending"] == 4 and report["quarantined"] == []
    assert report["library"] == str(a) and report["secret"]["stored"] is True
    with endpoint_down(flaky_proxy):
        report = cli.json(a, "doctor", code=1)
        assert report["remote_reachable"] is False and report["problems"][0].startswith("remote unreachable")
        code, out, _err = cli(a, "doctor")
        assert code == 1 and "remote reachable: no" in out


# ------------------------------------------------------------------------------ the secret never leaks
def test_secret_never_in_database_log_or_any_output(cli: Cli, tmp_path: Path, s3_bucket: Bucket,
                                                    flaky_proxy: FlakyProxy) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    secret = s3_bucket["secret"]
    endpoint = flaky_proxy.endpoint_url
    remote_set(cli, a, s3_bucket, endpoint)
    cli(a, "-v", "remote", "set", "--endpoint", endpoint, "--bucket", s3_bucket["bucket"], "--key-id",
        s3_bucket["key_id"], "--secret-stdin", stdin=secret + "\n")
    project, wc = start_project(cli, a)
    for args in (("remote", "show"), ("--json", "remote", "show"), ("doctor",), ("--json", "doctor"),
                 ("-v", "sync", "--once"), ("--json", "sync", "--once"), ("show", project)):
        cli(a, *args)
    with endpoint_down(flaky_proxy, "reset"):  # error paths format exceptions: they must not carry it
        apply(cli, a, "set_rotation", wc, {"degrees": 1.0})
        for args in (("-v", "sync", "--once"), ("--json", "sync", "--once"), ("doctor",), ("--json", "doctor")):
            cli(a, *args)
    remote_set(cli, b, s3_bucket, endpoint)
    cli(b, "-v", "sync", "--once")
    cli(b, "--json", "doctor")
    assert keyring.get_password(KEYRING_SERVICE, s3_bucket["key_id"]) == secret  # stored where it belongs

    needle = secret.encode()
    for out in cli.transcript:
        assert secret not in out
    files = [p for root in (a, b) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "library.sqlite" for p in files) and any(p.name == "reeldesk.log" for p in files)
    for path in files:  # the database (+ WAL), the log, caches: every byte on disk
        assert needle not in path.read_bytes(), path
    assert len(cli.transcript) > 30


def test_turning_sync_off_forgets_the_secret_too(library, memory_keyring) -> None:
    from sync.credentials import KEYRING_SERVICE, RemoteConfig, RemoteKind, store_secret

    config = RemoteConfig(kind=RemoteKind.S3, endpoint="http://127.0.0.1:9", bucket="b", key_id="KEYID")
    config.save(library)
    store_secret("KEYID", "s3cr3t-value-123")
    RemoteConfig.clear(library)
    assert RemoteConfig.load(library) is None
    assert memory_keyring.get_password(KEYRING_SERVICE, "KEYID") is None
