"""per-office digests: a campaign's messages of a day to one legislator or official, sent as
one email; the contacts it carries point to it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.String(length=120), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("target_name", sa.String(length=200), nullable=False),
        sa.Column("target_email", sa.String(length=320), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_digest_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_digest_outbox_id")),
        sa.UniqueConstraint("token", name=op.f("uq_digest_token")),
        sa.UniqueConstraint(
            "campaign_id", "target_id", "day", name="uq_digest_campaign_target_day"
        ),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_contact_digest_id"), ["digest_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_contact_digest_id_digest"), "digest", ["digest_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_contact_digest_id_digest"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_contact_digest_id"))
        batch_op.drop_column("digest_id")
    op.drop_table("digest")
