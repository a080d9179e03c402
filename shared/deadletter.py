"""Dead letters: what a sink could never process, kept whole in Blob Storage with the reason.

One blob per failure: `{sink}/{yyyy}/{mm}/{dd}/{HH}/{time}-{uuid}.json` holding the sink, the
reason, the attempt count and the records (decoded where possible, raw text otherwise)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from shared import blob
from shared.settings import Settings


def _entry(item: Any) -> Any:
    if isinstance(item, bytes | bytearray | memoryview):
        raw = bytes(item)
        try:
            return {"raw": raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"raw_base64": base64.b64encode(raw).decode()}
    return item


def document(
    sink: str, reason: str, items: Sequence[Any], attempts: int, now: datetime | None = None
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "sink": sink,
        "reason": reason,
        "attempts": attempts,
        "failed_at": now.isoformat(),
        "count": len(items),
        "records": [_entry(i) for i in items],
    }


def blob_name(sink: str, now: datetime) -> str:
    return f"{sink}/{now:%Y/%m/%d/%H}/{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex}.json"


async def write(
    settings: Settings, sink: str, reason: str, items: Sequence[Any], attempts: int = 1
) -> str:
    """Write one dead letter and return its blob name. Raises if Blob Storage refuses, so the
    caller's batch is retried rather than lost."""
    from azure.storage.blob import ContentSettings

    now = datetime.now(UTC)
    name = blob_name(sink, now)
    body = orjson.dumps(document(sink, reason, items, attempts, now), option=orjson.OPT_INDENT_2)
    client = await blob.container(settings, settings.deadletter_container)
    await client.upload_blob(
        name,
        body,
        overwrite=True,
        metadata={"sink": sink, "count": str(len(items)), "attempts": str(attempts)},
        content_settings=ContentSettings(content_type="application/json"),
    )
    return name
