"""Errors raised while checking and extracting course materials."""

from __future__ import annotations


class IngestionError(Exception):
    """A material could not be turned into a document; `transient` errors are worth a retry."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class UnsupportedMaterialType(Exception):
    """An upload whose type is not accepted (415) or does not match its content (422)."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RedirectPage(IngestionError):
    """An HTML page that only redirects elsewhere (a stub left by a site generator)."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.target = target
