"""Durations such as `90d`, `24h`, `30m` for key expiry and rotation grace periods."""

from __future__ import annotations

import re
from datetime import timedelta

_PATTERN = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class BadDurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    match = _PATTERN.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise BadDurationError(
            f"bad duration {text!r}: use a positive number and a unit, e.g. 30m, 24h, 90d, 2w"
        )
    amount, unit = int(match.group(1)), match.group(2)
    try:
        return timedelta(**{_UNITS[unit]: amount})
    except OverflowError as exc:
        raise BadDurationError(f"duration {text!r} is too long") from exc
