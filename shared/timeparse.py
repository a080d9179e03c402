"""Points in time as the API accepts them: ISO 8601, or relative to now like `15m` or `7d`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RELATIVE = re.compile(r"^(\d{1,6})\s*(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_RELATIVE = timedelta(days=3650)
_PLUS_AS_SPACE = re.compile(r"(\d) (\d\d(?::?\d\d)?)$")
"""An unencoded `+01:00` offset arrives as ` 01:00` after URL decoding."""


def parse_duration(text: str) -> timedelta:
    """`30s`, `15m`, `24h`, `7d`, `2w` as a timedelta; ValueError otherwise."""
    match = _RELATIVE.match(text.strip().lower())
    if not match:
        raise ValueError("expected a duration like 15m, 24h or 7d")
    amount = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    duration = timedelta(seconds=amount)
    if duration > MAX_RELATIVE:
        raise ValueError("a relative time may reach back at most 3650 days")
    return duration


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """An aware UTC datetime from ISO 8601 (naive means UTC), `now`, or a relative time meaning
    that long before now. Raises ValueError with a client-safe message."""
    raw = text.strip()
    if not raw:
        raise ValueError("must not be empty")
    now = now or datetime.now(UTC)
    if raw.lower() == "now":
        return now
    if _RELATIVE.match(raw.lower()):
        return now - parse_duration(raw)
    try:
        moment = datetime.fromisoformat(_PLUS_AS_SPACE.sub(r"\1+\2", raw))
    except ValueError:
        raise ValueError(
            "expected ISO 8601 (2026-01-31T12:00:00Z) or a relative time like 15m, 24h, 7d"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range") from None
    if not 1970 <= moment.year <= 9998:
        raise ValueError("year out of range (1970 to 9998)")
    return moment


def instant(value: object) -> datetime | None:
    """An aware datetime (UTC when naive) from a datetime or ISO 8601 text, None otherwise.
    Takes the Functions host's `...T14:05:09.1234567Z` form (7 fractional digits) too."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None
