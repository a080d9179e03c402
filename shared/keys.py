"""API key management: create, list and revoke keys in `local.settings.json`.

    python -m shared.keys create --role reader --name ops [--services a,b] [--print-entry]
    python -m shared.keys create --role ingest --name bot-7 --service trading-engine
    python -m shared.keys list
    python -m shared.keys revoke ops

A running host reads the keys again every KEYS_REFRESH_SECONDS (60) from KEYS_FILE (the dev
host: local.settings.json) or the Key Vault secret at KEYS_VAULT_URI (Azure), so a new or
revoked key takes effect within that time, without a restart; each command says so.

A new key is printed once; only its SHA-256 hash is written (`Values.API_KEYS`, a JSON list of
`{"name", "hash", "role", "service"?, "services"?}`). `--print-entry` writes nothing and prints
the entry for an app setting or Key Vault secret instead."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from shared.access import KeyRing, Role, hash_key
from shared.keysource import describe_refresh
from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_FILE = ROOT / "local.settings.json"
EXAMPLE_FILE = ROOT / "local.settings.example.json"
KEY_PREFIX = "lpk_"


class KeyCommandError(Exception):
    """A refused key operation, with a message for the operator."""


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def entry(
    name: str, role: Role, key: str, service: str | None = None, services: list[str] | None = None
) -> dict[str, Any]:
    """The API_KEYS entry of a key: never the key itself, only its hash."""
    if service and role is not Role.INGEST:
        raise KeyCommandError(
            "--service binds an ingest key to one service; use --services to limit"
        )
    if services and role is Role.INGEST:
        raise KeyCommandError("--services limits what a reader or admin key may read")
    item: dict[str, Any] = {"name": name, "hash": hash_key(key), "role": role.value}
    if service:
        item["service"] = service
    if services:
        item["services"] = services
    KeyRing.from_entries([item])
    return item


def load(path: Path) -> dict[str, Any]:
    """The settings file, created from the example when absent."""
    if not path.exists():
        if not EXAMPLE_FILE.exists():
            raise KeyCommandError(f"{path} does not exist and there is no {EXAMPLE_FILE.name}")
        shutil.copyfile(EXAMPLE_FILE, path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document.setdefault("Values", {})
    return document


def entries(document: dict[str, Any]) -> list[dict[str, Any]]:
    raw = document["Values"].get("API_KEYS") or "[]"
    found = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(found, list):
        raise KeyCommandError("Values.API_KEYS must be a JSON list")
    return found


def save(path: Path, document: dict[str, Any], items: list[dict[str, Any]]) -> None:
    document["Values"]["API_KEYS"] = json.dumps(items)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def create(
    path: Path,
    name: str,
    role: Role,
    service: str | None = None,
    services: list[str] | None = None,
) -> str:
    """Add a key named `name`; return the key (the only time it exists in clear)."""
    document = load(path)
    items = entries(document)
    if any(i.get("name") == name for i in items):
        raise KeyCommandError(
            f"a key named {name!r} exists; revoke it first or choose another name"
        )
    key = new_key()
    items.append(entry(name, role, key, service, services))
    save(path, document, items)
    return key


def revoke(path: Path, name: str) -> None:
    document = load(path)
    items = entries(document)
    kept = [i for i in items if i.get("name") != name]
    if len(kept) == len(items):
        raise KeyCommandError(f"no key named {name!r}")
    save(path, document, kept)


def takes_effect(path: Path) -> str:
    """When a running host sees a change to this file (a new or revoked key)."""
    values = load(path)["Values"] if path.exists() else {}
    env = {**{k: str(v) for k, v in values.items()}, **os.environ}
    try:
        settings = Settings.from_env(env)
    except ValueError:
        settings = Settings()
    if not settings.keys_file and path.resolve() == SETTINGS_FILE.resolve():
        settings = dataclasses.replace(settings, keys_file=str(path))
    return describe_refresh(settings)


def describe(item: dict[str, Any]) -> str:
    scope = item.get("service") or ",".join(item.get("services") or []) or "all services"
    return f"{item.get('name', '?'):<24} {item.get('role', '?'):<7} {scope:<30} {item['hash'][:12]}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shared.keys", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--file", type=Path, default=SETTINGS_FILE, help="settings file to edit")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="create a key and print it once")
    make.add_argument("--role", required=True, choices=[r.value for r in Role])
    make.add_argument("--name", required=True)
    make.add_argument("--service", help="bind an ingest key to this service")
    make.add_argument("--services", help="comma-separated services a reader/admin key may read")
    make.add_argument(
        "--print-entry", action="store_true", help="print the API_KEYS entry; write nothing"
    )
    commands.add_parser("list", help="list keys (names, roles, scopes, hash prefixes)")
    drop = commands.add_parser("revoke", help="remove a key by name")
    drop.add_argument("name")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "create":
            role = Role(args.role)
            services = [s.strip() for s in (args.services or "").split(",") if s.strip()] or None
            if args.print_entry:
                key = new_key()
                print(json.dumps(entry(args.name, role, key, args.service, services)))
                seconds = f"{Settings.from_env().keys_refresh_seconds:g}"
                print(
                    "add it to the API_KEYS Key Vault secret: apps with KEYS_VAULT_URI take "
                    f"it within {seconds} s (KEYS_REFRESH_SECONDS), without a restart"
                )
            else:
                key = create(args.file, args.name, role, args.service, services)
                print(f"created {role.value} key {args.name!r} in {args.file}")
                print(takes_effect(args.file))
            print(f"key (shown once, only its SHA-256 hash is kept): {key}")
        elif args.command == "list":
            for item in entries(load(args.file)):
                print(describe(item))
        else:
            revoke(args.file, args.name)
            print(f"revoked {args.name!r}")
            print(takes_effect(args.file))
    except KeyCommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
