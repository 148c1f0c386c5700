"""follow-ups ("did they reply?"): the follow-up email of an action and its visitor's answers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=32), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["action.id"], name=op.f("fk_follow_up_action_id_action")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
        sa.UniqueConstraint("action_id", name=op.f("uq_follow_up_action_id")),
    )
    op.create_table(
        "follow_up_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact.id"], name=op.f("fk_follow_up_answer_contact_id_contact")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"],
            ["follow_up.id"],
            name=op.f("fk_follow_up_answer_follow_up_id_follow_up"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_answer")),
    )
    with op.batch_alter_table("follow_up_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_answer_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            "ux_follow_up_answer_follow_up_contact", ["follow_up_id", "contact_id"], unique=True
        )


def downgrade():
    with op.batch_alter_table("follow_up_answer", schema=None) as batch_op:
        batch_op.drop_index("ux_follow_up_answer_follow_up_contact")
        batch_op.drop_index(batch_op.f("ix_follow_up_answer_contact_id"))
    op.drop_table("follow_up_answer")
    op.drop_table("follow_up")
