"""The stream and negotiate functions called as the host calls them: negotiate's statuses and
group actions, and a batch of Event Hub events reaching pysignalr clients by role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import azure.functions as func
import orjson
import pytest

from functions import stream as stream_functions
from shared import records
from shared.access import READER_HIDDEN_FIELDS, hash_key
from shared.settings import reset_settings
from tests.stream.conftest import HubFactory, ListenerFactory

KEYS = {"ingest": "fn-ingest", "reader": "fn-reader", "admin": "fn-admin"}
ADMIN_ID = "admin-8a1f6c2e-2b7d-4f0a-b3b5-5f4e0e2d9a77"


class Out:
    """What the host passes for an output binding: the function sets one value."""

    def __init__(self) -> None:
        self.value: Any = None

    def set(self, value: Any) -> None:
        self.value = value

    def get(self) -> Any:
        return self.value


def user_function(name: str) -> Any:
    for builder in stream_functions.bp._function_builders:
        function = builder.build()
        if function.get_function_name() == name:
            return function.get_user_function()
    raise LookupError(name)


@pytest.fixture(autouse=True)
def api_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entries = [{"name": r, "hash": hash_key(k), "role": r} for r, k in KEYS.items()]
    monkeypatch.setenv("API_KEYS", orjson.dumps(entries).decode())
    monkeypatch.setenv("SIGNALR_MAX_MESSAGE_BYTES", "2048")
    reset_settings()
    yield
    reset_settings()


def negotiate_request(headers: dict[str, str]) -> func.HttpRequest:
    return func.HttpRequest(
        method="POST", url="http://localhost/api/negotiate", headers=headers, body=b""
    )


async def test_negotiate_statuses_and_group_actions(hub_server: HubFactory) -> None:
    hub = (await hub_server()).hub
    negotiate = user_function("negotiate")
    cases = [
        ({}, 401),
        ({"X-Api-Key": "unknown"}, 401),
        ({"X-Api-Key": KEYS["ingest"]}, 403),
        ({"Authorization": f"Bearer {KEYS['ingest']}"}, 403),
    ]
    for headers, status in cases:
        out = Out()
        info = orjson.dumps(hub.connection_info(None)).decode()
        response = await negotiate(negotiate_request(headers), info, out)
        assert response.status_code == status, headers
        assert orjson.loads(response.get_body())["error"]
        assert out.value is None, "no group action for a refused caller"

    users = set()
    for key, group, other in (("reader", "readers", "admins"), ("admin", "admins", "readers")):
        out = Out()
        info = hub.connection_info(None)
        headers = {"Authorization": f"Bearer {KEYS[key]}"}
        response = await negotiate(negotiate_request(headers), orjson.dumps(info).decode(), out)
        assert response.status_code == 200
        assert orjson.loads(response.get_body()) == info
        (user,) = {a["userId"] for a in orjson.loads(out.value)}
        assert orjson.loads(out.value) == [
            {"userId": user, "groupName": other, "action": "remove"},
            {"userId": user, "groupName": group, "action": "add"},
        ]
        users.add(user)
    assert len(users) == 2, "each negotiation gets a user id of its own"


async def negotiated(hub: Any, key: str, user_id: str | None = None) -> dict[str, str]:
    out = Out()
    info = orjson.dumps(hub.connection_info(user_id)).decode()
    response = await user_function("negotiate")(negotiate_request({"X-Api-Key": key}), info, out)
    assert response.status_code == 200
    for action in orjson.loads(out.value):
        await hub.apply(action)
    return orjson.loads(response.get_body())


def event(record: dict[str, Any]) -> func.EventHubEvent:
    return func.EventHubEvent(body=records.encode(record))


async def test_a_batch_reaches_each_role_in_its_view(
    hub_server: HubFactory, listen: ListenerFactory
) -> None:
    hub = (await hub_server()).hub
    nothing = Out()
    await user_function("stream")([func.EventHubEvent(body=b"{}")], nothing)
    assert nothing.value is None, "no output when nothing in the batch decodes"
    reader_info = await negotiated(hub, KEYS["reader"])
    admin_info = await negotiated(hub, KEYS["admin"])
    reader = await listen(reader_info["url"], reader_info["accessToken"])
    admin = await listen(admin_info["url"], admin_info["accessToken"])

    batch = [
        {
            "id": f"evt-{i}",
            "timestamp": "2026-11-27T12:00:00+00:00",
            "received_at": "2026-11-27T12:00:01+00:00",
            "level": "ERROR",
            "level_no": 40,
            "service": "trading-engine",
            "message": f"order {i} failed " + "x" * 300,
            "stack_trace": "Traceback (most recent call last): ...",
            "exception_message": "insufficient margin",
            "ip_address": "10.1.2.3",
            "user_agent": "bot/2",
            "extra_data": {"order": i},
        }
        for i in range(12)
    ]
    out = Out()
    bodies = [event(r) for r in batch] + [func.EventHubEvent(body=b"not json")]
    await user_function("stream")(bodies, out)
    messages = orjson.loads(out.value)
    assert {m["groupName"] for m in messages} == {"admins", "readers"}
    assert len(messages) > 2, "a 2 KiB limit splits twelve 500-byte records"
    for message in messages:
        await hub.apply(message)

    ids = [r["id"] for r in batch]
    reader_messages = [m for m in messages if m["groupName"] == "readers"]
    admin_messages = [m for m in messages if m["groupName"] == "admins"]
    got_reader = await reader.wait_for("logs", len(reader_messages))
    got_admin = await admin.wait_for("logs", len(admin_messages))
    reader_records = [r for (array,) in got_reader for r in array]
    admin_records = [r for (array,) in got_admin for r in array]
    assert [r["id"] for r in reader_records] == ids
    assert [r["id"] for r in admin_records] == ids
    for r in reader_records:
        assert not set(READER_HIDDEN_FIELDS) & {k for k, v in r.items() if v is not None}
        assert r["extra_data"] == {"order": int(r["id"].split("-")[1])}
    assert admin_records[0]["stack_trace"].startswith("Traceback")
    assert admin_records[0]["timestamp"].startswith("2026-11-27T12:00:00")


async def test_a_user_id_negotiated_again_by_a_reader_is_demoted_not_promoted(
    hub_server: HubFactory, listen: ListenerFactory
) -> None:
    hub = (await hub_server()).hub
    await negotiated(hub, KEYS["admin"], ADMIN_ID)
    stolen = await negotiated(hub, KEYS["reader"], ADMIN_ID)
    assert hub.groups_of_user(ADMIN_ID) == frozenset({"readers"})
    listener = await listen(stolen["url"], stolen["accessToken"])
    await hub.apply({"target": "logs", "arguments": [["admin view"]], "groupName": "admins"})
    await hub.apply({"target": "logs", "arguments": [["reader view"]], "groupName": "readers"})
    assert await listener.wait_for("logs") == [[["reader view"]]]
