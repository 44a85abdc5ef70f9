"""The `course-supporter` command; sub-commands live next to their domain."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated

import typer

from course_supporter.jobs.cli import worker
from course_supporter.reports.cli import report_app
from course_supporter.structuring.cli import build, evaluate_command
from course_supporter.tenancy.cli import keys_app, tenants_app

app = typer.Typer(
    help="Course Supporter: API server, worker and admin tools.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(report_app, name="report")
app.command("build")(build)
app.command("eval")(evaluate_command)
app.command()(worker)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from course_supporter.migrate import upgrade

    upgrade(revision)


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (`-1`: the last one), before rolling back an image."""
    from course_supporter.migrate import downgrade

    downgrade(revision)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    forwarded_allow_ips: Annotated[
        str, typer.Option(help="Proxies trusted for X-Forwarded-For.")
    ] = "127.0.0.1",
) -> None:
    """Run the HTTP API with uvicorn."""
    import uvicorn

    from course_supporter.cli_support import fail
    from course_supporter.config import get_settings

    if workers > 1 and get_settings().runs_embedded_worker:
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
        forwarded_allow_ips=forwarded_allow_ips,
        access_log=False,
        log_config=None,
    )


def main() -> None:
    app()
