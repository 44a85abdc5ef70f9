"""authoring: item origins, structure versions, publications, tombstones, fingerprints

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import course_supporter.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ITEM_TABLES = ("modules", "lessons", "concepts", "exercises")


def upgrade() -> None:
    for table in ITEM_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "origin", sa.String(length=10), server_default="generated", nullable=False
                )
            )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("course_structures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("structure_version", sa.Integer(), nullable=True))

    op.create_table(
        "structure_versions",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key_prefix", sa.String(length=20), nullable=True),
        sa.Column("fingerprints", JSON, nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_structure_versions_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structure_versions")),
        sa.UniqueConstraint("course_id", "number", name=op.f("uq_structure_versions_course_id")),
    )
    with op.batch_alter_table("structure_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_structure_versions_course_id"), ["course_id"], unique=False
        )
    op.create_table(
        "structure_publications",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("key_prefix", sa.String(length=20), nullable=True),
        sa.Column("created_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_structure_publications_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structure_publications")),
    )
    op.create_table(
        "structure_tombstones",
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("match_key", sa.String(length=300), nullable=False),
        sa.Column("created_at", course_supporter.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_structure_tombstones_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_structure_tombstones")),
    )
    with op.batch_alter_table("structure_tombstones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_structure_tombstones_course_id"), ["course_id"], unique=False
        )
    _snapshot_current_structures()


def _snapshot_current_structures() -> None:
    """Each structure generated before versions existed becomes its course's first version."""
    bind = op.get_bind()
    current = sa.table(
        "course_structures",
        sa.column("course_id", sa.Uuid()),
        sa.column("version", sa.Integer()),
        sa.column("document_json", sa.Text()),
        sa.column("job_id", sa.Uuid()),
        sa.column("generated_at", course_supporter.db.UTCDateTime(timezone=True)),
    )
    versions = sa.table(
        "structure_versions",
        sa.column("id", sa.Uuid()),
        sa.column("course_id", sa.Uuid()),
        sa.column("number", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("fingerprints", JSON),
        sa.column("document_json", sa.Text()),
        sa.column("job_id", sa.Uuid()),
        sa.column("created_at", course_supporter.db.UTCDateTime(timezone=True)),
    )
    rows = [
        {
            "id": course_supporter.db.new_id(),
            "course_id": row.course_id,
            "number": row.version,
            "kind": "generated",
            "fingerprints": {},
            "document_json": row.document_json,
            "job_id": row.job_id,
            "created_at": row.generated_at,
        }
        for row in bind.execute(sa.select(current))
    ]
    if rows:
        bind.execute(versions.insert(), rows)


def downgrade() -> None:
    op.drop_table("structure_tombstones")
    op.drop_table("structure_publications")
    op.drop_table("structure_versions")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("structure_version")
    with op.batch_alter_table("course_structures", schema=None) as batch_op:
        batch_op.drop_column("published_version")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_column("document_sha256")
    for table in reversed(ITEM_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("origin")
