"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conflicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_uid', sa.String(length=64), nullable=False),
    sa.Column('entity_uid', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=256), nullable=False),
    sa.Column('loser_op_id', sa.String(length=36), nullable=False),
    sa.Column('winner_op_id', sa.String(length=36), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loser_op_id', 'winner_op_id', 'path')
    )
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conflicts_scope_uid'), ['scope_uid'], unique=False)

    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('project_uid', sa.String(length=36), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('eta_s', sa.Float(), nullable=True),
    sa.Column('backend', sa.String(length=16), nullable=False),
    sa.Column('upscaler', sa.String(length=16), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('output_path', sa.Text(), nullable=True),
    sa.Column('r2_key', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('modal_call_id', sa.String(length=128), nullable=True),
    sa.Column('worker_pid', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_jobs_project_uid'), ['project_uid'], unique=False)

    op.create_table('final_videos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('job_uid', sa.String(length=36), nullable=False),
    sa.Column('project_uid', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('r2_key', sa.Text(), nullable=True),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('final_videos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_final_videos_project_uid'), ['project_uid'], unique=False)

    op.create_table('fold_state',
    sa.Column('scope_uid', sa.String(length=64), nullable=False),
    sa.Column('scope_kind', sa.String(length=16), nullable=False),
    sa.Column('state_json', sa.Text(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope_uid')
    )
    op.create_table('games',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    op.create_table('gesture_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('op_id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('lamport', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('entity_uid', sa.String(length=64), nullable=False),
    sa.Column('scope_uid', sa.String(length=64), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('undoes', sa.String(length=36), nullable=True),
    sa.Column('pushed_batch', sa.Integer(), nullable=True),
    sa.Column('effect', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('op_id')
    )
    with op.batch_alter_table('gesture_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gesture_log_entity_uid'), ['entity_uid'], unique=False)
        batch_op.create_index('ix_gesture_pending', ['pushed_batch', 'id'], unique=False)
        batch_op.create_index('ix_gesture_scope_order', ['scope_uid', 'lamport', 'device_id', 'op_id'], unique=False)

    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('fps_num', sa.Integer(), nullable=False),
    sa.Column('fps_den', sa.Integer(), nullable=False),
    sa.Column('vfr', sa.Boolean(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('rotation', sa.Integer(), nullable=False),
    sa.Column('has_audio', sa.Boolean(), nullable=False),
    sa.Column('video_codec', sa.String(length=64), nullable=False),
    sa.Column('audio_codec', sa.String(length=64), nullable=True),
    sa.Column('container', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash')
    )
    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('aspect', sa.String(length=8), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    op.create_table('raw_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('media_hash', sa.String(length=64), nullable=False),
    sa.Column('game_uid', sa.String(length=36), nullable=True),
    sa.Column('start', sa.Float(), nullable=False),
    sa.Column('end', sa.Float(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('tags_json', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('boundaries_rev', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('raw_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_clips_media_hash'), ['media_hash'], unique=False)

    op.create_table('settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('game_media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_uid', sa.String(length=36), nullable=False),
    sa.Column('media_hash', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['game_uid'], ['games.uid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('game_uid', 'position')
    )
    op.create_table('working_clips',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=36), nullable=False),
    sa.Column('project_uid', sa.String(length=36), nullable=False),
    sa.Column('raw_clip_uid', sa.String(length=36), nullable=False),
    sa.Column('sort_key', sa.String(length=64), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('raw_clip_rev', sa.Integer(), nullable=False),
    sa.Column('transition_json', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['project_uid'], ['projects.uid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('uid')
    )
    with op.batch_alter_table('working_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_working_clips_project_uid'), ['project_uid'], unique=False)

    op.create_table('working_clip_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clip_uid', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('edit_json', sa.Text(), nullable=False),
    sa.Column('gesture_op_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clip_uid'], ['working_clips.uid'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('clip_uid', 'version')
    )


def downgrade() -> None:
    op.drop_table('working_clip_versions')
    with op.batch_alter_table('working_clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_working_clips_project_uid'))

    op.drop_table('working_clips')
    op.drop_table('game_media')
    op.drop_table('settings')
    with op.batch_alter_table('raw_clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_clips_media_hash'))

    op.drop_table('raw_clips')
    op.drop_table('projects')
    op.drop_table('media')
    with op.batch_alter_table('gesture_log', schema=None) as batch_op:
        batch_op.drop_index('ix_gesture_scope_order')
        batch_op.drop_index('ix_gesture_pending')
        batch_op.drop_index(batch_op.f('ix_gesture_log_entity_uid'))

    op.drop_table('gesture_log')
    op.drop_table('games')
    op.drop_table('fold_state')
    with op.batch_alter_table('final_videos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_final_videos_project_uid'))

    op.drop_table('final_videos')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_project_uid'))

    op.drop_table('export_jobs')
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conflicts_scope_uid'))

    op.drop_table('conflicts')
