"""What the shipper protocols (Elasticsearch bulk, Loki push, Seq CLEF) share: a batch built
from items some of which could not even be read as records, rejected with their reason."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.access import Caller
from shared.errors import BadRequest, Forbidden, TooLarge, UnsupportedMediaType
from shared.ingest import (
    UTF8_BOM,
    Batch,
    build_batch,
    cycle_collector_paused,
    decoded_body,
    media_type,
)
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An item of a request that is not a record at all, with the reason."""

    reason: str


def request_body(
    body: bytes,
    headers: Mapping[str, str],
    settings: Settings,
    accepted: Collection[str],
    send: str,
    text: bool = True,
) -> tuple[str, bytes]:
    """(media type, body after Content-Encoding) of a request whose Content-Type is one of
    `accepted` (415 otherwise, naming what to `send`), within the size limit (413), not empty
    (400); a text body loses a leading byte order mark."""
    kind = media_type(headers)
    if kind not in accepted:
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not supported; send {send}")
    data = decoded_body(body or b"", headers, settings.max_request_bytes)
    if text and data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data.strip():
        raise BadRequest("the body is empty")
    return kind, data


def _by_index(rejection: dict[str, Any]) -> int:
    return int(rejection["index"])


def build(
    items: Sequence[Any], caller: Caller, settings: Settings, now: datetime | None = None
) -> Batch:
    """`ingest.build_batch` over the readable items; rejections are indexed by position in
    `items` and include the unreadable ones. Raises as build_batch does when nothing is
    accepted (Forbidden, TooLarge when every item was over a size limit, else BadRequest),
    with every rejection as the detail."""
    positions = [i for i, item in enumerate(items) if not isinstance(item, Unreadable)]
    unreadable = [
        {"index": i, "error": item.reason}
        for i, item in enumerate(items)
        if isinstance(item, Unreadable)
    ]

    def everything(rejected: list[dict[str, Any]]) -> list[dict[str, Any]]:
        remapped = [{**r, "index": positions[r["index"]]} for r in rejected]
        return sorted(remapped + unreadable, key=_by_index)

    if not positions:
        raise BadRequest("no valid records", detail=unreadable)
    with cycle_collector_paused():
        try:
            batch = build_batch([items[i] for i in positions], caller, settings, now)
        except Forbidden as exc:
            exc.detail = everything(exc.detail or [])
            raise
        except (BadRequest, TooLarge) as exc:
            detail = everything(exc.detail or [])
            if isinstance(exc, TooLarge) and not unreadable:
                exc.detail = detail
                raise
            raise BadRequest("no valid records", detail=detail) from None
    batch.rejected = everything(batch.rejected)
    return batch
