"""Before Qt starts the window: is there a screen to show it on, and can Qt's platform plugin load?

Without a display, or with a system library missing on Linux, Qt aborts the process with a long
message about "platform plugins" that tells a user nothing. This check runs first (no Qt import)
and names the problem and the fix in one line. Windows and macOS always have a display and ship
everything Qt needs in the wheel.
"""
from __future__ import annotations

import ctypes.util
import os
import sys
from collections.abc import Callable, Mapping

# Platform plugins that need no screen: whoever sets one of these knows what they are doing.
_HEADLESS_PLUGINS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs")

# Libraries Qt's xcb plugin loads that a desktop install may lack: (soname stem, Debian package).
XCB_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("xcb-cursor", "libxcb-cursor0"),
    ("xkbcommon-x11", "libxkbcommon-x11-0"),
    ("xcb-icccm", "libxcb-icccm4"),
    ("xcb-image", "libxcb-image0"),
    ("xcb-keysyms", "libxcb-keysyms1"),
    ("xcb-randr", "libxcb-randr0"),
    ("xcb-render-util", "libxcb-render-util0"),
    ("xcb-shape", "libxcb-shape0"),
    ("X11-xcb", "libx11-xcb1"),
    ("EGL", "libegl1"),
    ("GL", "libgl1"),
    ("fontconfig", "libfontconfig1"),
    ("dbus-1", "libdbus-1-3"),
)


def display_problem(environ: Mapping[str, str] = os.environ, platform: str = sys.platform,
                    find_library: Callable[[str], str | None] = ctypes.util.find_library) -> str | None:
    """None when the window can open; otherwise one sentence saying why not and what to do."""
    if platform.startswith(("win", "darwin")):
        return None
    plugin = environ.get("QT_QPA_PLATFORM", "").split(":", 1)[0].strip().lower()
    if plugin.startswith(_HEADLESS_PLUGINS):
        return None
    x11, wayland = bool(environ.get("DISPLAY")), bool(environ.get("WAYLAND_DISPLAY"))
    if plugin == "wayland" and not wayland:
        return ("no display: QT_QPA_PLATFORM is wayland but WAYLAND_DISPLAY is unset; start ReelDesk "
                "from your desktop session")
    if not (x11 or wayland) or (plugin == "xcb" and not x11):
        return ("no display: the window needs a desktop session (DISPLAY and WAYLAND_DISPLAY are unset); "
                "on a server run it under xvfb-run, or use the command line (reeldesk --help), which "
                "needs no window")
    if plugin in ("", "xcb") and x11 and not (plugin == "" and wayland):
        missing = [package for stem, package in XCB_LIBRARIES if find_library(stem) is None]
        if missing:
            return ("Qt's X11 window plugin needs system libraries that are missing; install them with: "
                    f"sudo apt-get install {' '.join(missing)}")
    return None
