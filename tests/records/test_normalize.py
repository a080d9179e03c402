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

from .conftest import NOW

NOW_TEXT = NOW.isoformat(timespec="microseconds")


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
        ({"msg": "  ", "time": 1}, "message is required"),
        ({"message": "m", "timestamp": "2999-01-01T00:00:00Z"}, "in the future"),
        ({"message": "m", "extra_data": {"n": 2**70}}, "the record cannot be stored as JSON"),
    ],
)
def test_only_a_record_without_a_message_or_over_a_limit_is_refused(
    raw: Any, error: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    with pytest.raises(RecordError) as info:
        norm(raw, caller, settings, now)
    assert error in str(info.value)


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ({"message": "m", "level": "LOUD"}, {"level": "INFO"}),
        ({"message": "m", "level": True}, {"level": "INFO"}),
        ({"message": "m", "level": {}}, {"level": "INFO"}),
        ({"message": "m", "level": -3}, {"level": "INFO"}),
        ({"message": "m", "timestamp": "yesterday"}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "timestamp": ""}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "timestamp": True}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "timestamp": [1]}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "timestamp": "1969-12-31T23:59:59Z"}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "timestamp": 1e30}, {"timestamp": NOW_TEXT}),
        ({"message": "m", "session_id": ["s"]}, {"session_id": None}),
        ({"message": "m", "event_type": {}}, {"event_type": None}),
        ({"message": "m", "exception_message": {"a": 1}}, {"exception_message": None}),
        ({"message": "m", "stack_trace": [1, 2]}, {"stack_trace": None}),
        ({"message": "m", "user_agent": ["u"]}, {"user_agent": None}),
        ({"message": "m", "service": ["s"]}, {"service": "unknown"}),
        ({"message": "m", "request_id": "r" * 257}, {"request_id": None}),
        ({"message": "m", "service": "s" * 257}, {"service": "unknown"}),
        ({"message": "m", "user_agent": "u" * 1025}, {"user_agent": None}),
        ({"message": "m", "extra_data": [1]}, {}),
        ({"message": "m", "extra_data": "x"}, {}),
        ({"message": "m", "ip_address": "10.0.0.300"}, {"ip_address": None}),
        ({"message": "m", "ip_address": "localhost"}, {"ip_address": None}),
        ({"message": "m", "ip_address": 167772161}, {"ip_address": None}),
        ({"message": "m", "id": ""}, {}),
        ({"message": "m", "id": "a b"}, {}),
        ({"message": "m", "id": "x" * 129}, {}),
        ({"message": "m", "id": "ünï"}, {}),
        ({"message": "m", "trace_id": {"x": 1}}, {"trace_id": None}),
    ],
)
def test_a_value_a_field_cannot_take_keeps_the_record_and_moves_to_extra_data(
    raw: dict[str, Any], kept: dict[str, Any], caller: Caller, settings: Settings, now: datetime
) -> None:
    ctx = records.Context.of(caller, settings, now)
    record = records.normalize_in(raw, ctx)
    (name,) = (k for k in raw if k != "message")
    assert record["extra_data"]["_coerced"] == {name: raw[name]}
    assert ctx.coerced == [1]
    for field_name, value in kept.items():
        assert record.get(field_name) == value
    if name == "id":
        assert record["id"] != raw["id"] and records.ID_PATTERN.fullmatch(record["id"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"message": 42}, {"message": "42"}),
        ({"message": ["a", 1]}, {"message": '["a",1]'}),
        ({"message": {"k": "v"}}, {"message": '{"k":"v"}'}),
        ({"message": "m", "request_id": 123}, {"request_id": "123"}),
        ({"message": "m", "user_id": 7}, {"user_id": "7"}),
        ({"message": "m", "logger_name": 1}, {"logger_name": "1"}),
        ({"message": "m", "exception_type": 1.5}, {"exception_type": "1.5"}),
        ({"message": "m", "exception_message": 1}, {"exception_message": "1"}),
        ({"message": "m", "user_agent": 1}, {"user_agent": "1"}),
        ({"message": "m", "service": 1}, {"service": "1"}),
        ({"message": "m", "id": 17}, {"id": "17"}),
        ({"message": "m", "stack_trace": ["a\n", "b\n"]}, {"stack_trace": "a\nb"}),
        ({"message": "m", "timestamp": "1773489600"}, {"timestamp": "2026-03-14T12:00:00+00:00"}),
        ({"message": "m", "timestamp": 1773489600000}, {"timestamp": "2026-03-14T12:00:00+00:00"}),
    ],
)
def test_numbers_and_lists_are_coerced_without_a_note(
    raw: dict[str, Any], expected: dict[str, Any], caller: Caller, settings: Settings, now: datetime
) -> None:
    ctx = records.Context.of(caller, settings, now)
    record = records.normalize_in(raw, ctx)
    for name, value in expected.items():
        if name == "timestamp":
            assert datetime.fromisoformat(record[name]) == datetime.fromisoformat(value)
        else:
            assert record[name] == value
    assert "extra_data" not in record and ctx.coerced == [0]


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
