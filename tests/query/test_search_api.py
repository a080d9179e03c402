"""The read API through the functions of `function_app`, against a real PostgreSQL: filters,
keyset pages, full text, views by role, per-service keys, errors."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from shared import db, store
from shared.access import READER_HIDDEN_FIELDS
from shared.settings import reset_settings
from tests.conftest import free_port
from tests.query.conftest import (
    NEAR_PHRASE,
    PHRASE,
    SERVICE_A,
    SERVICE_B,
    SERVICE_C,
    SERVICES,
    SUFFIX,
    DataSet,
    call,
    search,
)

pytestmark = pytest.mark.usefixtures("query_settings")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def words_of(record: dict[str, Any]) -> set[str]:
    """The words `q` matches in a record (docs/api.md): message, service, logger_name,
    event_type, exception_type and the string values of extra_data, split at anything but
    letters and digits."""
    names = ("message", "service", "logger_name", "event_type", "exception_type")
    strings = [v for v in record["extra_data"].values() if isinstance(v, str)]
    text = " ".join([*(str(record.get(n) or "") for n in names), *strings])
    return set(re.split(r"[^0-9a-z]+", text.lower()))


def ours(dataset: DataSet) -> list[tuple[str, str]]:
    return [("service", s) for s in SERVICES]


async def test_one_service_newest_first(dataset: DataSet) -> None:
    reply = await search({"service": SERVICE_B, "limit": "1000"})
    assert reply.status == 200
    body = reply.json()
    assert ids(body["items"]) == ids(dataset.of(SERVICE_B))
    assert body["next_cursor"] is None


async def test_repeated_service_parameter(dataset: DataSet) -> None:
    reply = await search([("service", SERVICE_B), ("service", SERVICE_C), ("limit", "1000")])
    assert ids(reply.json()["items"]) == ids(dataset.of(SERVICE_B, SERVICE_C))


async def test_keyset_pages_cover_everything_once_in_order(dataset: DataSet) -> None:
    seen: list[str] = []
    token = None
    while True:
        query = [*ours(dataset), ("limit", "7")] + ([("cursor", token)] if token else [])
        body = (await search(query)).json()
        seen += ids(body["items"])
        token = body["next_cursor"]
        if token is None:
            break
    assert seen == ids(dataset.records)


async def test_pages_stay_stable_while_newer_rows_arrive(dataset: DataSet, pg: Any) -> None:
    service = f"qd-stable-{SUFFIX}"

    def record(n: int, seconds: int) -> dict[str, Any]:
        moment = dataset.now - timedelta(seconds=seconds)
        return {
            "id": f"stable-{SUFFIX}-{n}",
            "timestamp": moment,
            "level": "INFO",
            "service": service,
            "message": f"row {n}",
        }

    older = [record(n, 10 * n) for n in range(12)]
    await store.write(pg, older)
    first = (await search([("service", service), ("limit", "5")])).json()
    await store.write(pg, [record(100, -5), record(101, 25)])
    second = (
        await search([("service", service), ("limit", "5"), ("cursor", first["next_cursor"])])
    ).json()
    assert ids(first["items"]) == [f"stable-{SUFFIX}-{n}" for n in range(5)]
    assert ids(second["items"]) == [f"stable-{SUFFIX}-{n}" for n in (5, 6, 7, 8, 9)]


async def test_level_and_min_level(dataset: DataSet) -> None:
    errors = (await search([*ours(dataset), ("level", "error"), ("limit", "1000")])).json()
    assert ids(errors["items"]) == ids([r for r in dataset.records if r["level"] == "ERROR"])
    serious = (await search([*ours(dataset), ("min_level", "WARNING"), ("limit", "1000")])).json()
    expected = [r for r in dataset.records if r["level"] in ("WARNING", "ERROR")]
    assert ids(serious["items"]) == ids(expected)
    by_number = (await search([*ours(dataset), ("min_level", "30"), ("limit", "1000")])).json()
    assert ids(by_number["items"]) == ids(expected)


async def test_one_request_across_services(dataset: DataSet) -> None:
    request_id = f"req-{SUFFIX}-3"
    body = (await search({"request_id": request_id})).json()
    expected = [r for r in dataset.records if r["request_id"] == request_id]
    assert len({r["service"] for r in expected}) > 1
    assert ids(body["items"]) == ids(expected)


@pytest.mark.parametrize("name", ["logger_name", "event_type", "user_id", "session_id"])
async def test_exact_text_filters(dataset: DataSet, name: str) -> None:
    value = dataset.records[7][name]
    body = (await search([*ours(dataset), (name, value), ("limit", "1000")])).json()
    assert ids(body["items"]) == ids([r for r in dataset.records if r[name] == value])


async def test_full_text_word_and_exact_phrase(dataset: DataSet) -> None:
    words = (await search([*ours(dataset), ("q", "heartbeat"), ("limit", "1000")])).json()
    assert ids(words["items"]) == ids([r for r in dataset.records if "heartbeat" in words_of(r)])
    assert any(NEAR_PHRASE in r["message"] for r in dataset.records)
    exact = (await search([*ours(dataset), ("q", f'"{PHRASE}"'), ("limit", "1000")])).json()
    assert ids(exact["items"]) == ids([r for r in dataset.records if PHRASE in r["message"]])


async def test_full_text_pages_across_time_slices(dataset: DataSet) -> None:
    seen: list[str] = []
    token = None
    while True:
        query = [*ours(dataset), ("q", "order"), ("limit", "4")]
        body = (await search(query + ([("cursor", token)] if token else []))).json()
        seen += ids(body["items"])
        token = body["next_cursor"]
        if token is None:
            break
    assert seen == ids([r for r in dataset.records if "order" in words_of(r)])


async def test_start_and_end(dataset: DataSet) -> None:
    start = (dataset.now - timedelta(minutes=10)).isoformat()
    end = (dataset.now - timedelta(minutes=5)).isoformat()
    body = (
        await search([*ours(dataset), ("start", start), ("end", end), ("limit", "1000")])
    ).json()
    expected = [
        r
        for r in dataset.records
        if dataset.now - timedelta(minutes=10)
        <= r["timestamp"]
        < dataset.now - timedelta(minutes=5)
    ]
    assert expected and ids(body["items"]) == ids(expected)
    relative = (await search([*ours(dataset), ("start", "2h"), ("limit", "1000")])).json()
    assert ids(relative["items"]) == ids(dataset.records)
    future = (await search([*ours(dataset), ("end", "3h")])).json()
    assert future["items"] == []


async def test_reader_gets_the_reader_view_admin_everything(dataset: DataSet) -> None:
    query = [("service", SERVICE_A), ("level", "ERROR")]
    admin = (await search(query, key="admin")).json()["items"]
    reader = (await search(query, key="reader")).json()["items"]
    assert ids(admin) == ids(reader) and admin
    assert all(admin[0][f] for f in READER_HIDDEN_FIELDS)
    for item in reader:
        assert not set(READER_HIDDEN_FIELDS) & set(item)
    one = await call("get_log", "logs/x", key="reader", route_params={"id": admin[0]["id"]})
    assert one.status == 200 and not set(READER_HIDDEN_FIELDS) & set(one.json())


async def test_limited_key_never_sees_another_service(dataset: DataSet) -> None:
    body = (await search([*ours(dataset), ("limit", "1000")], key="limited")).json()
    assert ids(body["items"]) == ids(dataset.of(SERVICE_A))
    other = (await search({"service": SERVICE_B}, key="limited")).json()
    assert other["items"] == []
    by_request = (await search({"request_id": f"req-{SUFFIX}-3"}, key="limited")).json()
    assert {i["service"] for i in by_request["items"]} == {SERVICE_A}
    foreign = dataset.of(SERVICE_B)[0]["id"]
    hidden = await call("get_log", "logs/x", key="limited", route_params={"id": foreign})
    assert hidden.status == 404
    own = await call(
        "get_log", "logs/x", key="limited", route_params={"id": dataset.of(SERVICE_A)[0]["id"]}
    )
    assert own.status == 200


async def test_record_by_id(dataset: DataSet) -> None:
    record = dataset.records[3]
    reply = await call("get_log", "logs/x", route_params={"id": record["id"]})
    assert reply.status == 200
    body = reply.json()
    assert body["id"] == record["id"] and body["message"] == record["message"]
    assert body["extra_data"] == record["extra_data"]
    missing = await call("get_log", "logs/x", route_params={"id": "no-such-id"})
    assert missing.status == 404 and missing.json()["error"]
    extra = await call("get_log", "logs/x", {"verbose": "1"}, route_params={"id": record["id"]})
    assert extra.status == 400 and extra.json()["detail"]["parameter"] == "verbose"


async def test_credentials_and_roles(dataset: DataSet) -> None:
    assert (await search({}, key=None)).status == 401
    assert (await search({}, key="not-a-key")).status == 401
    assert (await search({}, key="ingest")).status == 403
    assert (await call("log_stats", "logs/stats", key="ingest")).status == 403
    assert (await call("export_logs", "logs/export", key=None)).status == 401


@pytest.mark.parametrize(
    ("name", "value"),
    [("limit", "lots"), ("start", "last tuesday"), ("min_level", "LOUD"), ("cursor", "x.y")],
)
async def test_bad_parameters_are_400_naming_them(name: str, value: str) -> None:
    reply = await search({name: value})
    assert reply.status == 400
    assert reply.json()["detail"]["parameter"] == name


async def test_unknown_parameter_is_400() -> None:
    reply = await search({"sevrice": "x"})
    assert reply.status == 400 and reply.json()["detail"]["parameter"] == "sevrice"


async def test_tampered_cursor_is_refused(dataset: DataSet) -> None:
    token = (await search([*ours(dataset), ("limit", "3")])).json()["next_cursor"]
    body, _, mac = token.partition(".")
    tampered = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + mac
    reply = await search([*ours(dataset), ("cursor", tampered)])
    assert reply.status == 400 and reply.json()["detail"]["parameter"] == "cursor"


INJECTIONS = [
    "'; DROP TABLE system_logs; --",
    "' OR '1'='1",
    '" OR 1=1 --',
    "1); DELETE FROM system_logs WHERE (1=1",
    "x' UNION SELECT * FROM pg_user --",
    "$1",
    "%' OR message ILIKE '%",
    "!!(:*&|<->)",
]


@pytest.mark.parametrize("injection", INJECTIONS)
async def test_injection_in_every_parameter_changes_nothing(
    dataset: DataSet, pg: asyncpg.Connection, injection: str
) -> None:
    before = await pg.fetchval("SELECT count(*) FROM system_logs")
    for name in (
        "q",
        "level",
        "min_level",
        "service",
        "logger_name",
        "event_type",
        "request_id",
        "user_id",
        "session_id",
        "start",
        "end",
        "limit",
        "cursor",
    ):
        reply = await search({name: injection})
        assert reply.status in (200, 400), (name, reply.body)
        if reply.status == 200 and name != "q":
            assert reply.json()["items"] == [], name
    stats = await call("log_stats", "logs/stats", {"range": injection})
    assert stats.status == 400
    export = await call("export_logs", "logs/export", {"format": injection})
    assert export.status == 400
    by_id = await call("get_log", "logs/x", route_params={"id": injection})
    assert by_id.status == 404
    assert await pg.fetchval("SELECT count(*) FROM system_logs") == before
    assert await pg.fetchval("SELECT to_regclass('system_logs') IS NOT NULL")


async def test_cors_preflight_and_headers(dataset: DataSet) -> None:
    allowed = await call(
        "cors_preflight",
        "logs/search",
        key=None,
        method="OPTIONS",
        headers={"Origin": "https://ops.example", "Access-Control-Request-Method": "GET"},
        route_params={"path": "logs/search"},
    )
    assert allowed.status == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ops.example"
    assert "X-Api-Key" in allowed.headers["Access-Control-Allow-Headers"]
    refused = await call(
        "cors_preflight",
        "logs/search",
        key=None,
        method="OPTIONS",
        headers={"Origin": "https://evil.example"},
        route_params={"path": "logs/search"},
    )
    assert "Access-Control-Allow-Origin" not in refused.headers
    reply = await call(
        "search_logs",
        "logs/search",
        {"service": SERVICE_A},
        headers={"Origin": "https://ops.example"},
    )
    assert reply.headers["Access-Control-Allow-Origin"] == "https://ops.example"


async def test_search_past_its_time_limit_is_503(
    dataset: DataSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEARCH_TIMEOUT_SECONDS", "0.000001")
    reset_settings()
    reply = await search([*ours(dataset), ("q", "order")])
    assert reply.status == 503
    assert "start/end" in reply.json()["error"] and reply.headers["Retry-After"]


async def test_database_down_is_503_not_500(monkeypatch: pytest.MonkeyPatch) -> None:
    await db.close()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    reset_settings()
    try:
        for name, path in (("search_logs", "logs/search"), ("log_stats", "logs/stats")):
            reply = await call(name, path)
            assert reply.status == 503, reply.body
        export = await call("export_logs", "logs/export")
        assert export.status == 503
        by_id = await call("get_log", "logs/x", route_params={"id": "x"})
        assert by_id.status == 503
    finally:
        await db.close()


async def test_fields_select_columns_within_the_role(dataset: DataSet) -> None:
    query = [("service", SERVICE_A), ("level", "ERROR"), ("fields", "message,stack_trace")]
    admin = (await search(query, key="admin")).json()["items"]
    reader = (await search(query, key="reader")).json()["items"]
    assert admin and set(admin[0]) == {"id", "timestamp", "message", "stack_trace"}
    assert admin[0]["stack_trace"]
    assert set(reader[0]) == {"id", "timestamp", "message"}
    record_id = admin[0]["id"]
    one = await call(
        "get_log", "logs/x", {"fields": "ip_address"}, key="reader", route_params={"id": record_id}
    )
    assert one.status == 200 and set(one.json()) == {"id", "timestamp"}
    bad = await search([("fields", "message,password")])
    assert bad.status == 400 and bad.json()["detail"]["parameter"] == "fields"
    csv_reply = await call(
        "export_logs",
        "logs/export",
        [("service", SERVICE_A), ("format", "csv"), ("fields", "level"), ("fields", "user_agent")],
        key="reader",
    )
    assert csv_reply.body.decode().splitlines()[0] == "id,timestamp,level"


def principal(role: str) -> str:
    claims = {"auth_typ": "aad", "claims": [{"typ": "roles", "val": role}], "role_typ": "roles"}
    return base64.b64encode(json.dumps(claims).encode()).decode()


async def test_signed_in_users_by_app_role(
    dataset: DataSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUST_CLIENT_PRINCIPAL", "true")
    reset_settings()
    query = {"service": SERVICE_A, "level": "ERROR"}
    as_reader = await call(
        "search_logs",
        "logs/search",
        query,
        key=None,
        headers={"X-MS-CLIENT-PRINCIPAL": principal("LogReader")},
    )
    as_admin = await call(
        "search_logs",
        "logs/search",
        query,
        key=None,
        headers={"X-MS-CLIENT-PRINCIPAL": principal("LogAdmin")},
    )
    assert as_reader.status == 200 and as_admin.status == 200
    assert "stack_trace" not in as_reader.json()["items"][0]
    assert as_admin.json()["items"][0]["stack_trace"]
    nobody = await call(
        "search_logs",
        "logs/search",
        query,
        key=None,
        headers={"X-MS-CLIENT-PRINCIPAL": principal("Trader")},
    )
    assert nobody.status == 401


async def test_trace_and_span_ids_are_exact_filters(dataset: DataSet, pg: Any) -> None:
    service = f"qd-trace-{SUFFIX}"
    trace = f"{SUFFIX:0>8}" + "4bf92f3577b34da6a3ce929d"
    rows = [
        {
            "id": f"trace-{SUFFIX}-{n}",
            "timestamp": dataset.now - timedelta(seconds=n),
            "level": "INFO",
            "service": service,
            "message": f"span row {n}",
            "trace_id": trace if n < 3 else "0" * 32,
            "span_id": f"{n % 2:016x}",
        }
        for n in range(5)
    ]
    await store.write(pg, rows)
    by_trace = (await search([("trace_id", trace)])).json()
    assert ids(by_trace["items"]) == [f"trace-{SUFFIX}-{n}" for n in range(3)]
    assert by_trace["items"][0]["trace_id"] == trace and by_trace["items"][0]["span_id"]
    both = (await search([("trace_id", trace), ("span_id", f"{1:016x}")])).json()
    assert ids(both["items"]) == [f"trace-{SUFFIX}-1"]
    by_span = (await search([("service", service), ("span_id", f"{0:016x}")])).json()
    assert ids(by_span["items"]) == [f"trace-{SUFFIX}-{n}" for n in (0, 2, 4)]


async def test_basic_auth_takes_the_key_as_password(dataset: DataSet) -> None:
    from tests.query.conftest import KEYS

    def basic(user: str, password: str) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    query = [("service", SERVICE_B), ("limit", "1")]
    for user in ("", "fluent-bit", "python-httphandler"):
        reply = await call("search_logs", "logs/search", query, None, basic(user, KEYS["reader"]))
        assert reply.status == 200, reply.body
    wrong = await call("search_logs", "logs/search", query, None, basic("x", "not-a-key"))
    assert wrong.status == 401
    garbage = await call("search_logs", "logs/search", query, None, {"Authorization": "Basic %%%"})
    assert garbage.status == 401
