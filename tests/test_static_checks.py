"""Static checks run by the test command: mypy and ruff (configured in pyproject.toml) and the
file-size rule (no source file over 600 lines; one over 500 says why at its top)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZED_FOLDERS = ("core", "sync", "desktop", "benchmarks", "installer")
HARD_LIMIT = 600
SOFT_LIMIT = 500
REASON = "longer than 500 lines because"
REASON_WITHIN = 15  # lines from the top of the file


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # Through this interpreter, so the venv's mypy/ruff run whatever PATH holds.
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_mypy_passes() -> None:
    proc = _run("mypy", "core", "sync", "desktop")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_passes() -> None:
    proc = _run("ruff", "check", "--no-cache", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as f:
        return sum(1 for _ in f)


def _states_reason(path: Path) -> bool:
    with path.open(encoding="utf-8") as f:
        head = [line for _, line in zip(range(REASON_WITHIN), f, strict=False)]
    return any(line.lstrip().startswith("#") and REASON in line for line in head)


def size_violations(root: Path = ROOT) -> list[str]:
    """One line per source file that breaks the size rule, relative to ``root``."""
    found: list[str] = []
    for folder in SIZED_FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            lines = _line_count(path)
            name = path.relative_to(root).as_posix()
            if lines > HARD_LIMIT:
                found.append(f"{name}: {lines} lines (limit {HARD_LIMIT}; split it by responsibility)")
            elif lines > SOFT_LIMIT and not _states_reason(path):
                found.append(f"{name}: {lines} lines and no '# ... {REASON} ...' comment"
                             f" in its first {REASON_WITHIN} lines")
    return found


def test_source_files_are_small_or_say_why() -> None:
    found = size_violations()
    assert not found, "\n".join(found)


def test_size_rule_catches_long_files_and_accepts_a_reason(tmp_path: Path) -> None:
    # The rule itself: a checker that found nothing because it looked nowhere would pass above.
    pkg = tmp_path / "core"
    pkg.mkdir()
    (pkg / "small.py").write_text("x = 1\n" * SOFT_LIMIT, encoding="utf-8")
    (pkg / "silent.py").write_text("x = 1\n" * (SOFT_LIMIT + 1), encoding="utf-8")
    (pkg / "reasoned.py").write_text(f"# This module is {REASON} it is one state machine.\n"
                                     + "x = 1\n" * SOFT_LIMIT, encoding="utf-8")
    (pkg / "reason_in_code.py").write_text(f"s = '{REASON}'\n" + "x = 1\n" * SOFT_LIMIT, encoding="utf-8")
    (pkg / "huge.py").write_text(f"# {REASON} no reason is enough.\n" + "x = 1\n" * HARD_LIMIT,
                                 encoding="utf-8")
    found = size_violations(tmp_path)
    assert [line.split(":")[0] for line in found] == [
        "core/huge.py", "core/reason_in_code.py", "core/silent.py"]
