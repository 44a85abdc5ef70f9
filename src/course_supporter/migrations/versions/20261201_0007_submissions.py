"""submissions, exercise max_points and concepts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import course_supporter.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_points", sa.Float(), server_default="5", nullable=False))
        batch_op.add_column(
            sa.Column("concept_ids", JSON, server_default=sa.text("'[]'"), nullable=False)
        )
    op.create_table(
        "submissions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("exercise_id", sa.Uuid(), nullable=False),
        sa.Column("learner_ref", sa.String(length=128), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("max_points", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("verdict", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("review_score", sa.Float(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("reviewed_at", course_supporter.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_submissions_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_submissions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_course_id"), ["course_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_submissions_exercise_id"), ["exercise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_submissions_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_submissions_learner", ["tenant_id", "course_id", "learner_ref"], unique=False
        )


def downgrade() -> None:
    op.drop_table("submissions")
    with op.batch_alter_table("exercises", schema=None) as batch_op:
        batch_op.drop_column("concept_ids")
        batch_op.drop_column("max_points")
