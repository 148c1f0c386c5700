"""the personalization coach's figures kept with each written message: the share of its words
in the visitor's own words, and its similarity to the closest earlier message that day

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("own_words", sa.Float(), nullable=True))
        batch.add_column(sa.Column("similarity", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("similarity")
        batch.drop_column("own_words")
