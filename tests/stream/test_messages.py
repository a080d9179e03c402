"""How a batch becomes SignalR messages (views per group, splitting under the size limit) and
which group a negotiating caller's user id is given."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devhost import signalr_token as tokens
from shared import stream as live
from shared.access import READER_HIDDEN_FIELDS, Role, hash_key
from shared.errors import Forbidden, PipelineError, Unauthorised
from shared.settings import Settings

KEYS = {
    "ingest": "k-ingest",
    "reader": "k-reader",
    "admin": "k-admin",
    "desk": "k-desk-reader",
}
CONFIG = Settings(
    api_keys=(
        {"name": "i", "hash": hash_key(KEYS["ingest"]), "role": "ingest"},
        {"name": "r", "hash": hash_key(KEYS["reader"]), "role": "reader"},
        {"name": "a", "hash": hash_key(KEYS["admin"]), "role": "admin"},
        {
            "name": "desk",
            "hash": hash_key(KEYS["desk"]),
            "role": "reader",
            "services": ["trading-engine"],
        },
    ),
    signalr_max_message_bytes=4096,
)
USER = "0f8fad5b-d9cb-469f-a165-70867728950e"


def record(i: int, service: str = "api-gateway", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"rec-{i}",
        "timestamp": "2026-11-27T12:00:00+00:00",
        "level": "ERROR",
        "service": service,
        "message": f"message {i}",
        "stack_trace": "Traceback ...",
        "exception_message": "boom",
        "ip_address": "10.0.0.1",
        "user_agent": "bot/1.0",
        "extra_data": {"n": i},
        **extra,
    }


def by_group(messages: list[dict[str, Any]]) -> dict[str, list[list[dict[str, Any]]]]:
    decoded = orjson.loads(live.encode(messages))
    groups: dict[str, list[list[dict[str, Any]]]] = {}
    for message in decoded:
        assert message["target"] == "logs"
        (records,) = message["arguments"]
        groups.setdefault(message["groupName"], []).append(records)
    return groups


def test_admins_get_records_whole_and_readers_never_get_hidden_fields() -> None:
    batch = [record(1), record(2, service="trading-engine")]
    groups = by_group(live.messages(batch, CONFIG))
    assert groups["admins"] == [batch]
    (readers,) = groups["readers"]
    assert [r["id"] for r in readers] == ["rec-1", "rec-2"]
    for r in readers:
        assert not set(READER_HIDDEN_FIELDS) & set(r)
        assert r["extra_data"] and r["message"]


def test_a_key_limited_to_services_has_a_group_carrying_only_those() -> None:
    batch = [record(1), record(2, service="trading-engine")]
    groups = by_group(live.messages(batch, CONFIG))
    desk = live.group_of(live.require({"X-Api-Key": KEYS["desk"]}, [Role.READER], CONFIG))
    assert desk.startswith("readers.") and desk in groups
    assert [[r["id"] for r in m] for m in groups[desk]] == [["rec-2"]]
    assert not set(READER_HIDDEN_FIELDS) & set(groups[desk][0][0])


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=1500), max_size=40),
    limit=st.integers(min_value=600, max_value=6000),
)
def test_split_keeps_every_record_once_in_order_under_the_limit(
    sizes: list[int], limit: int
) -> None:
    batch = [record(i, message="x" * n) for i, n in enumerate(sizes)]
    config = Settings(signalr_max_message_bytes=limit)
    messages = live.messages(batch, config)
    for group in ("admins", "readers"):
        frames = [
            orjson.dumps({"type": 1, "target": "logs", "arguments": m["arguments"]}) + b"\x1e"
            for m in messages
            if m["groupName"] == group
        ]
        assert all(len(f) <= limit for f in frames)
        ids = [r["id"] for f in frames for r in orjson.loads(f[:-1])["arguments"][0]]
        assert ids == [r["id"] for r in batch]


def test_a_record_too_large_for_a_message_is_sent_as_a_marked_stub() -> None:
    huge = record(1, message="m" * 10_000, stack_trace="s" * 10_000, extra_data={"x": "y" * 9000})
    groups = by_group(live.messages([record(0), huge, record(2)], CONFIG))
    admin_records = [r for m in groups["admins"] for r in m]
    assert [r["id"] for r in admin_records] == ["rec-0", "rec-1", "rec-2"]
    stub = admin_records[1]
    assert stub["truncated"] is True
    assert "extra_data" not in stub
    assert stub["message"].startswith("mmm") and len(stub["message"]) < 10_000
    assert "truncated" not in admin_records[0]
    for message in live.messages([huge], CONFIG):
        assert len(live.encode([message])) <= CONFIG.signalr_max_message_bytes


def test_a_payload_goes_to_every_group_that_may_see_its_service() -> None:
    desk = live.group_of(live.require({"X-Api-Key": KEYS["desk"]}, [Role.READER], CONFIG))
    alert = {"rule": "error_rate", "service": "api-gateway"}
    to_gateway = live.to_audiences("alert", alert, CONFIG, service="api-gateway")
    assert {m["groupName"] for m in to_gateway} == {"admins", "readers"}
    assert all(m["target"] == "alert" and m["arguments"] == [alert] for m in to_gateway)
    to_engine = live.to_audiences("alert", alert, CONFIG, service="trading-engine")
    assert {m["groupName"] for m in to_engine} == {"admins", "readers", desk}
    assert {m["groupName"] for m in live.to_audiences("report", {}, CONFIG)} == {
        "admins",
        "readers",
        desk,
    }


def test_an_empty_batch_sends_nothing() -> None:
    assert live.messages([], CONFIG) == []
    assert live.encode([]) == "[]"


def connection_info(user_id: str | None) -> str:
    token = tokens.issue("signalr-key", "http://127.0.0.1/signalr/client/?hub=logs", user_id)
    return orjson.dumps(
        {"url": "http://127.0.0.1/signalr/client/?hub=logs", "accessToken": token}
    ).decode()


@pytest.mark.parametrize(
    ("key", "group", "removed"),
    [
        ("reader", "readers", {"admins"}),
        ("admin", "admins", {"readers"}),
    ],
)
def test_admission_removes_the_user_from_other_groups_before_adding(
    key: str, group: str, removed: set[str]
) -> None:
    info = connection_info(USER)
    admission = live.admit({"X-Api-Key": KEYS[key]}, info, CONFIG)
    assert admission.user_id == USER and admission.group == group
    assert admission.connection_info == orjson.loads(info)
    *removals, addition = admission.group_actions
    assert addition == {"userId": USER, "groupName": group, "action": "add"}
    assert all(a["action"] == "remove" and a["userId"] == USER for a in removals)
    removed_groups = {a["groupName"] for a in removals}
    assert removed <= removed_groups and group not in removed_groups
    assert any(g.startswith("readers.") for g in removed_groups)


def test_admission_refuses_missing_and_ingest_keys_before_reading_the_info() -> None:
    with pytest.raises(Unauthorised):
        live.admit({}, "not even JSON", CONFIG)
    with pytest.raises(Unauthorised):
        live.admit({"X-Api-Key": "nope"}, connection_info(USER), CONFIG)
    with pytest.raises(Forbidden):
        live.admit({"X-Api-Key": KEYS["ingest"]}, connection_info(USER), CONFIG)


def test_connection_info_without_a_user_id_is_a_server_error() -> None:
    for info in (connection_info(None), '{"url": "u", "accessToken": "garbage"}'):
        with pytest.raises(PipelineError) as failure:
            live.admit({"X-Api-Key": KEYS["reader"]}, info, CONFIG)
        assert failure.value.status == 500


def test_the_user_id_is_read_from_the_tokens_claims() -> None:
    for claim in ("nameid", "asrs.s.uid", "sub"):
        payload = base64.urlsafe_b64encode(orjson.dumps({claim: "u-1"})).rstrip(b"=").decode()
        assert live.user_id_in_token(f"e30.{payload}.sig") == "u-1"
    assert live.user_id_in_token("no-dots") is None
