"""spotlight keyframes snap like crop keyframes: fold stored near-duplicates

Gestures are immutable and synced, so nothing in the log is rewritten. The fold now snaps an
add_region_keyframe logged without a resolved snap (every one made before this revision) onto a
keyframe of the same region within 10 frames, the same way on every device. This revision
re-folds each project from its log so the stored state, the recorded undo effects and the
working clips' versions (a new version row where an edit changed; old rows stay) follow that rule.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""
from __future__ import annotations

import logging

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    from core.library import Library  # the one fold and projection code; imported late (no cycle)

    n = Library.refold_projects(op.get_bind())
    log.info("re-folded %d project(s) for spotlight keyframe snapping", n)


def downgrade() -> None:
    # Nothing was written but folded state; an older build reads it as is (its own next re-fold
    # of a project would bring the duplicates back from the log).
    pass
