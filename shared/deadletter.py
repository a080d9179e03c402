"""Dead letters: what a sink could never process, kept whole in Blob Storage with the reason.

One blob per failure, `{sink}/{yyyy}/{mm}/{dd}/{HH}/{name}.json`, holding the sink, the
reason, the attempt count, where the items came from (`details`) and the items themselves:
records as JSON objects, undecodable bodies as `{"raw": text}` or `{"raw_base64": ...}`.
`shared.replay` puts them back and then moves them under `replayed/`."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from shared import blob
from shared.settings import Settings


class Sink(StrEnum):
    """The sink a dead letter came from, which replay sends it back to."""

    STORE = "postgres"
    ARCHIVE = "archive"
    ANALYZE = "analyze"
    NOTIFY = "notify"
    """Alert notifications; `details.channel` names the channel (webhook, telegram)."""


LEGACY_NOTIFY_PREFIX = "notify-"
"""Notification dead letters once named their channel in the sink (`notify-webhook`)."""
REPLAYED_PREFIX = "replayed/"
RAW_KEYS = ("raw", "raw_base64")
MAX_REASON_METADATA = 1024
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9._-]+")
NAME_PATTERN = re.compile(r"^(?P<sink>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/")


def _entry(item: Any) -> Any:
    if isinstance(item, bytes | bytearray | memoryview):
        raw = bytes(item)
        try:
            return {"raw": raw.decode("utf-8")}
        except UnicodeDecodeError:
            return {"raw_base64": base64.b64encode(raw).decode()}
    if isinstance(item, str):
        return {"raw": item}
    return item


def is_raw(entry: Any) -> bool:
    """True when a stored entry is an undecodable body rather than a record."""
    return isinstance(entry, dict) and len(entry) == 1 and next(iter(entry)) in RAW_KEYS


def raw_bytes(entry: Mapping[str, str]) -> bytes:
    if "raw" in entry:
        return entry["raw"].encode("utf-8")
    return base64.b64decode(entry["raw_base64"])


def document(
    sink: str,
    reason: str,
    items: Sequence[Any],
    attempts: int,
    now: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "sink": sink,
        "reason": reason,
        "attempts": attempts,
        "failed_at": now.isoformat(),
        "details": dict(details or {}),
        "count": len(items),
        "records": [_entry(i) for i in items],
    }


def blob_name(sink: str, at: datetime, key: str | None = None) -> str:
    """Filed under the hour `at`; a `key` makes the name deterministic, so a retried write
    replaces its own dead letter instead of adding a copy."""
    at = at.astimezone(UTC)
    leaf = _UNSAFE_KEY.sub("_", key) if key else f"{at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex}"
    return f"{sink}/{at:%Y/%m/%d/%H}/{leaf}.json"


def _ascii(text: str, limit: int = MAX_REASON_METADATA) -> str:
    return text.encode("ascii", "replace").decode("ascii").replace("\n", " ")[:limit]


async def write(
    settings: Settings,
    sink: str,
    reason: str,
    items: Sequence[Any],
    attempts: int = 1,
    *,
    key: str | None = None,
    at: datetime | None = None,
    details: Mapping[str, Any] | None = None,
) -> str:
    """Write one dead letter and return its blob name. Raises if Blob Storage refuses, so the
    caller's batch is retried rather than lost."""
    from azure.storage.blob import ContentSettings

    now = datetime.now(UTC)
    name = blob_name(sink, at or now, key)
    body = orjson.dumps(
        document(sink, reason, items, attempts, now, details),
        option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
    )
    client = await blob.container(settings, settings.deadletter_container)
    await client.upload_blob(
        name,
        body,
        overwrite=True,
        metadata={
            "sink": _ascii(sink, 64),
            "count": str(len(items)),
            "attempts": str(attempts),
            "reason": _ascii(reason),
        },
        content_settings=ContentSettings(content_type="application/json"),
    )
    return name


@dataclass(frozen=True, slots=True)
class DeadLetter:
    name: str
    sink: str
    reason: str
    attempts: int
    failed_at: str
    details: dict[str, Any]
    records: list[Any]


def parse(name: str, body: bytes) -> DeadLetter:
    doc = orjson.loads(body)
    sink = str(doc.get("sink", ""))
    details = dict(doc.get("details") or {})
    if sink.startswith(LEGACY_NOTIFY_PREFIX):
        details.setdefault("channel", sink.removeprefix(LEGACY_NOTIFY_PREFIX))
        sink = Sink.NOTIFY
    return DeadLetter(
        name=name,
        sink=sink,
        reason=str(doc.get("reason", "")),
        attempts=int(doc.get("attempts", 1)),
        failed_at=str(doc.get("failed_at", "")),
        details=details,
        records=list(doc.get("records") or []),
    )


async def read(settings: Settings, name: str) -> DeadLetter:
    client = await blob.container(settings, settings.deadletter_container)
    downloader = await client.download_blob(name)
    return parse(name, await downloader.readall())


async def move_aside(settings: Settings, name: str) -> str:
    """Move a replayed dead letter under `replayed/` (kept for the audit trail, out of the way
    of the next replay). Returns the new name."""
    client = await blob.container(settings, settings.deadletter_container)
    source = client.get_blob_client(name)
    downloader = await source.download_blob()
    body = await downloader.readall()
    properties = downloader.properties
    target = f"{REPLAYED_PREFIX}{name}"
    await client.upload_blob(
        target,
        body,
        overwrite=True,
        metadata=dict(properties.metadata or {}) | {"replayed_at": datetime.now(UTC).isoformat()},
        content_settings=properties.content_settings,
    )
    await source.delete_blob()
    return target
