"""Domain errors: services raise them, the API maps them to a status, the CLI to an exit code."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    headers: dict[str, str] | None = None
    """Response headers the API sends with this error (`WWW-Authenticate`, `Retry-After`)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(DomainError):
    """No usable API key: missing, unknown, revoked, expired, or its tenant inactive."""

    status_code = 401
    headers = {"WWW-Authenticate": "ApiKey"}


class ForbiddenError(DomainError):
    status_code = 403


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


class GoneError(DomainError):
    status_code = 410


class LengthRequiredError(DomainError):
    status_code = 411


class PreconditionFailedError(DomainError):
    """`If-Match` names a state that is no longer current: someone else changed it first."""

    status_code = 412


class PreconditionRequiredError(DomainError):
    status_code = 428


class InvalidInputError(DomainError):
    """Input that parsed but breaks a rule; `loc` says where, as in a validation error."""

    status_code = 422

    def __init__(self, message: str, loc: tuple[str | int, ...] = ("body",)) -> None:
        super().__init__(message)
        self.loc = loc


class PayloadTooLargeError(DomainError):
    status_code = 413


class UnsupportedMediaError(DomainError):
    status_code = 415


class TooManyRequestsError(DomainError):
    status_code = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        if retry_after is not None:
            self.headers = {"Retry-After": str(retry_after)}


class DependencyUnavailableError(DomainError):
    status_code = 503

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        if retry_after is not None:
            self.headers = {"Retry-After": str(retry_after)}


class InvalidSettingsError(Exception):
    """A setting's value is refused (not a domain error: the process cannot start at all).

    The message names each setting and what it accepts; the CLI prints it and exits 2."""
