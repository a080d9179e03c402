"""Seq's ingestion: CLEF lines (and the older {"Events": [...]} body) to records."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from shared import access, clef
from shared.errors import BadRequest, TooLarge, UnsupportedMediaType
from tests.shippers.conftest import NOW

CLEF = {"Content-Type": "application/vnd.serilog.clef"}
DOTNET_EXCEPTION = (
    "System.InvalidOperationException: Order book is empty\r\n"
    "   at Engine.Matcher.Match(Order order) in Matcher.cs:line 42\r\n"
    "   at Engine.Program.Main()"
)


def lines(*events: object) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


def ingest(body, caller, settings, headers=CLEF):
    return clef.parse(body, headers, caller, settings, NOW)


def test_the_documented_clef_events(caller, settings) -> None:
    # The examples of https://github.com/serilog/serilog-formatting-compact (README, "Format
    # details") and https://docs.datalust.co/docs/posting-raw-events
    body = (
        b'{"@t":"2016-06-07T03:44:57.8532799Z","@mt":"Hello, {@User}",'
        b'"User":{"Name":"nblumhardt","Tags":[1,2,3]}}\n'
        b'{"@t":"2016-06-07T03:44:57.8532799Z","@mt":"Disk {Disk} is {Pct,4}% full",'
        b'"@l":"Warning","Disk":"C:","Pct":93.5,"@i":"a1e77a2f"}\n'
        b'{"@t":"2017-11-20T11:33:01.22138Z","@m":"Rendered {not a hole","@l":"Fatal",'
        b'"@x":' + orjson.dumps(DOTNET_EXCEPTION) + b',"SourceContext":"Engine.Matcher"}\n'
    )
    hello, disk, fatal = ingest(body, caller, settings).accepted
    assert hello["message"] == 'Hello, {"Name":"nblumhardt","Tags":[1,2,3]}'
    assert hello["level"] == "INFO"
    assert hello["timestamp"] == "2016-06-07T03:44:57.853279+00:00"
    assert hello["extra_data"]["message_template"] == "Hello, {@User}"
    assert hello["extra_data"]["User"]["Name"] == "nblumhardt"
    assert disk["message"] == "Disk C: is 93.5% full" and disk["level"] == "WARNING"
    assert disk["event_type"] == "a1e77a2f"
    assert fatal["message"] == "Rendered {not a hole" and fatal["level"] == "CRITICAL"
    assert fatal["logger_name"] == "Engine.Matcher"
    assert fatal["exception_type"] == "System.InvalidOperationException"
    assert fatal["exception_message"] == "Order book is empty"
    assert fatal["stack_trace"] == DOTNET_EXCEPTION


@pytest.mark.parametrize(
    ("level", "stored"),
    [
        ("Verbose", "DEBUG"),
        ("debug", "DEBUG"),
        ("Information", "INFO"),
        ("Error", "ERROR"),
        ("TRADE_EXECUTED", "TRADE_EXECUTED"),
        ("WARN", "WARNING"),
    ],
)
def test_serilog_levels(caller, settings, level, stored) -> None:
    (record,) = ingest(lines({"@m": "x", "@l": level}), caller, settings).accepted
    assert record["level"] == stored


def test_templates_render_properties(caller) -> None:
    props = {"Symbol": "BTCUSDT", "Qty": 0.5, "Side": None}
    assert clef.render("{Symbol} x{Qty:F2} {$Side} {{literal}} {Missing}", props) == (
        "BTCUSDT x0.5 null {literal} {Missing}"
    )


def test_properties_fill_record_fields_and_extra_data(caller, settings) -> None:
    event = {
        "@t": "2026-03-14T11:00:00Z",
        "@mt": "Trade {TradeId} executed",
        "@l": "Information",
        "@tr": "4bf92f3577b34da6a3ce929d0e0e4736",
        "TradeId": 7,
        "service": "trading-engine",
        "user_id": "u-1",
        "@@weird": "escaped",
        "@r": ["7"],
    }
    (record,) = ingest(lines(event), caller, settings).accepted
    assert record["message"] == "Trade 7 executed" and record["service"] == "trading-engine"
    assert record["user_id"] == "u-1"
    extra = record["extra_data"]
    assert extra["TradeId"] == 7 and extra["@weird"] == "escaped" and extra["@r"] == ["7"]
    assert record["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_python_traceback_names_the_exception(caller, settings) -> None:
    trace = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'BTC'\n"
    (record,) = ingest(lines({"@m": "lookup", "@x": trace}), caller, settings).accepted
    assert record["exception_type"] == "KeyError"
    assert record["exception_message"] == "'BTC'"
    assert record["stack_trace"] == trace


def test_malformed_lines_are_refused_and_the_others_kept(caller, settings) -> None:
    body = b'{"@m": "one"}\n{"@m": broken\n[1]\n{"@mt": "two"}\n{"@l": "Error"}\r\n'
    batch = ingest(body, caller, settings)
    assert [r["message"] for r in batch.accepted] == ["one", "two"]
    assert [r["index"] for r in batch.rejected] == [1, 2, 4]
    errors = [r["error"] for r in batch.rejected]
    assert errors[0].startswith("line 2 is not valid JSON")
    assert errors[1] == "line 3 is not a JSON object"
    assert errors[2].startswith("message is required")


def test_nothing_valid_is_a_400(caller, settings) -> None:
    with pytest.raises(BadRequest) as raised:
        ingest(b"nope\n", caller, settings)
    assert raised.value.detail == [
        {"index": 0, "error": raised.value.detail[0]["error"]},
    ]
    assert raised.value.detail[0]["error"].startswith("line 1 is not valid JSON")


def test_the_events_json_body(caller, settings) -> None:
    # seqlog's default body and Seq's older raw format: {"Events": [{Timestamp, Level, ...}]}
    body = orjson.dumps(
        {
            "Events": [
                {
                    "Timestamp": "2026-03-14T11:00:00+00:00",
                    "Level": "Warning",
                    "MessageTemplate": "Spread {Spread} wide",
                    "Properties": {"Spread": 12, "service": "api-gateway"},
                    "Exception": None,
                }
            ]
        }
    )
    (record,) = ingest(
        b"  " + body, caller, settings, {"Content-Type": "application/json"}
    ).accepted
    assert record["message"] == "Spread 12 wide" and record["level"] == "WARNING"
    assert record["service"] == "api-gateway"
    assert record["timestamp"] == "2026-03-14T11:00:00.000000+00:00"


def test_one_clef_event_sent_as_json(caller, settings) -> None:
    body = b'{"@m": "single", "@l": "Debug"}'
    (record,) = ingest(body, caller, settings, {"Content-Type": "application/json"}).accepted
    assert (record["message"], record["level"]) == ("single", "DEBUG")
    with pytest.raises(BadRequest, match="Events"):
        ingest(b'{"Events": {}}', caller, settings, {"Content-Type": "application/json"})


def test_limits_and_content_types(caller, settings) -> None:
    body = lines(*({"@m": f"m{i}"} for i in range(3)))
    with pytest.raises(TooLarge):
        ingest(body, caller, replace(settings, max_records_per_request=2))
    with pytest.raises(TooLarge):
        ingest(body, caller, replace(settings, max_request_bytes=16))
    with pytest.raises(UnsupportedMediaType):
        ingest(body, caller, settings, {"Content-Type": "text/csv"})
    with pytest.raises(BadRequest):
        ingest(b"  \n", caller, settings)


def test_the_seq_key_is_presented_as_an_api_key() -> None:
    assert access.with_seq_key({"X-Seq-ApiKey": "k1"}, {})["X-Api-Key"] == "k1"
    assert access.with_seq_key({}, {"apiKey": "k2"})["X-Api-Key"] == "k2"
    headers = {"Authorization": "Bearer k3", "X-Seq-ApiKey": "other"}
    assert "X-Api-Key" not in access.with_seq_key(headers, {})
    assert "X-Api-Key" not in access.with_seq_key({}, {})
