"""The page's own modules (tail, filters, export, text, backoff, stats, chart) under Node's
test runner: `node --test dashboard/tests/`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_dashboard_modules_pass_their_unit_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the dashboard's unit tests")
    result = subprocess.run(
        [node, "--test", "dashboard/tests/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout


def test_the_page_reads_the_field_table_from_the_served_openapi_document(tmp_path: Path) -> None:
    """schema.js, given the document `GET /api/openapi.json` serves, yields the field table of
    shared/fields.py: every field, in order, with its block and reader flags."""
    import json

    from shared import fields, openapi

    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the dashboard's unit tests")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(openapi.document()))
    script = (
        f"import {{ fieldsFromOpenApi }} from {json.dumps(str(ROOT / 'dashboard/src/schema.js'))};"
        f"import {{ readFileSync }} from 'node:fs';"
        f"console.log(JSON.stringify(fieldsFromOpenApi("
        f"JSON.parse(readFileSync({json.dumps(str(document))}, 'utf8')))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout)
    assert [f["name"] for f in read] == list(fields.NAMES)
    assert {f["name"] for f in read if f["block"]} == {f.name for f in fields.FIELDS if f.block}
    assert {f["name"] for f in read if not f["reader"]} == set(fields.READER_HIDDEN)
