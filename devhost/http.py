"""HTTP triggers on aiohttp: route templates as the Functions host reads them, requests handed
to the worker as the host's `RpcHttp` and its answers turned back into responses."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devhost import hostdata
from devhost.registry import FunctionSpec

log = logging.getLogger("devhost.http")

Reply = tuple[int, dict[str, str], list[str], bytes] | None
Invoke = Callable[[FunctionSpec, web.Request, Any], Awaitable[Reply]]
"""Invokes the function with its `RpcHttp` trigger binding; returns hostdata.http_response."""
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


def trigger_binding(spec: FunctionSpec, request: web.Request, body: bytes) -> Any:
    """The request as the host hands it to the worker: `RpcHttp`, repeated query parameters
    and headers joined with commas."""
    query = {key: ",".join(request.query.getall(key)) for key in request.query}
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return hostdata.http_request(
        spec.trigger.name,
        method=request.method,
        url=str(request.url),
        headers=headers,
        query=query,
        route_params=dict(request.match_info),
        body=body,
    )


def _to_response(result: Reply) -> web.StreamResponse:
    if result is None:
        return web.Response(status=204)
    status, headers, cookies, body = result
    response = web.Response(status=status, body=body)
    for name, value in headers.items():
        response.headers[name] = value
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


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
            result = await invoke(spec, request, trigger_binding(spec, request, body))
        except Exception:
            log.exception("function %s failed", spec.name)
            return web.json_response({"error": "internal error", "detail": None}, status=500)
        return _to_response(result)

    handle.__name__ = f"http_{spec.name}"
    return handle
