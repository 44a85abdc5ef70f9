"""tenants' review threshold, quiz attempts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import course_supporter.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_threshold", sa.Float(), nullable=True))
    op.create_table(
        "quiz_attempts",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("lesson_id", sa.Uuid(), nullable=False),
        sa.Column("learner_ref", sa.String(length=128), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("results", JSON, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_quiz_attempts_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_quiz_attempts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quiz_attempts")),
    )
    with op.batch_alter_table("quiz_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quiz_attempts_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_quiz_attempts_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_quiz_attempts_learner", ["tenant_id", "course_id", "learner_ref"], unique=False
        )


def downgrade() -> None:
    op.drop_table("quiz_attempts")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("review_threshold")
