"""The process's one aio Blob Storage client: a connection string locally (Azurite),
the managed identity in Azure."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob.aio import BlobServiceClient, ContainerClient

_service: BlobServiceClient | None = None
_ready_containers: set[str] = set()


def service(settings: Settings) -> BlobServiceClient:
    global _service
    if _service is None:
        from azure.storage.blob.aio import BlobServiceClient

        conn = settings.storage_connection
        if conn.connection_string:
            _service = BlobServiceClient.from_connection_string(conn.connection_string)
        elif conn.service_uri:
            from shared.identity import credential

            _service = BlobServiceClient(
                conn.service_uri, credential=credential(conn.client_id or settings.azure_client_id)
            )
        else:
            raise RuntimeError("Blob Storage is not configured (ArchiveStorage)")
    return _service


async def container(settings: Settings, name: str) -> ContainerClient:
    """A container client, creating the container on first use in this process."""
    from azure.core.exceptions import ResourceExistsError

    client = service(settings).get_container_client(name)
    if name not in _ready_containers:
        with contextlib.suppress(ResourceExistsError):
            await client.create_container()
        _ready_containers.add(name)
    return client


async def close() -> None:
    global _service
    if _service is not None:
        await _service.close()
        _service = None
    _ready_containers.clear()
