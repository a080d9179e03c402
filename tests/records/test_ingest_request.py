"""POST /api/logs bodies: content types, gzip (good, corrupt, bomb), limits, mixed batches and
bound keys, each with the status its error carries."""

from __future__ import annotations

import gzip
import os
import tracemalloc
import zlib
from datetime import datetime
from typing import Any

import orjson
import pytest

from shared import ingest, records
from shared.access import Caller
from shared.errors import BadRequest, Forbidden, PipelineError, TooLarge, UnsupportedMediaType
from shared.settings import Settings

JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}


def rec(i: int = 0, **fields: Any) -> dict[str, Any]:
    return {"id": f"r-{i}", "message": f"fill {i}", "service": "trading-engine", **fields}


def parse(
    body: bytes, headers: dict[str, str], caller: Caller, settings: Settings, now: datetime
) -> ingest.Batch:
    return ingest.parse_request(body, headers, caller, settings, now)


def status_of(call: Any) -> tuple[int, PipelineError]:
    with pytest.raises(PipelineError) as info:
        call()
    return info.value.status, info.value


def test_one_object(caller: Caller, settings: Settings, now: datetime) -> None:
    batch = parse(orjson.dumps(rec()), JSON, caller, settings, now)
    assert batch.summary() == {"accepted": 1, "ids": ["r-0"], "rejected": []}


