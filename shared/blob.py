"""The process's one aio Blob Storage client: a connection string locally (Azurite),
the managed identity in Azure."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from shared.settings import Settings

if TYPE_CHECKING:
    from azure.storage.blob.aio import BlobServiceClient, ContainerClient

_service: BlobServiceClient | None = None
_ready_containers: set[str] = set()


def _options(settings: Settings) -> dict[str, Any]:
    """Few, quick SDK retries: a failing call should fail within seconds so the Functions
    runtime's own retry policy (host.json) takes over, instead of the SDK's default of about
    a minute and a half per call."""
    from azure.storage.blob.aio import ExponentialRetry

    retry = ExponentialRetry(
        initial_backoff=settings.blob_retry_backoff_seconds,
        increment_base=2,
        retry_total=settings.blob_retry_total,
        random_jitter_range=1,
    )
    return {"retry_policy": retry, "connection_timeout": 10}


def service(settings: Settings) -> BlobServiceClient:
    global _service
    if _service is None:
        from azure.storage.blob.aio import BlobServiceClient

        conn = settings.storage_connection
        if conn.connection_string:
            _service = BlobServiceClient.from_connection_string(
                conn.connection_string, **_options(settings)
            )
        elif conn.service_uri:
            from shared.identity import credential

            _service = BlobServiceClient(
                conn.service_uri,
                credential=credential(conn.client_id or settings.azure_client_id),
                **_options(settings),
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
