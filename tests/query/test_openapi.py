"""The OpenAPI document: every route of `function_app` is in it, and a schema-driven fuzz run
of the read API against a real PostgreSQL finds no 500 and only documented statuses."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from shared import openapi
from tests.query.conftest import SERVICES, DataSet, app_functions, call

pytestmark = pytest.mark.usefixtures("query_settings")
DOCUMENT = openapi.document()
CATCH_ALL = re.compile(r"\{\*?(\w+)(?::[^}]*)?\??\}")


def http_routes() -> list[tuple[str, str, str]]:
    routes = []
    for name, fn in app_functions().items():
        for binding in fn.get_bindings():
            if binding.type == "httpTrigger":
                path = "/" + CATCH_ALL.sub(r"{\1}", (binding.route or name).strip("/"))
                for method in binding.methods or ["GET", "POST"]:
                    routes.append((name, path, str(getattr(method, "value", method)).lower()))
    return routes


def test_every_route_of_the_app_is_documented() -> None:
    routes = http_routes()
    assert len(routes) >= 6
    missing = [r for r in routes if r[2] not in DOCUMENT["paths"].get(r[1], {})]
    assert not missing, f"routes missing from openapi.json: {missing}"


def test_document_is_valid_openapi_3() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.")
    text = repr(DOCUMENT)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in DOCUMENT["components"]["schemas"], ref
    operation_ids = [
        op["operationId"] for item in DOCUMENT["paths"].values() for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


async def test_served_document(dataset: DataSet) -> None:
    reply = await call("openapi_document", "openapi.json", key=None)
    assert reply.status == 200
    assert reply.json()["paths"].keys() == DOCUMENT["paths"].keys()


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that fit the parameter schema, rendered as query-string text."""
    if "oneOf" in schema:
        return st.one_of(*(from_schema(s) for s in schema["oneOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"]).map(str)
    if schema.get("type") == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6)).map(str)
    if schema.get("type") == "array":
        return st.lists(from_schema(schema["items"]), min_size=1, max_size=3)
    size = min(schema.get("maxLength", 40), 40)
    return st.one_of(
        st.text(min_size=schema.get("minLength", 0), max_size=size),
        st.sampled_from(["1h", "7d", "now", "2026-01-01T00:00:00Z", *SERVICES]),
    )


JUNK = st.text(max_size=30)


def inlined(schema: Any) -> Any:
    """The schema with its `#/components/schemas/...` references replaced by their targets."""
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            return inlined(DOCUMENT["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return {k: inlined(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inlined(v) for v in schema]
    return schema


def response_schema(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    content = operation["responses"][str(status)].get("content", {})
    found = content.get("application/json", {}).get("schema")
    return inlined(found) if found else None


def _pairs(name: str, value: str | list[str]) -> list[tuple[str, str]]:
    return [(name, v) for v in value] if isinstance(value, list) else [(name, value)]


def query_strategy(operation: dict[str, Any]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Each documented query parameter: mostly absent, else valid by its schema or junk; now
    and then a parameter the operation does not know."""
    absent: st.SearchStrategy[list[tuple[str, str]]] = st.just([])
    parts = []
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        valid = from_schema(parameter["schema"]).map(lambda v, n=name: _pairs(n, v))
        junk = JUNK.map(lambda v, n=name: _pairs(n, v))
        parts.append(st.one_of(absent, absent, absent, valid, valid, junk))
    stray = st.tuples(st.text(min_size=1, max_size=8), JUNK).map(lambda pair: [pair])
    parts.append(st.one_of(absent, absent, absent, stray))
    return st.tuples(*parts).map(lambda lists: [pair for part in lists for pair in part])


@pytest.fixture(scope="session")
async def session_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


FUZZED = {
    "search_logs": ("/logs/search", "logs/search"),
    "log_stats": ("/logs/stats", "logs/stats"),
    "export_logs": ("/logs/export", "logs/export"),
    "alerts": ("/alerts", "alerts"),
    "list_reports": ("/reports", "reports"),
    "list_trades": ("/trades", "trades"),
    "trade_stats": ("/trades/stats", "trades/stats"),
}


@pytest.mark.parametrize("name", sorted(FUZZED))
def test_fuzz_read_api_from_the_schema(
    name: str, dataset: DataSet, session_loop: asyncio.AbstractEventLoop
) -> None:
    path, route = FUZZED[name]
    seen = fuzz(name, path, route, ["admin", "reader", "limited"], session_loop)
    assert {200, 400} <= seen, f"the run reached both answers and a refusal: {sorted(seen)}"


def fuzz(
    name: str,
    path: str,
    route: str,
    keys: list[str],
    session_loop: asyncio.AbstractEventLoop,
    examples: int = 50,
) -> set[int]:
    """Schema-driven queries (valid, junk, unknown parameters) with each key: never a 500 or an
    undocumented status, a 400 names its parameter, and every JSON answer fits its schema.
    Returns the statuses seen."""
    operation = DOCUMENT["paths"][path]["get"]
    documented = {int(s) for s in operation["responses"]}
    seen: set[int] = set()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(query=query_strategy(operation), key=st.sampled_from(keys))
    def run(query: list[tuple[str, str]], key: str) -> None:
        reply = session_loop.run_until_complete(call(name, route, query, key=key))
        seen.add(reply.status)
        assert reply.status != 500, (query, reply.body)
        assert reply.status in documented, (query, reply.status, reply.body)
        if reply.status == 400:
            assert reply.json()["detail"]["parameter"]
        schema = response_schema(operation, reply.status)
        if schema is not None:
            OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(
                reply.json()
            )

    run()
    return seen


@given(record_id=st.text(max_size=300))
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzz_record_by_id(
    record_id: str, dataset: DataSet, session_loop: asyncio.AbstractEventLoop
) -> None:
    reply = session_loop.run_until_complete(
        call("get_log", "logs/x", route_params={"id": record_id})
    )
    assert reply.status in (200, 400, 404), (record_id, reply.body)
