"""Strict parameter validation, relative times and signed cursors, without a database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from shared import cursor, params, timeparse
from shared.errors import BadRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "s3cret"


Pairs = list[tuple[str, str]]


def refused(parse: Callable[[Pairs], object], pairs: Pairs) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse(pairs)
    return caught.value


def search(pairs: Pairs) -> params.SearchQuery:
    return params.parse_search(pairs, SECRET, NOW)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "abc"),
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "-5"),
        ("limit", "1.5"),
        ("limit", "9" * 40),
        ("level", "LOUD"),
        ("min_level", "LOUD"),
        ("min_level", "101"),
        ("start", "yesterday"),
        ("start", "2026-13-45"),
        ("end", "5 parsecs"),
        ("end", "99999999d"),
        ("cursor", "garbage"),
        ("cursor", "a.b"),
        ("q", "x" * 1001),
        ("service", "s" * 257),
        ("request_id", "r" * 257),
        ("user_id", ""),
        ("service", " , "),
        ("fields", "message,secret"),
        ("session_id", "bad\x00byte"),
        ("logger_name", "\ud800"),
    ],
)
def test_wrong_type_or_range_names_the_parameter(name: str, value: str) -> None:
    error = refused(search, [(name, value)])
    assert error.status == 400
    assert error.detail["parameter"] == name
    assert name in error.message


def test_unknown_parameter_is_refused_not_ignored() -> None:
    error = refused(search, [("servce", "api-gateway")])
    assert error.detail["parameter"] == "servce"
    assert "service" in error.detail["allowed"]
    odd = refused(search, [("x\ud800" + "y" * 100, "1")])
    assert odd.detail["parameter"].startswith("x?y") and len(odd.detail["parameter"]) == 67
    orjson.dumps(odd.body())


@pytest.mark.parametrize("name", ["limit", "q", "start", "cursor", "request_id"])
def test_single_valued_parameter_given_twice_is_refused(name: str) -> None:
    value = "5" if name == "limit" else "1h" if name == "start" else "x"
    if name == "cursor":
        value = cursor.encode(cursor.Position(NOW, "a"), SECRET)
    error = refused(search, [(name, value), (name, value)])
    assert error.detail["parameter"] == name


def test_repeatable_parameters_accept_repeats_and_commas() -> None:
    query = search([("service", "a"), ("service", "b,c"), ("level", "error,critical")])
    assert query.filters.services == ("a", "b", "c")
    assert query.filters.levels == ("ERROR", "CRITICAL")


def test_defaults_and_bounds() -> None:
    assert search([]).limit == 100
    assert search([("limit", "1000")]).limit == 1000
    assert search([("limit", "1")]).limit == 1


def test_level_by_name_or_number() -> None:
    assert search([("level", "40,25")]).filters.levels == ("ERROR", "TRADE_EXECUTED")
    assert search([("level", "45")]).filters.levels == ("ERROR",)
    assert refused(search, [("level", "5")]).detail["parameter"] == "level"


def test_min_level_by_name_or_number() -> None:
    assert search([("min_level", "warning")]).filters.min_level_no == 30
    assert search([("min_level", "35")]).filters.min_level_no == 35


def test_start_must_precede_end() -> None:
    error = refused(search, [("start", "1h"), ("end", "2h")])
    assert error.detail["parameter"] == "start"


def test_quoted_phrases_are_kept_for_exact_matching() -> None:
    query = search([("q", '"Trade execution failed" BTCUSDT "order  book"')])
    assert query.filters.phrases == ("Trade execution failed", "order  book")


def test_stats_and_export_parameters() -> None:
    assert params.parse_stats([]).range == "24h"
    assert params.parse_stats([("range", "7d")]).span == timedelta(days=7)
    assert refused(params.parse_stats, [("range", "2d")]).detail["parameter"] == "range"
    assert refused(params.parse_stats, [("service", "x")]).detail["parameter"] == "service"
    export = params.parse_export([("format", "csv"), ("limit", "50000")], SECRET, NOW)
    assert (export.format, export.limit) == ("csv", 50000)
    error = refused(lambda p: params.parse_export(p, SECRET, NOW), [("format", "xml")])
    assert error.detail["parameter"] == "format"


def test_endpoints_without_parameters_refuse_any() -> None:
    assert refused(params.parse_nothing, [("x", "1")]).detail["parameter"] == "x"
    params.parse_nothing([])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", NOW - timedelta(minutes=15)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("now", NOW),
        ("2026-02-01T10:00:00Z", datetime(2026, 2, 1, 10, tzinfo=UTC)),
        ("2026-02-01T10:00:00", datetime(2026, 2, 1, 10, tzinfo=UTC)),
        ("2026-02-01T12:00:00+02:00", datetime(2026, 2, 1, 10, tzinfo=UTC)),
        ("2026-02-01T12:00:00 02:00", datetime(2026, 2, 1, 10, tzinfo=UTC)),
    ],
)
def test_times_iso_or_relative(text: str, expected: datetime) -> None:
    assert timeparse.parse_instant(text, NOW) == expected


def test_cursor_round_trip() -> None:
    position = cursor.Position(datetime(2026, 2, 1, 10, 0, 0, 123456, tzinfo=UTC), "id-1")
    assert cursor.decode(cursor.encode(position, SECRET), SECRET) == position


def test_tampered_or_foreign_cursor_is_refused() -> None:
    token = cursor.encode(cursor.Position(NOW, "id-1"), SECRET)
    body, _, mac = token.partition(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}", token + "x", "x" * 2000):
        with pytest.raises(cursor.InvalidCursor):
            cursor.decode(bad, SECRET)
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(token, "another-secret")
    error = refused(search, [("cursor", f"{flipped}.{mac}")])
    assert error.detail["parameter"] == "cursor"
