"""The Loki push API: JSON and snappy protobuf bodies to records, labels to service and level."""

from __future__ import annotations

import gzip
from dataclasses import replace

import cramjam
import orjson
import pytest

from shared import loki
from shared.errors import BadRequest, TooLarge, UnsupportedMediaType
from tests.shippers.conftest import NOW
from tests.shippers.push_proto import push_request

JSON = {"Content-Type": "application/json"}
PROTOBUF = {"Content-Type": "application/x-protobuf"}
NS = 1_773_489_600_123_456_789  # 2026-03-14T12:00:00.123456789Z


def push(body, caller, settings, headers=JSON):
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    return loki.parse(data, headers, caller, settings, NOW)


def test_the_documented_json_push_body(caller, settings) -> None:
    # The example of https://grafana.com/docs/loki/latest/reference/loki-http-api/#ingest-logs
    body = {
        "streams": [
            {
                "stream": {"label": "value"},
                "values": [
                    ["1773489600123456789", "fizzbuzz"],
                    ["1773489600123456789", "fizzbuzz", {"trace_id": "0242ac120002"}],
                ],
            }
        ]
    }
    batch = push(body, caller, settings)
    first, second = batch.accepted
    assert first["message"] == "fizzbuzz" and first["level"] == "INFO"
    assert first["timestamp"] == "2026-03-14T12:00:00.123456+00:00"
    assert first["extra_data"] == {"labels": {"label": "value"}}
    assert second["trace_id"] == "0242ac120002"
    assert batch.rejected == []


def test_labels_name_service_level_and_logger(caller, settings) -> None:
    body = {
        "streams": [
            {
                "stream": {"job": "varlogs", "app": "trading-engine", "detected_level": "warn"},
                "values": [[str(NS), "slippage over limit"]],
            },
            {
                "stream": {"service_name": "telegram-bot", "level": "trace", "logger": "bot.cmd"},
                "values": [[str(NS), "command /start"]],
            },
            {
                "stream": {"job": "ai-processor", "detected_level": "unknown"},
                "values": [[str(NS), "plain line"]],
            },
        ]
    }
    engine, bot, ai = push(body, caller, settings).accepted
    assert (engine["service"], engine["level"]) == ("trading-engine", "WARNING")
    assert engine["extra_data"] == {"labels": {"job": "varlogs"}}
    assert (bot["service"], bot["level"], bot["logger_name"]) == (
        "telegram-bot",
        "DEBUG",
        "bot.cmd",
    )
    assert (ai["service"], ai["level"]) == ("ai-processor", "INFO")


def test_a_json_line_is_a_record_and_wins_over_labels(caller, settings) -> None:
    line = orjson.dumps(
        {
            "message": "order filled",
            "level": "TRADE_EXECUTED",
            "timestamp": "2026-03-14T11:00:00Z",
            "user_id": "u-9",
            "qty": 0.5,
        }
    ).decode()
    body = {
        "streams": [
            {"stream": {"service": "trading-engine", "level": "info"}, "values": [[str(NS), line]]}
        ]
    }
    (record,) = push(body, caller, settings).accepted
    assert record["level"] == "TRADE_EXECUTED" and record["service"] == "trading-engine"
    assert record["timestamp"] == "2026-03-14T11:00:00.000000+00:00"
    assert record["user_id"] == "u-9" and record["extra_data"] == {"qty": 0.5}


def test_snappy_protobuf_as_promtail_sends_it(caller, settings) -> None:
    raw = push_request(
        [
            (
                '{service="portfolio-manager", level="error", host="vm-1", '
                'path="C:\\\\logs \\"x\\""}',
                [
                    (NS, "rebalance failed", {"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}),
                    (NS + 1000, '{"message": "retrying", "level": "warning"}', {}),
                ],
            )
        ]
    )
    batch = push(bytes(cramjam.snappy.compress_raw(raw)), caller, settings, PROTOBUF)
    failed, retry = batch.accepted
    assert failed["service"] == "portfolio-manager" and failed["level"] == "ERROR"
    assert failed["timestamp"] == "2026-03-14T12:00:00.123456+00:00"
    assert failed["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert failed["extra_data"] == {"labels": {"host": "vm-1", "path": 'C:\\logs "x"'}}
    assert retry["message"] == "retrying" and retry["level"] == "WARNING"
    assert retry["timestamp"] == "2026-03-14T12:00:00.123457+00:00"


def test_refused_entries_are_reported_and_the_others_kept(caller, settings) -> None:
    body = {
        "streams": [
            {
                "stream": {"service": "x"},
                "values": [
                    [str(NS), "good"],
                    ["yesterday", "bad time"],
                    [str(NS), "   "],
                    [str(NS)],
                    [str(NS), "also good"],
                ],
            }
        ]
    }
    batch = push(body, caller, settings)
    assert [r["message"] for r in batch.accepted] == ["good", "also good"]
    assert [r["index"] for r in batch.rejected] == [1, 2, 3]
    text = loki.rejection_text(batch)
    assert text.startswith("3 of 5 entries refused")
    assert "entry 1: timestamp 'yesterday' is not Unix nanoseconds" in text


@pytest.mark.parametrize(
    ("body", "headers", "error"),
    [
        (b"{", JSON, BadRequest),
        (b'{"streams": {}}', JSON, BadRequest),
        (b'{"streams": [{"stream": [], "values": []}]}', JSON, BadRequest),
        (b'{"streams": []}', JSON, BadRequest),
        (b"\x05not snappy", PROTOBUF, BadRequest),
        (bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff")), PROTOBUF, BadRequest),
        (b"{}", {"Content-Type": "text/plain"}, UnsupportedMediaType),
    ],
)
def test_unreadable_requests(caller, settings, body, headers, error) -> None:
    with pytest.raises(error):
        loki.parse(body, headers, caller, settings, NOW)


def test_limits(caller, settings) -> None:
    values = [[str(NS), f"line {i}"] for i in range(3)]
    body = {"streams": [{"stream": {}, "values": values}]}
    with pytest.raises(TooLarge):
        push(body, caller, replace(settings, max_records_per_request=2))
    raw = push_request([("{}", [(NS, "x" * 5000, {})])])
    with pytest.raises(TooLarge):
        push(
            bytes(cramjam.snappy.compress_raw(raw)),
            caller,
            replace(settings, max_request_bytes=4096),
            PROTOBUF,
        )
    zipped = gzip.compress(orjson.dumps(body))
    batch = push(zipped, caller, settings, {**JSON, "Content-Encoding": "gzip"})
    assert len(batch.accepted) == 3


def test_label_syntax() -> None:
    assert loki.parse_labels('{a="1", b_c="two words",d="\\"q\\"\\n"}') == {
        "a": "1",
        "b_c": "two words",
        "d": '"q"\n',
    }
    assert loki.parse_labels("{}") == {}
    with pytest.raises(BadRequest):
        loki.parse_labels("{a=1}")
