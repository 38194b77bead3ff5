"""The heap built while the window starts (modules, widgets, the library) is frozen out of the
garbage collector: a full collection while playing then scans only what playing created, instead
of stalling the UI thread for every object the start-up made (a gen-2 pass over ~200,000 objects
is the one >100 ms stall seen while playing 1080p footage)."""
from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from core.library import Library
from desktop.app import run_gui


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # later tests must see their own garbage collected


def test_the_window_freezes_its_start_up_heap(qtbot, library: Library, unfrozen: None) -> None:
    assert gc.get_freeze_count() == 0
    assert run_gui(library, quit_after=0.0) == 0
    # Everything the start-up made: far more than a handful of objects.
    assert gc.get_freeze_count() > 10_000
