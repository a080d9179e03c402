"""The dashboard page and its assets as HTTP answers, independent of the Functions runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import NotFound, Unavailable
from shared.page_policy import asset_headers, page_headers
from shared.settings import Settings
from shared.static import INDEX, asset_store


@dataclass(frozen=True, slots=True)
class StaticReply:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


async def serve(path: str, if_none_match: str | None, settings: Settings) -> StaticReply:
    """The built file at `path` under /api/dashboard/ (the page itself for an empty path).
    Raises NotFound for anything that is not a built file, Unavailable if nothing is built."""
    root = Path(settings.dashboard_dist_dir) if settings.dashboard_dist_dir else None
    store = asset_store(root)
    asset = await store.get(path or INDEX)
    if asset is None:
        if not store.built:
            raise Unavailable(
                "the dashboard is not built", "run `npm run build:dashboard`", retry_after=30
            )
        raise NotFound("no such dashboard file")
    headers = page_headers(settings.dashboard_connect_sources) if asset.is_page else asset_headers()
    headers |= {"Cache-Control": asset.cache_control, "ETag": asset.etag}
    if _etag_matches(if_none_match, asset.etag):
        return StaticReply(304, b"", asset.content_type, headers)
    return StaticReply(200, asset.body, asset.content_type, headers)
