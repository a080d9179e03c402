"""JSON replies and the one place where pipeline errors become HTTP responses."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import orjson

from shared.errors import PipelineError
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[func.HttpResponse]]


def reply(status: int, body: Any, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        body=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        headers=headers,
        mimetype="application/json",
    )


def error_reply(exc: PipelineError) -> func.HttpResponse:
    return reply(exc.status, exc.body(), exc.headers)


def _cors_headers(req: func.HttpRequest, settings: Settings) -> dict[str, str]:
    origin = req.headers.get("Origin")
    allowed = settings.cors_allowed_origins
    if not origin or not allowed or (origin not in allowed and "*" not in allowed):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Headers": "Authorization, X-Api-Key, Content-Type, Content-Encoding",
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def json_errors(handler: Handler) -> Handler:
    """Turn PipelineErrors into their JSON responses and anything else into a 500 that
    carries no stack trace; add CORS headers for allowed origins."""

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            response = await handler(req, *args, **kwargs)
        except PipelineError as exc:
            response = error_reply(exc)
        except Exception:
            log.exception("unhandled error in %s", handler.__name__)
            response = reply(500, {"error": "internal error", "detail": None})
        cors = _cors_headers(req, get_settings())
        for name, value in cors.items():
            response.headers[name] = value
        return response

    return wrapper


def query_pairs(req: func.HttpRequest) -> list[tuple[str, str]]:
    """Every (name, value) of the query string, repeats kept (the URL when it carries the query,
    else the host's parsed params, which may have joined repeats with commas)."""
    query = urlsplit(req.url).query
    if query:
        return parse_qsl(query, keep_blank_values=True)
    return list(req.params.items())
