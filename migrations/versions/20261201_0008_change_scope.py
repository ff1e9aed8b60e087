"""change scope

Change markers say whether a change can show to every reader of the record type or only to
the readers who may see the record (a new record, a comment, an attachment): open lists of
readers who cannot see it need not reload (models/changes.py, pages/live.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=10), server_default='all', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('scope')
