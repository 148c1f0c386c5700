"""directory from Open States' YAML: an extra phone and the seat's term per legislator; each
state's refreshes, with the roster changes they made; staff alert mails for the outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("legislator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("extra_phone", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("ends_on", sa.Date(), nullable=True))

    op.create_table(
        "directory_refresh",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("legislators", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_refresh")),
    )
    with op.batch_alter_table("directory_refresh", schema=None) as batch_op:
        batch_op.create_index("ix_directory_refresh_state_at", ["state", "at"], unique=False)

    with op.batch_alter_table("roster_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refresh_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_roster_change_refresh_id"), ["refresh_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_roster_change_refresh_id_directory_refresh"),
            "directory_refresh",
            ["refresh_id"],
            ["id"],
        )

    op.create_table(
        "staff_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_staff_alert_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_staff_alert_outbox_id")),
    )


def downgrade():
    op.drop_table("staff_alert")
    op.execute("DELETE FROM outbox WHERE kind = 'alert'")
    with op.batch_alter_table("roster_change", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_roster_change_refresh_id_directory_refresh"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_roster_change_refresh_id"))
        batch_op.drop_column("refresh_id")
    with op.batch_alter_table("directory_refresh", schema=None) as batch_op:
        batch_op.drop_index("ix_directory_refresh_state_at")
    op.drop_table("directory_refresh")
    with op.batch_alter_table("legislator", schema=None) as batch_op:
        batch_op.drop_column("ends_on")
        batch_op.drop_column("starts_on")
        batch_op.drop_column("extra_phone")
