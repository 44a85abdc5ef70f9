"""`report cost`: the cost report as a table."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from course_supporter.cli_support import command_group, print_json, with_session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from course_supporter.reports.schemas import CostLine, CostReport

report_app = command_group("Reports.")


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date like 2026-11-30") from exc


@report_app.command("cost")
def cost(
    tenant: Annotated[
        str | None, typer.Option(help="Tenant name; all tenants when omitted.")
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First UTC day")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last UTC day")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Model calls and their cost: totals, by action, by model, by day."""
    from course_supporter.reports.service import cost_report
    from course_supporter.tenancy.service import get_tenant

    start, end = _date(date_from), _date(date_to)

    async def build(session: AsyncSession) -> CostReport:
        tenant_id = (await get_tenant(session, tenant)).id if tenant else None
        return await cost_report(session, tenant_id, start, end)

    report = with_session(build)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    typer.echo(render_cost_report(report))


def render_cost_report(report: CostReport) -> str:
    header = (
        f"{'':<40} {'calls':>7} {'failed':>7} {'tokens in':>11} {'tokens out':>11} {'cost USD':>12}"
    )
    lines = [header]

    def row(line: CostLine, indent: str = "  ") -> str:
        return (
            f"{indent + line.key:<40} {line.calls:>7} {line.failed_calls:>7} "
            f"{line.tokens_in:>11} {line.tokens_out:>11} {line.cost_usd:>12.6f}"
        )

    lines.append(row(report.total, ""))
    for title, section in (
        ("by action", report.by_action),
        ("by model", report.by_model),
        ("by day", report.by_day),
    ):
        lines.append(title)
        lines.extend(row(line) for line in section)
    return "\n".join(lines)
