"""actions/delivery: action legislator ids, one contact per action+target, send marker

action.legislator_ids (JSON), unique index contact(action_id, channel, target_id) after
removing repeated call logs, outbox.send_started_at.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "legislator_ids",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    # Concurrent "I called" clicks may have logged the same call more than once: keep the
    # first of each before the unique index is created. (Email and postal contacts are one per
    # recipient already; call contacts have no outbox rows.)
    op.execute(
        "DELETE FROM contact WHERE channel = 'call' AND id NOT IN ("
        "SELECT keep_id FROM (SELECT MIN(id) AS keep_id FROM contact WHERE channel = 'call' "
        "GROUP BY action_id, target_id) AS firsts)"
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(
            "ux_contact_action_channel_target",
            ["action_id", "channel", "target_id"],
            unique=True,
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("send_started_at")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ux_contact_action_channel_target")
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_column("legislator_ids")
