"""What a service name may be: it becomes a partition key, a filter chip on every reader's
dashboard and a label in reports, so it is validated rather than redacted."""

from __future__ import annotations

import re

from shared import redaction

SERVICE_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
SERVICE_RULE = "1-64 characters of A-Z a-z 0-9 . _ -"
_KNOWN_LIMIT = 4096
_known: set[str] = set()


def problem(name: str) -> str | None:
    """Why this service name is refused (a message naming `service`), or None."""
    if name in _known:
        return None
    if SERVICE_PATTERN.fullmatch(name) is None:
        return f"service {name[:64]!r} is not a service name: use {SERVICE_RULE}"
    if redaction.redact_text(name) != name:
        return "service looks like a credential, not a service name"
    if len(_known) < _KNOWN_LIMIT:
        _known.add(name)
    return None


def is_known_good(name: str) -> bool:
    """True for a name already accepted once (a set lookup: the hot path of ingest)."""
    return name in _known
