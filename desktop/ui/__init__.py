"""Qt widgets of the editor.

Importing this package works around a crash of PySide6 6.12's abi3 wheels on CPython 3.11: they
return ``None``, ``True`` and ``False`` without taking a reference (correct only on 3.12+, where
those objects are immortal), so every void Qt call, ``emit()`` and ``disconnect()`` drops one
reference, and after a few thousand calls the interpreter aborts ("none_dealloc" /
"bool_dealloc"). Where the bug is detected, the singletons get a reference count no program can
exhaust, which is what 3.12 does for them anyway.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject

_PROBE_CALLS = 64
_PIN = 1 << 40


def _void_calls_drop_none() -> bool:
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")  # a void call: returns None
    return before - sys.getrefcount(None) >= _PROBE_CALLS


def _pin_singletons() -> None:
    if sys.version_info >= (3, 12) or not _void_calls_drop_none():
        return
    for obj in (None, True, False, NotImplemented, Ellipsis):
        # ob_refcnt is the first field of every object in release builds of CPython 3.11.
        refcnt = ctypes.c_ssize_t.from_address(id(obj))
        refcnt.value += _PIN


_pin_singletons()
