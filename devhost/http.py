"""HTTP triggers on aiohttp: route templates as the Functions host reads them, requests and
responses converted to and from azure.functions types."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
import orjson
from aiohttp import web

from devhost.registry import FunctionSpec

log = logging.getLogger("devhost.http")

Invoke = Callable[[FunctionSpec, func.HttpRequest], Awaitable[Any]]
_PARAM = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::[^}?]+)?(\?)?\}")


def aiohttp_path(prefix: str, template: str) -> str:
    """`logs/{id}` -> `/api/logs/{id}`; `{*path}` catch-all -> `{path:.*}`."""

    def convert(match: re.Match[str]) -> str:
        catch_all, name, _optional = match.groups()
        return f"{{{name}:.*}}" if catch_all else f"{{{name}}}"

    path = _PARAM.sub(convert, template.strip("/"))
    return f"/{prefix}/{path}" if prefix else f"/{path}"


def _specificity(template: str) -> tuple[int, int, int]:
    """Literal routes before parameterised ones, catch-alls last, as ASP.NET routing orders."""
    segments = template.strip("/").split("/")
    catch_all = sum(1 for s in segments if s.startswith("{*"))
    params = sum(1 for s in segments if s.startswith("{"))
    return (catch_all, params, -len(segments))


def _to_request(request: web.Request, body: bytes) -> func.HttpRequest:
    params: dict[str, str] = {}
    for key in request.query:
        params[key] = ",".join(request.query.getall(key))
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params=params,
        route_params=dict(request.match_info),
        body=body,
    )


def _to_response(result: Any) -> web.StreamResponse:
    if result is None:
        return web.Response(status=204)
    if not isinstance(result, func.HttpResponse):
        return web.Response(body=orjson.dumps(result), content_type="application/json")
    headers = dict(result.headers)
    content_type = headers.pop("Content-Type", None) or headers.pop("content-type", None)
    if content_type is None and result.mimetype:
        content_type = result.mimetype
        if result.charset and result.mimetype.startswith(("text/", "application/json")):
            content_type += f"; charset={result.charset}"
    if content_type:
        headers["Content-Type"] = content_type
    return web.Response(status=result.status_code, body=result.get_body(), headers=headers)


def routes(prefix: str, specs: list[FunctionSpec], invoke: Invoke) -> list[web.RouteDef]:
    http_specs = [s for s in specs if s.trigger_type == "httpTrigger"]
    http_specs.sort(key=lambda s: _specificity(s.trigger.get("route") or s.name))
    table = []
    for spec in http_specs:
        template = spec.trigger.get("route") or spec.name
        methods = [m.upper() for m in (spec.trigger.get("methods") or ["GET", "POST"])]
        handler = _handler(spec, invoke)
        for method in methods:
            if method == "HEAD" and "GET" in methods:
                continue  # aiohttp routes HEAD with GET
            table.append(web.route(method, aiohttp_path(prefix, template), handler))
    return table


def _handler(spec: FunctionSpec, invoke: Invoke) -> Callable[[web.Request], Awaitable[Any]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            result = await invoke(spec, _to_request(request, body))
        except Exception:
            log.exception("function %s failed", spec.name)
            return web.json_response({"error": "internal error", "detail": None}, status=500)
        return _to_response(result)

    handle.__name__ = f"http_{spec.name}"
    return handle
