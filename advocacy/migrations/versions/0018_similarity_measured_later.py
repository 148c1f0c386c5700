"""the similarity of a written message is measured after the send, by the measure-similarity
job: a flag marks the messages waiting for it, and a partial index holds only those

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# Written as the model writes it, so each database sees the same condition in its queries.
PENDING = sa.column("similarity_pending", sa.Boolean()).is_(True)


def upgrade():
    # Messages already written were measured at their send (or before the coach, never).
    with op.batch_alter_table("contact") as batch:
        batch.add_column(
            sa.Column(
                "similarity_pending", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_index(
        "ix_contact_similarity_pending",
        "contact",
        ["campaign_id", "target_id", "created_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade():
    op.drop_index("ix_contact_similarity_pending", table_name="contact")
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("similarity_pending")
