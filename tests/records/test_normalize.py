"""The record: each validation rule with its message, the defaults, and the event round trip."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from shared import records
from shared.access import Caller
from shared.records import RecordError, ServiceMismatch
from shared.settings import Settings


def norm(raw: Any, caller: Caller, settings: Settings, now: datetime) -> dict[str, Any]:
    return records.normalize(raw, caller, settings, now)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ([{"message": "m"}], "a record must be a JSON object, not array"),
        ("message", "a record must be a JSON object, not str"),
        (42, "a record must be a JSON object, not number"),
        ({}, "message is required"),
        ({"message": None}, "message is required"),
        ({"message": ""}, "message must not be empty"),
        ({"message": "   "}, "message must not be empty"),
        ({"message": 42}, "message must be a string, not number"),
        ({"message": ["a"]}, "message must be a string, not array"),
        ({"message": "m", "level": "LOUD"}, "level 'LOUD' is unknown"),
        ({"message": "m", "level": 5}, "level 5 is below DEBUG (10)"),
        ({"message": "m", "level": True}, "level must be a name or a number, not boolean"),
        ({"message": "m", "level": {}}, "level must be a name or a number, not object"),
        ({"message": "m", "timestamp": "yesterday"}, "timestamp 'yesterday' is not ISO 8601"),
        ({"message": "m", "timestamp": ""}, "timestamp '' is not ISO 8601"),
        ({"message": "m", "timestamp": True}, "timestamp must be an ISO 8601 string"),
        ({"message": "m", "timestamp": [1]}, "timestamp must be an ISO 8601 string"),
        ({"message": "m", "timestamp": "1969-12-31T23:59:59Z"}, "timestamp is before 1970"),
        ({"message": "m", "timestamp": 1e30}, "is not ISO 8601 or epoch"),
        ({"message": "m", "request_id": 123}, "request_id must be a string, not number"),
        ({"message": "m", "user_id": 7}, "user_id must be a string, not number"),
        ({"message": "m", "session_id": ["s"]}, "session_id must be a string, not array"),
        ({"message": "m", "event_type": {}}, "event_type must be a string, not object"),
        ({"message": "m", "logger_name": 1}, "logger_name must be a string, not number"),
        ({"message": "m", "exception_type": 1}, "exception_type must be a string"),
        ({"message": "m", "exception_message": 1}, "exception_message must be a string"),
        ({"message": "m", "stack_trace": ["l1"]}, "stack_trace must be a string, not array"),
        ({"message": "m", "user_agent": 1}, "user_agent must be a string, not number"),
        ({"message": "m", "service": 1}, "service must be a string, not number"),
        ({"message": "m", "request_id": "r" * 257}, "request_id is longer than 256 characters"),
        ({"message": "m", "service": "s" * 257}, "is not a service name: use 1-64 characters"),
        ({"message": "m", "user_agent": "u" * 1025}, "user_agent is longer than 1024"),
        ({"message": "m", "extra_data": [1]}, "extra_data must be a JSON object, not array"),
        ({"message": "m", "extra_data": "x"}, "extra_data must be a JSON object, not str"),
        ({"message": "m", "ip_address": "10.0.0.300"}, "ip_address '10.0.0.300' is not an IPv4"),
        ({"message": "m", "ip_address": "localhost"}, "ip_address 'localhost' is not an IPv4"),
        ({"message": "m", "ip_address": 167772161}, "ip_address must be a string, not number"),
        ({"message": "m", "id": ""}, "id must be 1-128 characters"),
        ({"message": "m", "id": "a b"}, "id must be 1-128 characters"),
        ({"message": "m", "id": "x" * 129}, "id must be 1-128 characters"),
        ({"message": "m", "id": "ünï"}, "id must be 1-128 characters"),
        ({"message": "m", "id": 17}, "id must be a string, not number"),
        ({"message": "m", "extra_data": {"n": 2**70}}, "the record cannot be stored as JSON"),
    ],
)
def test_each_violation_is_named(
    raw: Any, error: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    with pytest.raises(RecordError) as info:
        norm(raw, caller, settings, now)
    assert error in str(info.value)


def test_message_limit_counts_utf8_bytes(caller: Caller, settings: Settings, now: datetime) -> None:
    limit = settings.max_message_bytes
    assert norm({"message": "a" * limit}, caller, settings, now)["message"] == "a" * limit
    with pytest.raises(RecordError, match=f"message is larger than {limit} bytes"):
        norm({"message": "a" * (limit + 1)}, caller, settings, now)
    with pytest.raises(RecordError, match="message is larger"):
        norm({"message": "é" * (limit // 2 + 1)}, caller, settings, now)


def test_extra_data_limit_counts_serialised_bytes(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    small = replace(settings, max_extra_data_bytes=1000)
    norm({"message": "m", "extra_data": {"k": "v" * 900}}, caller, small, now)
    with pytest.raises(RecordError, match="extra_data is larger than 1000 bytes serialised"):
        norm({"message": "m", "extra_data": {"k": "v" * 1000}}, caller, small, now)
    default = settings.max_extra_data_bytes
    with pytest.raises(RecordError, match=f"larger than {default} bytes"):
        norm({"message": "m", "extra_data": {"k": "v" * default}}, caller, settings, now)


@pytest.mark.parametrize(
    ("level", "name", "number"),
    [
        (None, "INFO", 20),
        ("info", "INFO", 20),
        ("Warning", "WARNING", 30),
        ("warn", "WARNING", 30),
        ("WARN", "WARNING", 30),
        ("fatal", "CRITICAL", 50),
        ("err", "ERROR", 40),
        ("trade_executed", "TRADE_EXECUTED", 25),
        ("signal_received", "SIGNAL_RECEIVED", 22),
        ("ai_decision", "AI_DECISION", 23),
        ("risk_alert", "RISK_ALERT", 35),
        (" debug ", "DEBUG", 10),
        (10, "DEBUG", 10),
        (24, "AI_DECISION", 23),
        (25, "TRADE_EXECUTED", 25),
        (31, "WARNING", 30),
        (99, "CRITICAL", 50),
        (40.7, "ERROR", 40),
        ("45", "ERROR", 40),
    ],
)
def test_levels(
    level: Any, name: str, number: int, caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m"} if level is None else {"message": "m", "level": level}
    record = norm(raw, caller, settings, now)
    assert (record["level"], record["level_no"]) == (name, number)


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-03-14T13:30:00+01:30", "2026-03-14T12:00:00.000000+00:00"),
        ("2026-03-14T12:00:00Z", "2026-03-14T12:00:00.000000+00:00"),
        ("2026-03-14T12:00:00.5", "2026-03-14T12:00:00.500000+00:00"),
        ("2026-03-14 12:00:00.123456+00:00", "2026-03-14T12:00:00.123456+00:00"),
        ("2026-03-14T12:00:00.123456+00:00", "2026-03-14T12:00:00.123456+00:00"),
        ("2026-03-14", "2026-03-14T00:00:00.000000+00:00"),
        (1773489600, "2026-03-14T12:00:00.000000+00:00"),
        (1773489600.25, "2026-03-14T12:00:00.250000+00:00"),
        (1773489600250, "2026-03-14T12:00:00.250000+00:00"),
        (1773489600250000, "2026-03-14T12:00:00.250000+00:00"),
        (0, "1970-01-01T00:00:00.000000+00:00"),
    ],
)
def test_timestamps_are_utc_with_microseconds(
    timestamp: Any, expected: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm({"message": "m", "timestamp": timestamp}, caller, settings, now)
    assert record["timestamp"] == expected


def test_missing_timestamp_is_the_time_of_receipt(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm({"message": "m"}, caller, settings, now)
    assert record["timestamp"] == record["received_at"] == "2026-03-14T12:00:00.250000+00:00"


def test_future_timestamps_within_the_limit_only(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    limit = timedelta(seconds=settings.max_future_seconds)
    ok = (now + limit).isoformat()
    assert norm({"message": "m", "timestamp": ok}, caller, settings, now)["timestamp"] == ok
    for late in (now + limit + timedelta(microseconds=1), now + limit + timedelta(minutes=1)):
        with pytest.raises(RecordError, match="more than 86400 seconds in the future"):
            norm({"message": "m", "timestamp": late.isoformat()}, caller, settings, now)
    far = (now + limit).timestamp() * 1000 + 60_000
    with pytest.raises(RecordError, match="in the future"):
        norm({"message": "m", "timestamp": far}, caller, settings, now)


def test_defaults_and_ids(caller: Caller, settings: Settings, now: datetime) -> None:
    record = norm({"message": "m"}, caller, settings, now)
    assert list(record) == list(records.ALWAYS_PRESENT)
    assert record["service"] == "unknown" and record["logger_name"] == "unknown"
    assert uuid.UUID(record["id"]).version == 4
    ids = {norm({"message": "m"}, caller, settings, now)["id"] for _ in range(2000)}
    assert len(ids) == 2000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    given = norm({"message": "m", "id": "bot-7:ord.42_x"}, caller, settings, now)
    assert given["id"] == "bot-7:ord.42_x"
    named = norm({"message": "m", "service": "ai-processor"}, caller, settings, now)
    assert named["logger_name"] == "ai-processor"


def test_empty_optional_strings_count_as_absent(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "service": "", "request_id": "", "ip_address": "", "id": None}
    record = norm(raw, caller, settings, now)
    assert record["service"] == "unknown"
    assert "request_id" not in record and "ip_address" not in record


def test_server_fields_from_clients_are_ignored(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "level": "ERROR", "level_no": 1, "received_at": "2000-01-01"}
    record = norm(raw, caller, settings, now)
    assert record["level_no"] == 40
    assert record["received_at"] == "2026-03-14T12:00:00.250000+00:00"
    assert "extra_data" not in record


def test_unknown_fields_move_into_extra_data(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {
        "message": "m",
        "host": "bot-3",
        "kubernetes": {"pod": "p1"},
        "symbol": "ETH",
        "extra_data": {"symbol": "BTC"},
    }
    record = norm(raw, caller, settings, now)
    assert record["extra_data"] == {"symbol": "BTC", "host": "bot-3", "kubernetes": {"pod": "p1"}}
    assert norm({"message": "m", "x": 1}, caller, settings, now)["extra_data"] == {"x": 1}


@pytest.mark.parametrize(
    ("given", "stored"),
    [("10.0.0.1", "10.0.0.1"), ("2001:DB8:0::1", "2001:db8::1"), (" 192.168.1.9 ", "192.168.1.9")],
)
def test_ip_addresses_are_validated_and_canonical(
    given: str, stored: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    assert (
        norm({"message": "m", "ip_address": given}, caller, settings, now)["ip_address"] == stored
    )


def test_a_bound_key_forces_its_service(
    bound_caller: Caller, settings: Settings, now: datetime
) -> None:
    assert norm({"message": "m"}, bound_caller, settings, now)["service"] == "trading-engine"
    same = norm({"message": "m", "service": "trading-engine"}, bound_caller, settings, now)
    assert same["service"] == "trading-engine" and same["logger_name"] == "trading-engine"
    with pytest.raises(ServiceMismatch, match="bound to service 'trading-engine'"):
        norm({"message": "m", "service": "api-gateway"}, bound_caller, settings, now)


def test_nul_characters_become_replacement_characters(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "a\x00b", "extra_data": {"k\x00": ["v\x00"]}, "user_agent": "ua\x00"}
    context = records.Context.of(caller, settings, now)
    record, body = records.prepare(raw, context)
    assert record["message"] == "a\ufffdb" and record["user_agent"] == "ua\ufffd"
    assert record["extra_data"] == {"k\ufffd": ["v\ufffd"]}
    assert b"\\u0000" not in body


def test_deeply_nested_extra_data_is_a_record_error(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(600):
        node["d"] = {}
        node = node["d"]
    with pytest.raises(RecordError, match="the record cannot be stored as JSON"):
        norm({"message": "m", "extra_data": deep}, caller, settings, now)


def test_event_round_trip(caller: Caller, settings: Settings, now: datetime) -> None:
    raw = {
        "id": "evt-1",
        "timestamp": "2026-03-14T11:59:00+00:00",
        "level": "risk_alert",
        "service": "portfolio-manager",
        "message": "exposure 81%",
        "extra_data": {"exposure": 0.81},
        "ip_address": "10.1.2.3",
    }
    record = norm(raw, caller, settings, now)
    key, body = records.event(record)
    assert key == "portfolio-manager"
    decoded = records.decode_event(body)
    assert decoded["timestamp"] == datetime(2026, 3, 14, 11, 59, tzinfo=UTC)
    assert decoded["received_at"] == now
    assert decoded["level"] == "RISK_ALERT" and decoded["level_no"] == 35
    assert {**decoded, "timestamp": None, "received_at": None} == {
        **dict.fromkeys(records.FIELDS),
        **record,
        "timestamp": None,
        "received_at": None,
    }
    assert set(orjson.loads(body)) == set(record)


def test_decode_event_fills_missing_fields_and_accepts_any_buffer() -> None:
    body = b'{"id": "a", "timestamp": "2026-01-01T00:00:00", "message": "m"}'
    for data in (body, bytearray(body), memoryview(body), body.decode()):
        decoded = records.decode_event(data)
        assert decoded["timestamp"] == datetime(2026, 1, 1, tzinfo=UTC)
        assert decoded["received_at"] is None and decoded["extra_data"] is None
        assert set(decoded) == set(records.FIELDS)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not json", "event body is not JSON"),
        (b"[1]", "event body must be a JSON object, not array"),
        (b'{"timestamp": "2026-01-01T00:00:00Z"}', "event has no id"),
        (b'{"id": "a"}', "event timestamp must be an ISO 8601 string, not null"),
        (b'{"id": "a", "timestamp": "soon"}', "event timestamp 'soon' is not ISO 8601"),
        (b'{"id": "a", "timestamp": "2026-01-01", "received_at": 5}', "event received_at"),
        (b"\xff\xfe", "event body is not JSON"),
    ],
)
def test_decode_event_refuses_what_it_cannot_read(body: bytes, error: str) -> None:
    with pytest.raises(RecordError, match=error):
        records.decode_event(body)


def test_normalize_is_json_serialisable_as_is(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm(
        {"message": "m", "extra_data": {"a": [1, 2.5, None, True]}}, caller, settings, now
    )
    assert orjson.loads(records.encode(record)) == record
