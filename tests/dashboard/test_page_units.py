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
