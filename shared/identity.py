"""The process's Azure credential: the user-assigned managed identity in Azure, the
developer's sign-in elsewhere. Created on first use, one per process."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.identity.aio import DefaultAzureCredential

_credential: DefaultAzureCredential | None = None


def credential(client_id: str = "") -> DefaultAzureCredential:
    global _credential
    if _credential is None:
        from azure.identity.aio import DefaultAzureCredential

        _credential = DefaultAzureCredential(managed_identity_client_id=client_id or None)
    return _credential
