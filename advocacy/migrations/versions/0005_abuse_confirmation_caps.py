"""abuse controls: email confirmation before delivery, per-legislator daily caps

action.confirm_by / confirmed_at: set when the site asks for email confirmation.
action.capped_target_ids: recipients skipped because their daily cap was reached.
outbox.kind ("contact" | "confirmation"), outbox.action_id (confirmation rows only) and a
nullable outbox.contact_id: a confirmation message has no contact.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column(
                "capped_target_ids",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="contact")
        )
        batch_op.add_column(sa.Column("action_id", sa.Integer(), nullable=True))
        batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_action_id_action"), "action", ["action_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_action_id"), ["action_id"])


def downgrade():
    op.execute("DELETE FROM outbox WHERE contact_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_action_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_outbox_action_id_action"), type_="foreignkey")
        batch_op.alter_column("contact_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("action_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_column("capped_target_ids")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirm_by")
