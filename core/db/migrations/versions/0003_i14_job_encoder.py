"""export jobs record the video encoder that wrote the file (x264, or a GPU encoder) and a
Modal cancel still to be sent (made while offline)

Revision ID: 0003_i14_job_encoder
Revises: 0002
Create Date: 2026-11-29
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_i14_job_encoder'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('export_jobs') as batch:
        batch.add_column(sa.Column('encoder', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('cancel_pending', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('export_jobs') as batch:
        batch.drop_column('cancel_pending')
        batch.drop_column('encoder')
