"""Logging of the dev host and its worker processes: one format, quiet client libraries, and,
while the demo plays the fleet, no line per batch from the functions (the demo prints a summary
every 10 s instead; LOG_LEVEL=DEBUG shows every line)."""

from __future__ import annotations

import logging
import os

QUIET = ("azure", "pgserver")


def demo_playing() -> bool:
    return os.environ.get("DEMO", "").strip().lower() in ("1", "true", "yes", "on")


def configure() -> None:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    if demo_playing() and level != "DEBUG":
        logging.getLogger("functions").setLevel(logging.WARNING)
