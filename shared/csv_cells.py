"""The one rule for formula cells in CSV exports, read from `csv_formula.json`, which the
dashboard's in-page download reads too: a text cell that a spreadsheet would evaluate (it
starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with an apostrophe
before it."""

from __future__ import annotations

import functools
import json
from pathlib import Path

FORMULA_FILE = Path(__file__).resolve().parent / "csv_formula.json"


@functools.cache
def formula_rule() -> tuple[frozenset[str], str]:
    """(first characters that make a formula, the prefix that neutralises one)."""
    document = json.loads(FORMULA_FILE.read_text(encoding="utf-8"))
    return frozenset(document["starts"]), document["prefix"]


def neutralise(text: str) -> str:
    """A text cell as a spreadsheet must show it: as text, never as a formula."""
    starts, prefix = formula_rule()
    return prefix + text if text and text[0] in starts else text
