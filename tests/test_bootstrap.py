"""bootstrap.py, behind the README's two commands: usage, the locked install and its stamp."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bootstrap", ROOT / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_a_command_it_prints_usage_and_exits_2() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bootstrap.py")], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "bootstrap.py app" in result.stderr and "bootstrap.py test" in result.stderr


def test_install_is_pinned_by_the_lock_and_repeated_only_when_inputs_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boot = _bootstrap()
    repo = tmp_path / "repo"
    (repo / "requirements").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    (repo / "requirements" / "lock.txt").write_text("six==1.16.0\n", encoding="utf-8")
    monkeypatch.setattr(boot, "ROOT", repo)
    monkeypatch.setattr(boot, "LOCK", repo / "requirements" / "lock.txt")
    calls: list[list[str]] = []

    def fake_run(cmd: list[str], check: bool = False) -> subprocess.CompletedProcess[bytes]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(boot.subprocess, "run", fake_run)
    venv = tmp_path / "venv"
    venv.mkdir()
    boot.install(Path("py"), venv, "test")
    (cmd,) = calls
    assert cmd[cmd.index("--constraint") + 1] == str(repo / "requirements" / "lock.txt")
    assert cmd[-1] == f"{repo}[test,build]"
    boot.install(Path("py"), venv, "test")
    boot.install(Path("py"), venv, "app")  # a test install serves the app too
    assert len(calls) == 1
    (repo / "requirements" / "lock.txt").write_text("six==1.17.0\n", encoding="utf-8")
    boot.install(Path("py"), venv, "app")  # the lock changed: install again
    assert len(calls) == 2 and calls[1][-1] == str(repo)


def test_a_failed_install_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    boot = _bootstrap()
    monkeypatch.setattr(boot.subprocess, "run", lambda cmd, check=False: subprocess.CompletedProcess(cmd, 1))
    with pytest.raises(boot.SetupError, match="pip could not install"):
        boot.install(Path("py"), tmp_path, "app")
    assert not (tmp_path / boot.STAMP).exists()
