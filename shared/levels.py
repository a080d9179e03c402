"""Log levels, including the trading levels, and their numeric severities."""

from __future__ import annotations

LEVELS: dict[str, int] = {
    "DEBUG": 10,
    "INFO": 20,
    "SIGNAL_RECEIVED": 22,
    "AI_DECISION": 23,
    "TRADE_EXECUTED": 25,
    "WARNING": 30,
    "RISK_ALERT": 35,
    "ERROR": 40,
    "CRITICAL": 50,
}
ALIASES: dict[str, str] = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR"}
_BY_NUMBER = sorted(((n, name) for name, n in LEVELS.items()), reverse=True)


def canonical(level: str) -> str | None:
    """The canonical upper-case name of a level given in any case, or None if unknown."""
    name = level.strip().upper()
    name = ALIASES.get(name, name)
    return name if name in LEVELS else None


def from_number(number: int) -> str | None:
    """The nearest level name at or below a numeric level, or None below DEBUG."""
    for n, name in _BY_NUMBER:
        if number >= n:
            return name
    return None


def number(level: str) -> int:
    return LEVELS[level]
