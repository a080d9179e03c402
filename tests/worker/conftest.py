"""The worker keeps its registry in module globals and imports the app in-process, so every
test here runs it in a Python process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository root, its output captured."""
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def report(*args: str) -> Any:
    """The JSON a script prints last, after checking it succeeded."""
    result = python(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
