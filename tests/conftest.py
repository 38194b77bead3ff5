"""Shared test set-up: offscreen Qt, isolated library folders, fixture plugins per area."""
from __future__ import annotations

import os

# Before anything imports Qt: no display in CI.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = [
    "tests.fixtures.library",
    "tests.fixtures.media",
    "tests.fixtures.s3",
]
