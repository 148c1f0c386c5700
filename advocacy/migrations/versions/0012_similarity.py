"""the personalization coach's figures kept with each written message: the share of its words
in the visitor's own words, and its similarity to the closest earlier message that day; the
campaign-and-recipient index gains the time, so today's latest messages to an office are read
from its end

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
        batch.drop_index("ix_contact_campaign_target")
        batch.create_index(
            "ix_contact_campaign_target_created", ["campaign_id", "target_id", "created_at"]
        )


def downgrade():
    with op.batch_alter_table("contact") as batch:
        batch.drop_index("ix_contact_campaign_target_created")
        batch.create_index("ix_contact_campaign_target", ["campaign_id", "target_id"])
        batch.drop_column("similarity")
        batch.drop_column("own_words")
