"""issues tracker

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:31:55.714109
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'issue_daily_stats',
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('open', sa.Integer(), nullable=False),
        sa.Column('triaged', sa.Integer(), nullable=False),
        sa.Column('in_progress', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('low', sa.Integer(), nullable=False),
        sa.Column('medium', sa.Integer(), nullable=False),
        sa.Column('high', sa.Integer(), nullable=False),
        sa.Column('critical', sa.Integer(), nullable=False),
        sa.Column('computed_at', models.base.UTCDateTime(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_daily_stats')),
        sa.UniqueConstraint('date', name=op.f('uq_issue_daily_stats_date')),
    )
    op.create_table(
        'tags',
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('code', sa.String(length=30), nullable=True),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.text('1'), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(
            'created_at', models.base.UTCDateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False
        ),
        sa.Column(
            'updated_at', models.base.UTCDateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False
        ),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
        sa.UniqueConstraint('name', name=op.f('uq_tags_name')),
    )
    with op.batch_alter_table('tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tags_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_tags_created_at'), ['created_at'], unique=False)

    op.create_table(
        'issues',
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column(
            'severity',
            sa.Enum('LOW', 'MEDIUM', 'HIGH', 'CRITICAL', name='issueseverity', native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.Column('reporter_id', sa.Integer(), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column('resolved_at', models.base.UTCDateTime(), nullable=True),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column(
            'created_at', models.base.UTCDateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False
        ),
        sa.Column(
            'updated_at', models.base.UTCDateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False
        ),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_issues_assignee_id_users')),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_issues_reporter_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issues')),
    )
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issues_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_due_date'), ['due_date'], unique=False)
        batch_op.create_index('ix_issues_reporter_created', ['reporter_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_resolved_at'), ['resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_issues_severity'), ['severity'], unique=False)
        batch_op.create_index('ix_issues_status_created', ['status', 'created_at'], unique=False)

    op.create_table(
        'issue_tags',
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['issue_id'], ['issues.id'], name=op.f('fk_issue_tags_issue_id_issues'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_issue_tags_tag_id_tags'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('issue_id', 'tag_id', name=op.f('pk_issue_tags')),
    )
    with op.batch_alter_table('issue_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_tags_tag_id'), ['tag_id'], unique=False)


def downgrade() -> None:
    # dropping a table drops its indexes (MariaDB refuses to drop an index a foreign key still needs)
    op.drop_table('issue_tags')
    op.drop_table('issues')
    op.drop_table('tags')
    op.drop_table('issue_daily_stats')
