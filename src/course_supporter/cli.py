"""The `course-supporter` command; sub-commands live next to their domain."""

from __future__ import annotations

import gc
import os
import sys
from typing import Annotated

import typer

# Typer vendors click; its usage errors are these classes, not the `click` package's.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from course_supporter.cli_support import command_group, database_errors, require_database_file
from course_supporter.courses.cli import show
from course_supporter.errors import InvalidSettingsError
from course_supporter.jobs.cli import worker
from course_supporter.mentoring.cli import grade
from course_supporter.reports.cli import report_app
from course_supporter.structuring.cli import build, evaluate_command
from course_supporter.tenancy.cli import keys_app, tenants_app

app = command_group("Course Supporter: API server, worker and admin tools.")
db_app = command_group("Database schema.")
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")
app.command("build")(build)
app.command("eval")(evaluate_command)
app.command()(worker)
app.command("grade")(grade)
app.command("show")(show)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from course_supporter.config import get_settings
    from course_supporter.migrate import upgrade

    with database_errors(get_settings()):
        upgrade(revision)


# `-1` is a revision here, not an option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`-1`: the last one), before rolling back an image."""
    from course_supporter.config import get_settings
    from course_supporter.migrate import downgrade

    settings = get_settings()
    require_database_file(settings)
    with database_errors(settings):
        downgrade(revision)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Run the HTTP API with uvicorn; X-Forwarded-For is trusted from TRUSTED_PROXIES."""
    import tempfile

    import uvicorn

    from course_supporter.cli_support import fail
    from course_supporter.config import get_settings

    settings = get_settings()
    if "FORWARDED_ALLOW_IPS" in os.environ:
        fail("FORWARDED_ALLOW_IPS is not read: set TRUSTED_PROXIES instead")
    if workers > 1 and settings.runs_embedded_worker:
        fail(
            "the embedded job worker needs a single API process: use --workers 1, or set "
            "EMBEDDED_WORKER=false and run one `course-supporter worker` (several on PostgreSQL)"
        )
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Every worker writes its counters here and /metrics sums them, whichever answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="course-supporter-metrics-"
        )

    uvicorn.run(
        "course_supporter.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        access_log=False,
        log_config=None,
    )


def main() -> None:
    """Run the command; a usage error or an invalid setting is one line on stderr, exit 2."""
    try:
        status = app(standalone_mode=False)
    except InvalidSettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        status = 2
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        status = 2
    except UsageError as exc:
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        status = exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        status = 130
    # The process ends here, and everything the imports built (SQLAlchemy's and pydantic's
    # classes, hundreds of thousands of objects) would be walked and freed cycle by cycle at
    # interpreter exit: a third of a second of `tenants create`. Frozen, the collector leaves
    # them to the operating system; objects outside cycles are still freed, stdout flushed.
    gc.freeze()
    sys.exit(status if isinstance(status, int) else 0)
