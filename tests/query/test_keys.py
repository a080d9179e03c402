"""The key command: a new key is printed once, only its hash is written, and the key then
authenticates with its role and service scope; list and revoke by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared import keys
from shared.access import KeyRing, Role, authenticate, hash_key
from shared.errors import Unauthorised

KEY = re.compile(r"key \(shown once, only its SHA-256 hash is kept\): (lpk_[A-Za-z0-9_-]+)")


def created_key(output: str) -> str:
    found = KEY.search(output)
    assert found, output
    return found.group(1)


def test_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "local.settings.json"
    args = ["--file", str(settings), "create", "--role", "reader", "--name", "desk"]
    assert keys.main([*args, "--services", "svc-a,svc-b"]) == 0
    key = created_key(capsys.readouterr().out)
    text = settings.read_text()
    assert key not in text and hash_key(key) in text
    entries = json.loads(json.loads(text)["Values"]["API_KEYS"])
    assert any(e["name"] == "dev-admin" for e in entries), "created from the example file"
    ring = KeyRing.from_entries(entries)
    caller = authenticate({"X-Api-Key": key}, [Role.READER], ring)
    assert (caller.name, caller.role, caller.services) == ("desk", Role.READER, ("svc-a", "svc-b"))

    assert keys.main(args) == 2
    assert "exists" in capsys.readouterr().err

    assert keys.main(["--file", str(settings), "list"]) == 0
    listing = capsys.readouterr().out
    assert "desk" in listing and "svc-a,svc-b" in listing and key not in listing

    assert keys.main(["--file", str(settings), "revoke", "desk"]) == 0
    entries = json.loads(json.loads(settings.read_text())["Values"]["API_KEYS"])
    with pytest.raises(Unauthorised):
        authenticate({"X-Api-Key": key}, [Role.READER], KeyRing.from_entries(entries))
    assert keys.main(["--file", str(settings), "revoke", "desk"]) == 2


def test_print_entry_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "local.settings.json"
    argv = ["--file", str(settings), "create", "--role", "ingest", "--name", "bots"]
    assert keys.main([*argv, "--service", "trading-engine", "--print-entry"]) == 0
    out = capsys.readouterr().out
    entry = json.loads(out.splitlines()[0])
    assert entry == {
        "name": "bots",
        "hash": hash_key(created_key(out)),
        "role": "ingest",
        "service": "trading-engine",
    }
    assert not settings.exists()


def test_scopes_fit_the_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "local.settings.json"
    base = ["--file", str(settings), "create", "--name", "x"]
    assert keys.main([*base, "--role", "reader", "--service", "a"]) == 2
    assert keys.main([*base, "--role", "ingest", "--services", "a"]) == 2
    assert "shown once" not in capsys.readouterr().out
    if settings.exists():
        entries = json.loads(json.loads(settings.read_text())["Values"]["API_KEYS"])
        assert "x" not in {e["name"] for e in entries}
