"""Starting the window without a usable display: one actionable line, exit 2, nothing created."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.display_check import XCB_LIBRARIES, display_problem

REPO = Path(__file__).resolve().parents[1]


def everything(_: str) -> str:
    return "found.so"


def test_windows_and_macos_always_have_a_display() -> None:
    assert display_problem({}, "win32", everything) is None
    assert display_problem({}, "darwin", everything) is None


def test_linux_without_display_says_what_to_do() -> None:
    problem = display_problem({}, "linux", everything)
    assert problem is not None and "no display" in problem and "xvfb-run" in problem
    assert "no display" in (display_problem({"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "w"}, "linux",
                                            everything) or "")
    assert "WAYLAND_DISPLAY" in (display_problem({"QT_QPA_PLATFORM": "wayland", "DISPLAY": ":0"}, "linux",
                                                 everything) or "")


def test_display_or_headless_plugin_is_fine() -> None:
    assert display_problem({"DISPLAY": ":0"}, "linux", everything) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda _: None) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", lambda _: None) is None


def test_missing_xcb_libraries_are_named_with_the_install_command() -> None:
    absent = {"xcb-cursor", "xkbcommon-x11"}
    problem = display_problem({"DISPLAY": ":0"}, "linux", lambda stem: None if stem in absent else "x.so")
    assert problem is not None
    assert problem.endswith("sudo apt-get install libxcb-cursor0 libxkbcommon-x11-0")
    assert len(XCB_LIBRARIES) == len({package for _, package in XCB_LIBRARIES})


@pytest.mark.skipif(sys.platform.startswith(("win", "darwin")), reason="a display always exists there")
def test_the_app_without_a_display_prints_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    lib = tmp_path / "lib"
    result = subprocess.run([sys.executable, "-m", "desktop", "--library", str(lib)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reeldesk: error: no display"), result.stderr
    assert not lib.exists()  # nothing created for a window that cannot open
