"""legislator and official gender: as Open States records it, so a Spanish letter words a
title right

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


TABLES = ("legislator", "executive_official")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("gender", sa.String(length=40), nullable=True))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("gender")
