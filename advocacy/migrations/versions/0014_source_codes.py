"""source codes: the code of the link a visitor came by, kept on their action

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_action_source"), ["source"], unique=False)


def downgrade():
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_source"))
        batch_op.drop_column("source")
