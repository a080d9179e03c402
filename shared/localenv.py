"""The environment of the command-line tools when run beside `make dev`: settings missing
from the real environment come from `local.settings.json` (or the example), and the embedded
PostgreSQL of a running dev host is found through its `postmaster.pid`."""

from __future__ import annotations

import json
import os
from collections.abc import MutableMapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings_file(root: Path) -> Path | None:
    for name in ("local.settings.json", "local.settings.example.json"):
        path = root / name
        if path.exists():
            return path
    return None


def _dev_database_url(root: Path, environ: MutableMapping[str, str]) -> str:
    data = Path(environ.get("DEVHOST_DATA") or root / ".devdata") / "postgres"
    if not (data / "postmaster.pid").exists():
        return ""
    try:
        from pgserver.utils import PostmasterInfo
    except ImportError:
        return ""
    info = PostmasterInfo.read_from_pgdata(data)
    if info is None or not info.is_running():
        return ""
    return info.get_uri()


def load(root: Path = ROOT, environ: MutableMapping[str, str] | None = None) -> None:
    """Fill what the real environment leaves unset; never override it."""
    environ = os.environ if environ is None else environ
    path = _settings_file(root)
    if path is not None:
        for name, value in json.loads(path.read_text()).get("Values", {}).items():
            if not environ.get(name):
                environ[name] = str(value)
    if not environ.get("DATABASE_URL") and not environ.get("POSTGRES_HOST"):
        url = _dev_database_url(root, environ)
        if url:
            environ["DATABASE_URL"] = url
