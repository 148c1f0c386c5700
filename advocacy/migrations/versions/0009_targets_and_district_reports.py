"""committees and executive officials from Open States; messages held when their recipient
left office (a contact sent anyway by staff); visitors' reports of wrong districts and the
address overrides staff approve

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "committee",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("chamber", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee")),
    )
    with op.batch_alter_table("committee", schema=None) as batch_op:
        batch_op.create_index("ix_committee_state_chamber", ["state", "chamber"], unique=False)

    op.create_table(
        "committee_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("committee_id", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=80), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["committee_id"],
            ["committee.id"],
            name=op.f("fk_committee_member_committee_id_committee"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_committee_member")),
    )
    with op.batch_alter_table("committee_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_committee_member_committee_id"), ["committee_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_committee_member_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "executive_official",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("office", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("given_name", sa.String(length=120), nullable=True),
        sa.Column("family_name", sa.String(length=120), nullable=True),
        sa.Column("party", sa.String(length=80), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=60), nullable=True),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.Column("image", sa.String(length=500), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executive_official")),
    )
    with op.batch_alter_table("executive_official", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executive_official_state_office", ["state", "office"], unique=False
        )

    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("send_anyway_at", sa.DateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "district_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("shown", JSON, nullable=False),
        sa.Column("proposed", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district_report")),
    )
    with op.batch_alter_table("district_report", schema=None) as batch_op:
        batch_op.create_index(
            "ix_district_report_status_created", ["status", "created_at"], unique=False
        )

    op.create_table(
        "address_override",
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("districts", JSON, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["district_report.id"],
            name=op.f("fk_address_override_report_id_district_report"),
        ),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_address_override")),
    )


def downgrade():
    op.drop_table("address_override")
    with op.batch_alter_table("district_report", schema=None) as batch_op:
        batch_op.drop_index("ix_district_report_status_created")
    op.drop_table("district_report")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_column("send_anyway_at")
    with op.batch_alter_table("executive_official", schema=None) as batch_op:
        batch_op.drop_index("ix_executive_official_state_office")
    op.drop_table("executive_official")
    with op.batch_alter_table("committee_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_committee_member_person_id"))
        batch_op.drop_index(batch_op.f("ix_committee_member_committee_id"))
    op.drop_table("committee_member")
    with op.batch_alter_table("committee", schema=None) as batch_op:
        batch_op.drop_index("ix_committee_state_chamber")
    op.drop_table("committee")
