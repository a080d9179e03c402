"""The dev host's environment: `local.settings.json` (or the example) under the real
environment, the loopback guard for the dev keys, and the ready line."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
from collections.abc import MutableMapping
from pathlib import Path

DEV_KEYS = {"ingest": "dev-ingest-key", "reader": "dev-reader-key", "admin": "dev-admin-key"}


def settings_file(root: Path) -> Path:
    own = root / "local.settings.json"
    return own if own.exists() else root / "local.settings.example.json"


def load(root: Path, environ: MutableMapping[str, str]) -> set[str]:
    """Fill `environ` from the settings file where the real environment says nothing.
    Returns the names the real environment set explicitly (non-empty)."""
    explicit = {k for k, v in environ.items() if v}
    values = json.loads(settings_file(root).read_text()).get("Values", {})
    for name, value in values.items():
        if name not in explicit:
            environ[name] = str(value)
    if "API_KEYS" not in explicit and "KEYS_FILE" not in explicit:
        # `python -m shared.keys` edits local.settings.json (creating it from the example):
        # the running host reads its keys from there again every KEYS_REFRESH_SECONDS.
        environ["KEYS_FILE"] = str(root / "local.settings.json")
    return explicit


def dev_keys_in_use(environ: MutableMapping[str, str]) -> list[str]:
    """The dev keys whose hashes are among the configured API keys."""
    try:
        entries = json.loads(environ.get("API_KEYS") or "[]")
    except json.JSONDecodeError:
        return []
    hashes = {str(e.get("hash", "")).lower() for e in entries if isinstance(e, dict)}
    return [key for key in DEV_KEYS.values() if hashlib.sha256(key.encode()).hexdigest() in hashes]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


def guard_interface(host: str, environ: MutableMapping[str, str]) -> None:
    """Refuse to listen beyond loopback while the well-known dev keys are accepted."""
    keys = dev_keys_in_use(environ)
    if keys and not is_loopback(host):
        raise SystemExit(
            f"refusing to listen on {host}: the dev keys ({', '.join(keys)}) are configured. "
            "Create real keys (python -m shared.keys create ...) and remove the dev keys from "
            "API_KEYS, or listen on 127.0.0.1."
        )


def ready_line(base_url: str, environ: MutableMapping[str, str]) -> str:
    keys = dev_keys_in_use(environ)
    names = {v: k for k, v in DEV_KEYS.items()}
    shown = " ".join(f"{names[k]}={k}" for k in keys) or "(none: dev keys not configured)"
    return (
        f"Log pipeline ready at {base_url}/api  dashboard {base_url}/api/dashboard  "
        f"dev keys: {shown}"
    )


def data_dir(root: Path) -> Path:
    path = Path(os.environ.get("DEVHOST_DATA") or root / ".devdata")
    path.mkdir(parents=True, exist_ok=True)
    return path
