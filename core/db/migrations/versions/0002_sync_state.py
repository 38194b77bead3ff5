"""sync state: pull cursors, pushed batches, quarantined objects, media transfers

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_transfers',
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state_json', sa.Text(), nullable=True),
    sa.Column('bytes_done', sa.Integer(), nullable=False),
    sa.Column('bytes_total', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('hash')
    )
    op.create_table('sync_batches',
    sa.Column('batch', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('op_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('batch')
    )
    op.create_table('sync_cursors',
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('last_batch', sa.Integer(), nullable=False),
    sa.Column('last_key', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('device_id')
    )
    op.create_table('sync_quarantine',
    sa.Column('key', sa.String(length=1024), nullable=False),
    sa.Column('device_id', sa.String(length=64), nullable=True),
    sa.Column('batch', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('sync_quarantine')
    op.drop_table('sync_cursors')
    op.drop_table('sync_batches')
    op.drop_table('media_transfers')
