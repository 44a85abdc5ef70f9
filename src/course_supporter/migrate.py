"""Alembic, driven from the CLI and the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from course_supporter.config import PACKAGE_FILES
from course_supporter.errors import InvalidInputError

# procrastinate owns these tables, types and functions: migrations/env.py installs them next to
# ours on PostgreSQL (`ensure_queue_schema`), Alembic's revisions do not describe them.
QUEUE_OBJECT_PREFIX = "procrastinate_"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    # A wheel installs as plain files, so the packaged folder is a real directory Alembic can scan.
    config.set_main_option("script_location", str(PACKAGE_FILES / "migrations"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


def upgrade(revision: str = "head", database_url: str | None = None) -> None:
    try:
        command.upgrade(alembic_config(database_url), revision)
    except CommandError as exc:
        raise InvalidInputError(f"cannot upgrade to {revision!r}: {exc}") from exc


def downgrade(revision: str, database_url: str | None = None) -> None:
    try:
        command.downgrade(alembic_config(database_url), revision)
    except CommandError as exc:
        raise InvalidInputError(f"cannot downgrade to {revision!r}: {exc}") from exc


def is_ours(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name`: leave the job queue's own objects out of schema comparisons."""
    return not (name or "").startswith(QUEUE_OBJECT_PREFIX)
