"""Admin commands: `tenants …` and `keys …` (the service is imported per command: fast start)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from course_supporter.cli_support import command_group, fail, print_json, with_session
from course_supporter.tenancy.durations import BadDurationError, parse_duration

if TYPE_CHECKING:
    from course_supporter.tenancy.models import ApiKey, Tenant
    from course_supporter.tenancy.service import IssuedKey

tenants_app = command_group("Create, list, activate and deactivate tenants.")
keys_app = command_group("Issue, list, revoke and rotate API keys.")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _tenant_dict(tenant: Tenant) -> dict[str, Any]:
    return {
        "id": str(tenant.id),
        "name": tenant.name,
        "is_active": tenant.is_active,
        "review_threshold": tenant.review_threshold,
        "created_at": tenant.created_at.isoformat(),
    }


def _key_dict(api_key: ApiKey) -> dict[str, Any]:
    return {
        "id": str(api_key.id),
        "prefix": api_key.key_prefix,
        "label": api_key.label,
        "scopes": api_key.scopes,
        "rate_limit_prep": api_key.rate_limit_prep,
        "rate_limit_check": api_key.rate_limit_check,
        "is_active": api_key.is_active,
        "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
        "last_used_at": api_key.last_used_at.isoformat() if api_key.last_used_at else None,
        "created_at": api_key.created_at.isoformat(),
    }


def _duration(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except BadDurationError as exc:
        fail(str(exc))


@tenants_app.command("create")
def create_tenant(name: str, as_json: JsonFlag = False) -> None:
    """Create a tenant."""
    from course_supporter.tenancy import service

    tenant = with_session(lambda session: service.create_tenant(session, name))
    if as_json:
        print_json(_tenant_dict(tenant))
    else:
        typer.echo(f"Created tenant {tenant.name} ({tenant.id})")


@tenants_app.command("list")
def list_tenants(as_json: JsonFlag = False) -> None:
    """List tenants."""
    from course_supporter.tenancy import service

    tenants = with_session(service.list_tenants)
    if as_json:
        print_json({"tenants": [_tenant_dict(tenant) for tenant in tenants]})
        return
    for tenant in tenants:
        state = "active" if tenant.is_active else "inactive"
        typer.echo(f"{tenant.name}\t{state}\t{tenant.id}")


@tenants_app.command("deactivate")
def deactivate_tenant(name: str) -> None:
    """Deactivate a tenant: its keys stop working within the key cache TTL."""
    from course_supporter.tenancy import service

    with_session(lambda session: service.set_tenant_active(session, name, active=False))
    typer.echo(f"Deactivated tenant {name}")


@tenants_app.command("activate")
def activate_tenant(name: str) -> None:
    """Reactivate a tenant."""
    from course_supporter.tenancy import service

    with_session(lambda session: service.set_tenant_active(session, name, active=True))
    typer.echo(f"Activated tenant {name}")


@tenants_app.command("set")
def set_tenant(
    name: str,
    review_threshold: Annotated[
        str | None,
        typer.Option(
            "--review-threshold",
            help="Confidence (0-1) below which verdicts need a teacher; 'default' clears it.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a tenant's settings."""
    from course_supporter.tenancy import service

    if review_threshold is None:
        fail("nothing to set: give --review-threshold")
    threshold: float | None = None
    if review_threshold != "default":
        try:
            threshold = float(review_threshold)
        except ValueError:
            fail(f"--review-threshold must be a number between 0 and 1, not {review_threshold!r}")
    tenant = with_session(lambda session: service.set_review_threshold(session, name, threshold))
    if as_json:
        print_json(_tenant_dict(tenant))
    else:
        shown = "default" if tenant.review_threshold is None else f"{tenant.review_threshold:g}"
        typer.echo(f"Tenant {tenant.name}: review threshold {shown}")


@keys_app.command("create")
def create_key(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: prep, check.")] = "prep,check",
    label: Annotated[str | None, typer.Option(help="A note to recognise the key by.")] = None,
    rate_prep: Annotated[int | None, typer.Option(help="prep requests per minute.")] = None,
    rate_check: Annotated[int | None, typer.Option(help="check requests per minute.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="e.g. 90d, 12h; default never.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Issue an API key; the raw key is printed once and never stored."""
    from course_supporter.config import get_settings
    from course_supporter.tenancy import service

    settings = get_settings()
    lifetime = _duration(expires_in)
    issued = with_session(
        lambda session: service.issue_key(
            session,
            tenant,
            scopes=scopes,
            label=label,
            rate_prep=settings.default_rate_limit_prep if rate_prep is None else rate_prep,
            rate_check=settings.default_rate_limit_check if rate_check is None else rate_check,
            expires_in=lifetime,
        )
    )
    _print_issued(issued, as_json)


@keys_app.command("list")
def list_keys(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name.")], as_json: JsonFlag = False
) -> None:
    """List a tenant's keys (prefixes only)."""
    from course_supporter.tenancy import service

    api_keys = with_session(lambda session: service.list_keys(session, tenant))
    if as_json:
        print_json({"keys": [_key_dict(api_key) for api_key in api_keys]})
        return
    for api_key in api_keys:
        state = "active" if api_key.is_active else "revoked"
        expiry = api_key.expires_at.isoformat() if api_key.expires_at else "never"
        typer.echo(f"{api_key.key_prefix}\t{state}\t{','.join(api_key.scopes)}\texpires {expiry}")


@keys_app.command("revoke")
def revoke_key(prefix: str) -> None:
    """Revoke a key by its prefix; it stops working within the key cache TTL."""
    from course_supporter.tenancy import service

    api_key = with_session(lambda session: service.revoke_key(session, prefix))
    typer.echo(f"Revoked {api_key.key_prefix}")


@keys_app.command("rotate")
def rotate_key(
    prefix: str,
    grace: Annotated[str, typer.Option(help="How long the old key keeps working.")] = "24h",
    as_json: JsonFlag = False,
) -> None:
    """Issue a successor key; the old one keeps working for the grace period."""
    from course_supporter.tenancy import service

    grace_period = _duration(grace)
    issued = with_session(lambda session: service.rotate_key(session, prefix, grace=grace_period))
    _print_issued(issued, as_json)


def _print_issued(issued: IssuedKey, as_json: bool) -> None:
    if as_json:
        print_json(
            {"key": issued.raw_key, "tenant": issued.tenant.name, **_key_dict(issued.api_key)}
        )
        return
    typer.echo(f"API key for {issued.tenant.name} (shown once, store it now):")
    typer.echo(issued.raw_key)
    typer.echo(f"prefix {issued.api_key.key_prefix}, scopes {','.join(issued.api_key.scopes)}")
