"""The CSV export's formula cells: one rule (`shared/csv_formula.json`) that the server's export
and the page's download both follow, checked here on the server's side with the same table of
cases that `dashboard/tests/units.test.js` runs on the page's side."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from shared import csv_cells, search

RULE = json.loads(csv_cells.FORMULA_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "cell"), RULE["cases"])
def test_each_case_of_the_shared_table(text: str, cell: str) -> None:
    assert csv_cells.neutralise(text) == cell


def test_the_table_covers_every_formula_start() -> None:
    assert set(RULE["starts"]) == {"=", "+", "-", "@", "\t", "\r"}
    for start in RULE["starts"]:
        assert any(text.startswith(start) for text, _ in RULE["cases"]), start


def test_the_export_writes_formula_cells_as_text_and_numbers_as_they_are() -> None:
    chunk = search._CsvChunk(("message", "service", "level_no", "timestamp", "extra_data"))
    record = {
        "message": '=HYPERLINK("http://evil.example","x")',
        "service": "trading-engine",
        "level_no": -5,
        "timestamp": datetime(2026, 3, 14, tzinfo=UTC),
        "extra_data": {"note": "+cmd"},
    }
    rows = list(csv.reader(io.StringIO((chunk.header() + chunk.rows([record])).decode())))
    assert rows[1] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "trading-engine",
        "-5",
        "2026-03-14T00:00:00+00:00",
        '{"note":"+cmd"}',
    ]
