"""Security headers of the dashboard: a strict Content-Security-Policy (scripts and styles
only from the app itself, no inline code, no eval, no framing) that still lets the page
reach the SignalR endpoint."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

_WEBSOCKET_SCHEME = {"https": "wss", "http": "ws"}


def origins(sources: Iterable[str]) -> list[str]:
    """The origins of the given URLs, each with its WebSocket twin (https -> wss)."""
    found: list[str] = []
    for source in sources:
        parts = urlsplit(source.strip())
        if parts.scheme not in ("https", "http", "wss", "ws") or not parts.hostname:
            continue
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        for scheme in (parts.scheme, _WEBSOCKET_SCHEME.get(parts.scheme)):
            origin = f"{scheme}://{host}" if scheme else None
            if origin and origin not in found:
                found.append(origin)
    return found


def content_security_policy(connect_sources: Iterable[str] = ()) -> str:
    connect = " ".join(["'self'", *origins(connect_sources)])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            f"connect-src {connect}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers(connect_sources: Iterable[str] = ()) -> dict[str, str]:
    """Headers for the HTML page."""
    return {
        "Content-Security-Policy": content_security_policy(connect_sources),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }


def asset_headers() -> dict[str, str]:
    """Headers for scripts, styles and images."""
    return {"X-Content-Type-Options": "nosniff", "Cross-Origin-Resource-Policy": "same-origin"}
