"""the site's own pictures (share cards, legislator photos) and where each photo came from

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stored_image",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stored_image")),
    )
    op.create_table(
        "legislator_photo",
        sa.Column("person_id", sa.String(length=80), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("image_name", sa.String(length=80), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_legislator_photo")),
    )


def downgrade():
    op.drop_table("legislator_photo")
    op.drop_table("stored_image")
