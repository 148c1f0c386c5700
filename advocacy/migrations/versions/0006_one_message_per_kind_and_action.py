"""an action may have one outbox message of each kind (its confirmation and its receipt)

outbox.action_id was unique (only confirmation rows had one); now (kind, action_id) is.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_action_id"), type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_outbox_kind_action_id"), ["kind", "action_id"]
        )


def downgrade():
    op.execute("DELETE FROM outbox WHERE kind NOT IN ('contact', 'confirmation')")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_kind_action_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_action_id"), ["action_id"])
