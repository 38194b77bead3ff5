"""export jobs record the process that owns them (the window or CLI that started the render), so
another process does not take a render whose child just exited for an orphan

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('export_jobs', sa.Column('owner_pid', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('export_jobs') as batch:
        batch.drop_column('owner_pid')
