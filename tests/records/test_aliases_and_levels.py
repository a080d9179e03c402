"""The alias table and the level families of docs/ingest.md, row by row, through `normalize`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from shared import fields, levels, records, shapes
from shared.access import Caller
from shared.settings import Settings


def norm(raw: dict[str, Any], caller: Caller, settings: Settings, now: datetime) -> dict:
    return records.normalize(raw, caller, settings, now)


@pytest.mark.parametrize(
    ("name", "level"),
    [
        *[(n, "DEBUG") for n in ("trace", "silly", "verbose", "http", "Verbose", "VRB", "fine")],
        *[(n, "INFO") for n in ("info", "Information", "notice", "SUCCESS", "informational")],
        *[(n, "WARNING") for n in ("warn", "Warning", "WRN")],
        *[(n, "ERROR") for n in ("err", "error", "exception", "severe", "Error")],
        *[(n, "CRITICAL") for n in ("fatal", "Fatal", "crit", "emerg", "alert", "panic", "dpanic")],
        *[(n, n) for n in ("SIGNAL_RECEIVED", "AI_DECISION", "TRADE_EXECUTED", "RISK_ALERT")],
    ],
)
def test_level_names_of_every_family(name: str, level: str) -> None:
    assert levels.canonical(name) == level


@pytest.mark.parametrize(
    ("number", "family", "level"),
    [
        *[(n, "pino", lv) for n, lv in ((10, "DEBUG"), (20, "DEBUG"), (30, "INFO"))],
        *[(n, "pino", lv) for n, lv in ((35, "INFO"), (40, "WARNING"), (50, "ERROR"))],
        (60, "pino", "CRITICAL"),
        *[(n, "otel", "DEBUG") for n in (1, 4, 5, 8)],
        *[(n, "otel", "INFO") for n in (9, 12)],
        *[(n, "otel", "WARNING") for n in (13, 16)],
        *[(n, "otel", "ERROR") for n in (17, 20)],
        *[(n, "otel", "CRITICAL") for n in (21, 24)],
        *[(n, "syslog", "CRITICAL") for n in (0, 1, 2)],
        (3, "syslog", "ERROR"),
        (4, "syslog", "WARNING"),
        (5, "syslog", "INFO"),
        (6, "syslog", "INFO"),
        (7, "syslog", "DEBUG"),
        (8, "syslog", None),
        (3, None, "ERROR"),
        (9, None, "DEBUG"),
        (25, None, "TRADE_EXECUTED"),
        (31, None, "WARNING"),
        (99, "python", "CRITICAL"),
        (-1, None, None),
    ],
)
def test_numbers_by_family(number: int, family: levels.Family | None, level: str | None) -> None:
    assert levels.from_family(number, family) == level


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ({"msg": "m", "level": 30, "time": 1773489600000}, "INFO"),
        ({"msg": "m", "level": 40, "pid": 1, "hostname": "h"}, "WARNING"),
        (
            {"msg": "m", "level": 50, "v": 0, "hostname": "h", "time": "2026-03-14T11:00:00Z"},
            "ERROR",
        ),
        ({"message": "m", "level": 30}, "WARNING"),
        ({"message": "m", "severityNumber": 17}, "ERROR"),
        ({"message": "m", "severity_number": 13, "severity_text": "Warning"}, "WARNING"),
        ({"short_message": "m", "level": 3, "host": "h", "version": "1.1"}, "ERROR"),
        ({"message": "m", "severity": 4}, "WARNING"),
        ({"message": "m", "severity": "ERROR"}, "ERROR"),
        ({"message": "m", "lvl": "warn"}, "WARNING"),
        ({"message": "m", "log.level": "error"}, "ERROR"),
        ({"message": "m", "log": {"level": "debug", "logger": "x"}}, "DEBUG"),
        ({"message": "m", "@l": "Fatal"}, "CRITICAL"),
        ({"message": "m", "levelname": "CRITICAL"}, "CRITICAL"),
        ({"message": "m", "LogLevel": "Information"}, "INFO"),
        ({"message": "m", "level": "20"}, "INFO"),
    ],
)
def test_the_level_by_name_alias_and_the_records_shape(
    raw: dict[str, Any], level: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm(raw, caller, settings, now)
    assert record["level"] == level and record["level_no"] == levels.number(level)
    assert "_coerced" not in (record.get("extra_data") or {})


@pytest.mark.parametrize("level", ["LOUD", "", "9x", -5, {"name": "x"}])
def test_an_unknown_level_is_info_with_the_original_kept(
    level: Any, caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm({"message": "m", "level": level}, caller, settings, now)
    assert record["level"] == "INFO"
    assert record["extra_data"]["_coerced"] == {"level": level}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"msg": "pino"}, {"message": "pino"}),
        ({"event": "structlog"}, {"message": "structlog"}),
        ({"log": "docker line\n"}, {"message": "docker line\n"}),
        ({"@message": "m"}, {"message": "m"}),
        ({"@m": "rendered", "@mt": "tpl {X}", "X": 1}, {"message": "rendered"}),
        (
            {"@mt": "{A} sold {Qty:0.00} {{lots}}", "A": "bot", "Qty": 2},
            {"message": "bot sold 2 {lots}"},
        ),
        ({"@mt": "{Missing} left"}, {"message": "{Missing} left"}),
        ({"m": 1, "msg": "x", "name": "orders"}, {"logger_name": "orders"}),
        ({"msg": "x", "logger": "a"}, {"logger_name": "a"}),
        ({"msg": "x", "log.logger": "a"}, {"logger_name": "a"}),
        ({"msg": "x", "logger_name": "known", "logger": "alias"}, {"logger_name": "known"}),
        ({"msg": "x", "service.name": "svc"}, {"service": "svc"}),
        ({"msg": "x", "service": {"name": "svc"}}, {"service": "svc"}),
        ({"msg": "x", "app": "svc"}, {"service": "svc"}),
        ({"msg": "x", "traceId": "ab", "spanId": "cd"}, {"trace_id": "ab", "span_id": "cd"}),
        (
            {"msg": "x", "trace": {"id": "ab"}, "span": {"id": "cd"}},
            {"trace_id": "ab", "span_id": "cd"},
        ),
        (
            {"msg": "x", "dd": {"trace_id": 123, "span_id": 456}},
            {"trace_id": "123", "span_id": "456"},
        ),
        ({"msg": "x", "userId": 77}, {"user_id": "77"}),
        ({"msg": "x", "error": "dial tcp: timeout"}, {"exception_message": "dial tcp: timeout"}),
        (
            {"msg": "x", "thrown": {"name": "java.io.IOException", "message": "eof"}},
            {"exception_type": "java.io.IOException", "exception_message": "eof"},
        ),
        (
            {"msg": "x", "exc_info": "Traceback (most recent call last):\n  File x\nKeyError: 'k'"},
            {"exception_type": "KeyError", "exception_message": "'k'"},
        ),
        (
            {"msg": "x", "@x": "System.Exception: boom\n   at A.B()"},
            {"exception_type": "System.Exception", "exception_message": "boom"},
        ),
        (
            {"msg": "x", "err": {"name": "Error", "stack": ["Error: a", "    at b"]}},
            {"stack_trace": "Error: a\n    at b"},
        ),
    ],
)
def test_aliases(
    raw: dict[str, Any], expected: dict[str, Any], caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm(raw, caller, settings, now)
    assert {k: record.get(k) for k in expected} == expected


@pytest.mark.parametrize(
    ("when", "seconds"),
    [
        (1773489600, 1773489600),
        (1773489600.25, 1773489600.25),
        (1773489600250, 1773489600.25),
        (1773489600250000, 1773489600.25),
        (1773489600250000000, 1773489600.25),
        ("1773489600", 1773489600),
        ("1773489600250", 1773489600.25),
    ],
)
@pytest.mark.parametrize("key", ["timestamp", "time", "ts", "@timestamp", "@t", "date", "instant"])
def test_times_by_magnitude_under_every_alias(
    key: str, when: Any, seconds: float, caller: Caller, settings: Settings, now: datetime
) -> None:
    record = norm({"message": "m", key: when}, caller, settings, now)
    assert datetime.fromisoformat(record["timestamp"]) == datetime.fromtimestamp(seconds, UTC)


def test_log4js_instant_object(caller: Caller, settings: Settings, now: datetime) -> None:
    instant = {"epochSecond": 1773489600, "nanoOfSecond": 250000000}
    record = norm({"message": "m", "instant": instant}, caller, settings, now)
    assert datetime.fromisoformat(record["timestamp"]) == datetime.fromtimestamp(1773489600.25, UTC)


def test_the_known_name_wins_and_the_alias_stays_in_extra_data(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {
        "message": "known",
        "msg": "alias",
        "timestamp": "2026-03-14T11:00:00Z",
        "time": 1,
        "level": "ERROR",
        "severity": "DEBUG",
        "stack_trace": "known trace",
        "stack": "Error: alias\n    at x",
        "service": "svc",
        "app": "other",
    }
    record = norm(raw, caller, settings, now)
    assert record["message"] == "known" and record["level"] == "ERROR"
    assert record["timestamp"].startswith("2026-03-14T11:00:00")
    assert record["stack_trace"] == "known trace" and "exception_type" not in record
    assert record["service"] == "svc"
    assert record["extra_data"] == {
        "msg": "alias",
        "time": 1,
        "severity": "DEBUG",
        "stack": "Error: alias\n    at x",
        "app": "other",
    }


def test_nested_objects_keep_what_is_not_a_field(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {
        "msg": "x",
        "service": {"name": "svc", "version": "1.2"},
        "log": {"level": "warn", "origin": {"line": 3}},
        "err": {"type": "E", "message": "m", "code": "ECONNRESET"},
    }
    record = norm(raw, caller, settings, now)
    assert (record["service"], record["level"]) == ("svc", "WARNING")
    assert (record["exception_type"], record["exception_message"]) == ("E", "m")
    assert record["extra_data"] == {
        "service": {"version": "1.2"},
        "log": {"origin": {"line": 3}},
        "err": {"code": "ECONNRESET"},
    }
    assert raw["service"] == {"name": "svc", "version": "1.2"}, "the input is not changed"


def test_every_alias_belongs_to_one_field() -> None:
    names = [a for f in fields.FIELDS for a in f.aliases]
    assert len(names) == len(set(names))
    assert not set(names) & set(fields.NAMES)
    assert not set(fields.EXCEPTION_ALIASES) & (set(names) | set(fields.NAMES))


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Traceback (most recent call last):\n  File a\nValueError: bad", ("ValueError", "bad")),
        ("TypeError: x is undefined\n    at f (a.js:1:1)", ("TypeError", "x is undefined")),
        (
            "java.lang.IllegalStateException\n\tat A.b(A.java:1)",
            ("java.lang.IllegalStateException", None),
        ),
        ("something went wrong: badly", (None, None)),
        ("", (None, None)),
    ],
)
def test_exception_parts(text: str, parts: tuple[str | None, str | None]) -> None:
    assert shapes.exception_parts(text) == parts


def test_true_is_not_read_as_level_one_from_the_cache(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    assert norm({"message": "m", "level": 1}, caller, settings, now)["level"] == "CRITICAL"
    record = norm({"message": "m", "level": True}, caller, settings, now)
    assert record["level"] == "INFO" and record["extra_data"]["_coerced"] == {"level": True}