def test_an_array_gives_one_event_per_record_keyed_by_service(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps([rec(0), rec(1, service="ai-processor"), rec(2)])
    batch = parse(body, JSON, caller, settings, now)
    assert batch.summary()["ids"] == ["r-0", "r-1", "r-2"]
    assert [key for key, _ in batch.events] == ["trading-engine", "ai-processor", "trading-engine"]
    assert [records.decode_event(b)["id"] for _, b in batch.events] == ["r-0", "r-1", "r-2"]
    assert [orjson.loads(b) for _, b in batch.events] == batch.accepted


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "",
    ],
)
def test_json_content_types(
    content_type: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    assert parse(orjson.dumps([rec()]), headers, caller, settings, now).summary()["accepted"] == 1


@pytest.mark.parametrize(
    "content_type", ["application/x-ndjson", "application/jsonl", "application/x-ndjson; a=b"]
)
def test_ndjson_keeps_good_lines_and_rejects_the_malformed_one(
    content_type: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    body = b"\n".join(
        [orjson.dumps(rec(0)), b"{broken", b"", orjson.dumps(rec(2)) + b"\r", b"  ", b"[1]"]
    )
    batch = parse(body, {"content-type": content_type}, caller, settings, now)
    assert batch.summary()["ids"] == ["r-0", "r-2"]
    assert batch.rejected == [
        {"index": 1, "error": "this line is not valid JSON"},
        {"index": 3, "error": "a record must be a JSON object, not array"},
    ]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/xml"],
)
def test_other_content_types_are_415(
    content_type: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    status, error = status_of(
        lambda: parse(orjson.dumps(rec()), {"Content-Type": content_type}, caller, settings, now)
    )
    assert status == 415 and isinstance(error, UnsupportedMediaType)
    assert content_type in error.message


def test_gzip_bodies_are_decompressed(caller: Caller, settings: Settings, now: datetime) -> None:
    body = gzip.compress(b"\n".join(orjson.dumps(rec(i)) for i in range(3)))
    batch = parse(body, {**NDJSON, "Content-Encoding": "gzip"}, caller, settings, now)
    assert batch.summary()["accepted"] == 3
    two_members = gzip.compress(orjson.dumps(rec(0)) + b"\n") + gzip.compress(orjson.dumps(rec(1)))
    batch = parse(two_members, {**NDJSON, "Content-Encoding": "GZIP"}, caller, settings, now)
    assert batch.summary()["ids"] == ["r-0", "r-1"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"definitely not gzip", "the gzip body is corrupt"),
        (gzip.compress(orjson.dumps([rec()]))[:-12], "the gzip body is truncated"),
        (b"", "the gzip body is truncated"),
        (gzip.compress(orjson.dumps([rec()])) + b"trailing junk", "the gzip body is corrupt"),
    ],
)
def test_bad_gzip_is_400(
    body: bytes, error: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    headers = {**JSON, "Content-Encoding": "gzip"}
    status, exc = status_of(lambda: parse(body, headers, caller, settings, now))
    assert status == 400 and isinstance(exc, BadRequest) and error in exc.message


def test_a_gzip_bomb_is_413_without_inflating_it(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    assert len(bomb) < 512 * 1024  # 256 MiB of zeros
    headers = {**JSON, "Content-Encoding": "gzip"}
    tracemalloc.start()
    try:
        status, exc = status_of(lambda: parse(bomb, headers, caller, settings, now))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and "after decompression" in exc.message
    assert peak < 4 * settings.max_request_bytes


def test_other_content_encodings_are_415(caller: Caller, settings: Settings, now: datetime) -> None:
    headers = {**JSON, "Content-Encoding": "br"}
    status, exc = status_of(lambda: parse(orjson.dumps(rec()), headers, caller, settings, now))
    assert status == 415 and "Content-Encoding 'br'" in exc.message


def test_two_mebibytes_is_413_plain_or_compressed(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    big = orjson.dumps([rec(i, extra_data={"pad": "x" * 4000}) for i in range(520)])
    assert len(big) > 2 * 1024 * 1024
    status, exc = status_of(lambda: parse(big, JSON, caller, settings, now))
    assert status == 413 and isinstance(exc, TooLarge)
    assert str(settings.max_request_bytes) in exc.message
    headers = {**JSON, "Content-Encoding": "gzip"}
    status, _ = status_of(lambda: parse(gzip.compress(big), headers, caller, settings, now))
    assert status == 413
    raw = os.urandom(2 * 1024 * 1024)
    status, _ = status_of(lambda: parse(raw, JSON, caller, settings, now))
    assert status == 413


def test_exactly_the_byte_limit_is_accepted(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps(rec())
    body = body[:-1] + b" " * (settings.max_request_bytes - len(body)) + b"}"
    assert len(body) == settings.max_request_bytes
    assert parse(body, JSON, caller, settings, now).summary()["accepted"] == 1


@pytest.mark.parametrize("headers", [JSON, NDJSON])
def test_more_than_1000_records_is_413_naming_the_limit(
    headers: dict[str, str], caller: Caller, settings: Settings, now: datetime
) -> None:
    def encode(items: list[dict[str, str]]) -> bytes:
        if headers is JSON:
            return orjson.dumps(items)
        return b"\n".join(orjson.dumps(r) for r in items)

    many = [{"message": "m"}] * 1001
    status, exc = status_of(lambda: parse(encode(many), headers, caller, settings, now))
    assert status == 413 and "1000" in exc.message
    accepted = parse(encode(many[:1000]), headers, caller, settings, now).summary()["accepted"]
    assert accepted == 1000


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "the body is not valid JSON"),
        (b'"a string"', "the body must be a JSON object or an array of objects"),
        (b"42", "the body must be a JSON object or an array of objects"),
        (b"", "the body is empty"),
        (b"  \n ", "the body is empty"),
        (b'[{"message": "a"}, ', "the body is not valid JSON"),
    ],
)
def test_malformed_bodies_are_400(
    body: bytes, error: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    status, exc = status_of(lambda: parse(body, JSON, caller, settings, now))
    assert status == 400 and error in exc.message


def test_nothing_valid_is_400_with_every_rejection(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps([{"level": "INFO"}, rec(1, message=" "), "text"])
    status, exc = status_of(lambda: parse(body, JSON, caller, settings, now))
    assert status == 400 and exc.message == "no valid records"
    assert [r["index"] for r in exc.detail] == [0, 1, 2]
    assert "message is required" in exc.detail[0]["error"]
    assert "message must not be empty" in exc.detail[1]["error"]
    status, exc = status_of(lambda: parse(b"[]", JSON, caller, settings, now))
    assert status == 400 and exc.detail == []


def test_mixed_requests_keep_every_valid_record(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps(
        [
            {"level": "INFO", "service": "x"},
            rec(1),
            rec(2, level="LOUD"),
            rec(3, timestamp="2999-01-01T00:00:00Z"),
            rec(4, extra_data=[1]),
            rec(5, level="warn"),
        ]
    )
    batch = parse(body, JSON, caller, settings, now)
    assert batch.summary()["ids"] == ["r-1", "r-2", "r-4", "r-5"]
    assert [r["index"] for r in batch.rejected] == [0, 3]
    assert batch.summary()["coerced"] == 2
    assert len(batch.events) == 4
    assert batch.accepted[1]["extra_data"]["_coerced"] == {"level": "LOUD"}
    assert batch.accepted[2]["extra_data"] == {"_coerced": {"extra_data": [1]}}


def test_an_answer_without_coercion_has_exactly_the_contract_keys(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    batch = parse(orjson.dumps([rec(1, user_id=7)]), JSON, caller, settings, now)
    assert set(batch.summary()) == {"accepted", "ids", "rejected"}


def test_a_bound_key_refusing_everything_is_403(
    bound_caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps([rec(0, service="api-gateway"), rec(1, service="ai-processor")])
    status, exc = status_of(lambda: parse(body, JSON, bound_caller, settings, now))
    assert status == 403 and isinstance(exc, Forbidden)
    assert [r["index"] for r in exc.detail] == [0, 1]
    assert "bound to service 'trading-engine'" in exc.detail[0]["error"]


def test_a_bound_key_keeps_its_own_records(
    bound_caller: Caller, settings: Settings, now: datetime
) -> None:
    body = orjson.dumps([{"message": "m"}, rec(1, service="api-gateway"), rec(2)])
    batch = parse(body, JSON, bound_caller, settings, now)
    assert [r["service"] for r in batch.accepted] == ["trading-engine", "trading-engine"]
    assert batch.rejected[0]["index"] == 1
    assert {key for key, _ in batch.events} == {"trading-engine"}


def test_secrets_are_gone_from_the_events(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    secret = "sk_live_51HrTq2LkZr0aBcDeFgHiJkLmN"
    body = orjson.dumps(
        rec(
            message=f"login with password={secret}",
            extra_data={"api_key": secret, "nested": {"binance_secret": secret}},
            exception_message=f"Bearer {secret}",
            stack_trace=f'File "bot.py" token={secret}',
        )
    )
    batch = parse(gzip.compress(body), {**JSON, "Content-Encoding": "gzip"}, caller, settings, now)
    assert secret.encode() not in batch.events[0][1]
    assert secret not in orjson.dumps(batch.accepted).decode()


def test_escaped_nul_characters_are_replaced_in_the_events(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = b'[{"message": "a\\u0000b", "extra_data": {"k": "v\\u0000"}}, {"message": "clean"}]'
    batch = parse(body, JSON, caller, settings, now)
    first, second = (orjson.loads(event) for _, event in batch.events)
    assert first["message"] == "a\ufffdb" and first["extra_data"] == {"k": "v\ufffd"}
    assert second["message"] == "clean"
    assert all(b"\\u0000" not in event for _, event in batch.events)


def test_records_over_a_field_limit_are_413_when_nothing_else_is_wrong(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    big = "x" * (settings.max_message_bytes + 1)
    status, exc = status_of(
        lambda: parse(orjson.dumps(rec(message=big)), JSON, caller, settings, now)
    )
    assert status == 413 and isinstance(exc, TooLarge)
    assert exc.detail == [{"index": 0, "error": "message is larger than 32768 bytes (UTF-8)"}]
    huge_extra = rec(1, extra_data={"blob": "y" * settings.max_extra_data_bytes})
    both = orjson.dumps([rec(message=big), huge_extra])
    assert status_of(lambda: parse(both, JSON, caller, settings, now))[0] == 413
    mixed = orjson.dumps([rec(message=big), {"level": "INFO"}])
    status, exc = status_of(lambda: parse(mixed, JSON, caller, settings, now))
    assert status == 400 and [r["index"] for r in exc.detail] == [0, 1]
    kept = parse(orjson.dumps([rec(message=big), rec(2)]), JSON, caller, settings, now)
    assert kept.summary()["ids"] == ["r-2"] and kept.rejected[0]["index"] == 0


def test_a_utf8_byte_order_mark_is_ignored(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = b"\xef\xbb\xbf" + orjson.dumps([rec(0)])
    assert parse(body, JSON, caller, settings, now).summary()["ids"] == ["r-0"]
    lines = b"\xef\xbb\xbf" + orjson.dumps(rec(1)) + b"\n" + orjson.dumps(rec(2))
    assert parse(lines, NDJSON, caller, settings, now).summary()["ids"] == ["r-1", "r-2"]
