"""The built dashboard's files, looked up safely: only plain relative names inside the build
directory, only known file types, each with its content type and cache policy.

Hashed build assets (`assets/name-HASH.js`) never change, so browsers may keep them for a year;
`index.html` names the current hashes, so it is revalidated on every load."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

INDEX = "index.html"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent / "dashboard" / "dist"

# Media types without parameters: the HTTP layer adds charset=utf-8 to text types.
CONTENT_TYPES: dict[str, str] = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".json": "application/json",
    ".txt": "text/plain",
}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
SHORT = "public, max-age=3600"

_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_HASHED = re.compile(r"-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$")
_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class Asset:
    path: str
    body: bytes
    content_type: str
    cache_control: str
    etag: str

    @property
    def is_page(self) -> bool:
        return self.content_type.startswith("text/html")


def safe_relative(requested: str) -> str | None:
    """The requested path as a clean relative name, or None when it is anything but plain
    segments (traversal, absolute paths, backslashes, NUL, hidden files, encoded tricks)."""
    path = requested.strip("/") or INDEX
    segments = path.split("/")
    if len(segments) > _MAX_DEPTH:
        return None
    if not all(_SEGMENT.fullmatch(s) and ".." not in s for s in segments):
        return None
    return "/".join(segments)


def cache_control(relative: str) -> str:
    if relative == INDEX:
        return REVALIDATE
    if relative.startswith("assets/") and _HASHED.search(relative):
        return IMMUTABLE
    return SHORT


class AssetStore:
    """Reads files of one build directory on first request and keeps them; a file that
    changed on disk (a rebuild during development) is read again."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[str, tuple[int, int, Asset]] = {}

    @property
    def built(self) -> bool:
        return (self.root / INDEX).is_file()

    async def get(self, requested: str) -> Asset | None:
        relative = safe_relative(requested)
        if relative is None:
            return None
        content_type = CONTENT_TYPES.get(Path(relative).suffix.lower())
        if content_type is None:
            return None
        return await asyncio.to_thread(self._load, relative, content_type)

    def _load(self, relative: str, content_type: str) -> Asset | None:
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        stat = candidate.stat()
        cached = self._cache.get(relative)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2]
        body = candidate.read_bytes()
        asset = Asset(
            path=relative,
            body=body,
            content_type=content_type,
            cache_control=cache_control(relative),
            etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
        )
        self._cache[relative] = (stat.st_mtime_ns, stat.st_size, asset)
        return asset


_stores: dict[Path, AssetStore] = {}


def asset_store(root: Path | None = None) -> AssetStore:
    """The process-wide store of a build directory (the default: dashboard/dist)."""
    key = (root or DEFAULT_ROOT).resolve()
    store = _stores.get(key)
    if store is None:
        store = _stores[key] = AssetStore(key)
    return store
