"""GUI fixtures that several test modules share, defined next to the tests that introduced them.

Re-exported here so that pytest offers them to every GUI test module; a module that imported a
fixture by name and then took it as a parameter would shadow its own import.
"""
from __future__ import annotations

from tests.gui.test_main_window import game_video
from tests.gui.test_panels import hub, state
from tests.gui.test_viewer import framed

__all__ = ["framed", "game_video", "hub", "state"]
