"""The API keys as they are now: `API_KEYS` read again every `KEYS_REFRESH_SECONDS`, so a
revoked key stops working, and a new one starts, within that bound and without a restart.

Where the keys are read from, on each refresh:
- `KEYS_FILE`: a `local.settings.json` (its `Values.API_KEYS`) or a file holding the JSON list;
  the dev host points it at its own settings file, which `python -m shared.keys` edits;
- `KEYS_VAULT_URI`: the Key Vault secret behind the `API_KEYS` app setting, read with the app's
  managed identity (App Service resolves a Key Vault reference only at start and then about
  once a day, so the reference alone would not bound revocation);
- neither: the process's own `API_KEYS`, which only a restart changes.

A refresh that fails (a file half written, the vault unreachable) keeps the keys last read and
is tried again at the next interval; the failure is logged without the keys."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.settings import Settings

log = logging.getLogger(__name__)

VAULT_SCOPE = "https://vault.azure.net/.default"
VAULT_API_VERSION = "7.4"
VAULT_TIMEOUT_SECONDS = 10.0


def entries_from_document(document: Any) -> list[dict[str, Any]]:
    """The key entries of a settings file or a plain list; ValueError when it has none."""
    if isinstance(document, dict):
        document = document.get("Values", {}).get("API_KEYS", "[]")
    if isinstance(document, str):
        document = json.loads(document or "[]")
    if not isinstance(document, list):
        raise ValueError("API_KEYS must be a JSON list")
    return document


def read_file(path: str) -> list[dict[str, Any]]:
    return entries_from_document(json.loads(Path(path).read_text(encoding="utf-8")))


async def read_vault(uri: str, client_id: str = "") -> list[dict[str, Any]]:
    """The API_KEYS secret's current value, with the process's managed identity."""
    import aiohttp

    from shared import identity

    token = await identity.credential(client_id).get_token(VAULT_SCOPE)
    url = f"{uri.rstrip('/')}?api-version={VAULT_API_VERSION}"
    timeout = aiohttp.ClientTimeout(total=VAULT_TIMEOUT_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers={"Authorization": f"Bearer {token.token}"}) as response,
    ):
        response.raise_for_status()
        secret = await response.json()
    return entries_from_document(secret["value"])


@dataclass
class KeySource:
    """The keys of one settings object, read again once an interval has passed."""

    settings: Settings
    build: Callable[[list[dict[str, Any]]], Any]
    clock: Callable[[], float] = time.monotonic
    ring: Any = None
    read_at: float = field(default=float("-inf"))
    pending: asyncio.Task[None] | None = None

    def current(self) -> Any:
        """The key ring, refreshed if it is older than the interval: from a file at once,
        from Key Vault in the background (the keys last read serve meanwhile)."""
        if self.ring is None:
            self.ring = self.build(list(self.settings.api_keys))
            if not (self.settings.keys_file or self.settings.keys_vault_uri):
                self.read_at = float("inf")
        now = self.clock()
        if now - self.read_at >= self.settings.keys_refresh_seconds:
            self.read_at = now
            if self.settings.keys_file:
                self._refresh_from_file()
            elif self.settings.keys_vault_uri:
                self._refresh_from_vault()
        return self.ring

    def _refresh_from_file(self) -> None:
        path = self.settings.keys_file
        if not Path(path).exists():
            return
        try:
            self.ring = self.build(read_file(path))
        except (OSError, ValueError) as exc:
            log.warning("API keys not refreshed from %s: %s", path, type(exc).__name__)

    def _refresh_from_vault(self) -> None:
        if self.pending is not None and not self.pending.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.pending = loop.create_task(self._vault())

    async def _vault(self) -> None:
        try:
            entries = await read_vault(self.settings.keys_vault_uri, self.settings.azure_client_id)
            self.ring = self.build(entries)
        except Exception as exc:  # any failure keeps the keys last read
            log.warning("API keys not refreshed from Key Vault: %s", type(exc).__name__)


def describe_refresh(settings: Settings) -> str:
    """How soon a new or revoked key takes effect, for the operator."""
    seconds = f"{settings.keys_refresh_seconds:g}"
    if settings.keys_file or settings.keys_vault_uri:
        where = settings.keys_file or "the Key Vault secret at KEYS_VAULT_URI"
        return (
            f"a running host reads the keys again from {where} every {seconds} s "
            "(KEYS_REFRESH_SECONDS): this change takes effect within "
            f"{seconds} s, without a restart"
        )
    return (
        "KEYS_FILE and KEYS_VAULT_URI are not set: a running host keeps the keys it started "
        "with, so this change takes effect at its next restart"
    )
