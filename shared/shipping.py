"""What the shipper protocols (Elasticsearch bulk, Loki push, Seq CLEF) share: a batch built
from items some of which could not even be read as records, rejected with their reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.access import Caller
from shared.errors import BadRequest, Forbidden, TooLarge
from shared.ingest import Batch, build_batch, cycle_collector_paused
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class Unreadable:
    """An item of a request that is not a record at all, with the reason."""

    reason: str


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
