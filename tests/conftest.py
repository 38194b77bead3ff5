"""Shared test set-up: offscreen Qt, isolated library folders, fixture plugins per area."""
from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

# Before anything imports Qt: no display in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.fixtures.library",
    "tests.fixtures.media",
    "tests.fixtures.s3",
    "tests.fixtures.weights_server",
]


@pytest.fixture(autouse=True)
def _sigint_is_ctrl_c() -> Iterator[None]:
    """Ctrl+C tests send SIGINT to this process and to CLI children. A run started in the
    background (``pytest &``, nohup, some CI runners) inherits SIGINT *ignored*, and ignored
    signals stay ignored across exec: so each test starts from Python's own handler, which
    children then see as the default action."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
