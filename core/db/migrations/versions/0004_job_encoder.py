"""export jobs record the video encoder that wrote the file (x264, or a GPU encoder) and a
Modal cancel still to be sent (made while offline)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds columns in place; batch mode (a table copy) is only needed to drop them.
    op.add_column('export_jobs', sa.Column('encoder', sa.String(length=32), nullable=True))
    op.add_column('export_jobs', sa.Column('cancel_pending', sa.Boolean(), nullable=False,
                                           server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('export_jobs') as batch:
        batch.drop_column('cancel_pending')
        batch.drop_column('encoder')
