"""Layering rules (docs/ARCHITECTURE.md, "Layers"), checked with import-linter's contracts from pyproject.toml."""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    # The `lint-imports` console script, run through this interpreter (no PATH assumptions).
    runner = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    proc = subprocess.run([sys.executable, "-c", runner, "--config", str(ROOT / "pyproject.toml")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    assert f"{len(contracts)} kept, 0 broken" in proc.stdout  # every contract ran


def test_core_and_sync_import_without_qt() -> None:
    code = ("import sys, core.library, core.editmath, sync.store, sync.s3store;"
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_window_starts_without_the_modal_sdk() -> None:
    """Modal's SDK takes a third of a second to import: the window loads it only when a cloud
    export or detection is asked for."""
    code = ("import sys, desktop.ui.main_window;"
            "assert 'modal' not in sys.modules, 'the Modal SDK was imported at start-up'")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr
