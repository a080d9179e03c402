"""Log levels, including the trading levels, and how other loggers' levels map onto them.

Names: every logger's names (Python, winston, pino, loguru, log4j, Serilog, .NET, syslog, zap,
java.util.logging) map to the nearest pipeline level at or below them (winston's `http` and
`verbose`, loguru's `TRACE` to DEBUG; syslog's `notice`, loguru's `SUCCESS` to INFO).

Numbers: a bare number cannot say its scale, so the record's shape picks the family
(`shared.shapes` decides; docs/ingest.md has the rule):
- `pino`: pino and bunyan, 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal;
- `otel`: OpenTelemetry severity numbers 1-24 (OTLP records, `severityNumber`);
- `syslog`: 0 emerg ... 7 debug (GELF records, a number given as `severity`, and any bare
  number from 0 to 7);
- `python`: the pipeline's own scale, which is Python's plus the trading levels (any other
  number of 8 or more; 8 and 9 are DEBUG).
Each maps to the nearest level at or below; below the family's lowest is DEBUG."""

from __future__ import annotations

from typing import Literal

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
ALIASES: dict[str, str] = {
    # Python, structlog, loguru
    "WARN": "WARNING",
    "FATAL": "CRITICAL",
    "EXCEPTION": "ERROR",
    "TRACE": "DEBUG",
    "SUCCESS": "INFO",
    # winston (npm levels), pino, log4j, zap
    "SILLY": "DEBUG",
    "VERBOSE": "DEBUG",
    "HTTP": "DEBUG",
    "DPANIC": "CRITICAL",
    "PANIC": "CRITICAL",
    # Serilog, .NET, their short forms
    "INFORMATION": "INFO",
    "VRB": "DEBUG",
    "DBG": "DEBUG",
    "INF": "INFO",
    "WRN": "WARNING",
    "ERR": "ERROR",
    "FTL": "CRITICAL",
    "CRT": "CRITICAL",
    # syslog
    "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL",
    "ALERT": "CRITICAL",
    "CRIT": "CRITICAL",
    "NOTICE": "INFO",
    "INFORMATIONAL": "INFO",
    # java.util.logging
    "SEVERE": "ERROR",
    "CONFIG": "DEBUG",
    "FINE": "DEBUG",
    "FINER": "DEBUG",
    "FINEST": "DEBUG",
}
"""Other loggers' level names, upper case, and the pipeline level each maps to."""

Family = Literal["python", "pino", "otel", "syslog"]
FAMILIES: dict[str, tuple[tuple[int, str], ...]] = {
    "pino": ((60, "CRITICAL"), (50, "ERROR"), (40, "WARNING"), (30, "INFO"), (0, "DEBUG")),
    "otel": ((21, "CRITICAL"), (17, "ERROR"), (13, "WARNING"), (9, "INFO"), (0, "DEBUG")),
    "syslog": ((7, "DEBUG"), (5, "INFO"), (4, "WARNING"), (3, "ERROR"), (0, "CRITICAL")),
}
"""(lowest number, level) per family, highest first; syslog runs the other way."""
SYSLOG_TOP = 7
_BY_NUMBER = sorted(((n, name) for name, n in LEVELS.items()), reverse=True)


def canonical(level: str) -> str | None:
    """The canonical upper-case name of a level given in any case, or None if unknown."""
    name = level.strip().upper()
    name = ALIASES.get(name, name)
    return name if name in LEVELS else None


def from_number(number: int) -> str | None:
    """The nearest level name at or below a number on the pipeline's scale, or None below
    DEBUG."""
    for n, name in _BY_NUMBER:
        if number >= n:
            return name
    return None


def from_family(number: int, family: Family | None) -> str | None:
    """The level of a number read in a family (None: the rule for a bare number), or None for
    a number no family reads (negative, or past syslog's 7 when syslog is named)."""
    if number < 0:
        return None
    if family is None or family == "python":
        if number <= SYSLOG_TOP and family is None:
            family = "syslog"
        else:
            return from_number(number) or "DEBUG"
    if family == "syslog":
        if number > SYSLOG_TOP:
            return None
        return next(name for low, name in FAMILIES["syslog"] if number >= low)
    return next(name for low, name in FAMILIES[family] if number >= low)


def number(level: str) -> int:
    return LEVELS[level]
