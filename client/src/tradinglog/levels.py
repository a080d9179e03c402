"""The trading levels, registered with the standard logging module."""

from __future__ import annotations

import logging

SIGNAL_RECEIVED = 22
AI_DECISION = 23
TRADE_EXECUTED = 25
RISK_ALERT = 35

TRADING_LEVELS = {
    "SIGNAL_RECEIVED": SIGNAL_RECEIVED,
    "AI_DECISION": AI_DECISION,
    "TRADE_EXECUTED": TRADE_EXECUTED,
    "RISK_ALERT": RISK_ALERT,
}


def register() -> None:
    """Make `logging.getLevelName` know the trading levels (idempotent)."""
    for name, number in TRADING_LEVELS.items():
        if logging.getLevelName(number) != name:
            logging.addLevelName(number, name)
