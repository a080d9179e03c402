"""The Elasticsearch bulk API: action and document lines to records, and the answer its
clients read (one item per action, status 201 or 400)."""

from __future__ import annotations

import gzip
from dataclasses import replace

import orjson
import pytest

from shared import access, elastic
from shared.access import Caller
from shared.errors import BadRequest, TooLarge, UnsupportedMediaType
from shared.settings import Settings
from tests.shippers.conftest import NOW

NDJSON = {"Content-Type": "application/x-ndjson"}


def bulk(*lines: object) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def parse(body: bytes, caller: Caller, settings: Settings, **kw: object) -> elastic.BulkResult:
    headers = kw.pop("headers", NDJSON)
    return elastic.parse(body, headers, kw.pop("index", None), caller, settings, NOW)  # type: ignore[arg-type]


def test_the_reference_example_gets_one_item_per_action(caller, settings) -> None:
    # The request of https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html
    # ("Bulk API" examples): its documents carry no message, delete and update add nothing.
    body = (
        b'{ "index" : { "_index" : "test", "_id" : "1" } }\n'
        b'{ "field1" : "value1" }\n'
        b'{ "delete" : { "_index" : "test", "_id" : "2" } }\n'
        b'{ "create" : { "_index" : "test", "_id" : "3" } }\n'
        b'{ "field1" : "value3" }\n'
        b'{ "update" : {"_id" : "1", "_index" : "test"} }\n'
        b'{ "doc" : {"field2" : "value2"} }\n'
    )
    answer = parse(body, caller, settings).response(took_ms=3)
    assert answer["took"] == 3 and answer["errors"] is True
    actions = [next(iter(item)) for item in answer["items"]]
    assert actions == ["index", "delete", "create", "update"]
    statuses = [item[a]["status"] for item, a in zip(answer["items"], actions, strict=True)]
    assert statuses == [400, 400, 400, 400]
    assert answer["items"][0]["index"]["error"]["reason"].startswith("message is required")
    assert answer["items"][1]["delete"]["error"]["type"] == "action_request_validation_exception"
    assert answer["items"][2]["create"]["_id"] == "3"


def test_fluent_bit_documents_become_records(caller, settings) -> None:
    # Fluent Bit's es output (Suppress_Type_Name On): a create action per record, the record's
    # time under @timestamp (https://docs.fluentbit.io/manual/pipeline/outputs/elasticsearch).
    body = bulk(
        {"create": {"_index": "fluent-bit"}},
        {
            "@timestamp": "2026-03-14T11:59:58.125Z",
            "message": "order filled",
            "level": "trade_executed",
            "service": "trading-engine",
            "symbol": "BTCUSDT",
        },
        {"create": {"_index": "fluent-bit", "_id": "fb-0001"}},
        {"@timestamp": "2026-03-14T11:59:59Z", "message": "heartbeat"},
    )
    result = parse(body, caller, settings)
    first, second = result.batch.accepted
    assert first["timestamp"] == "2026-03-14T11:59:58.125000+00:00"
    assert first["level"] == "TRADE_EXECUTED" and first["service"] == "trading-engine"
    assert first["extra_data"] == {"symbol": "BTCUSDT"}
    assert second["id"] == "fb-0001" and second["service"] == "unknown"
    answer = result.response(took_ms=1)
    assert answer["errors"] is False
    assert [i["create"]["status"] for i in answer["items"]] == [201, 201]
    assert [i["create"]["_id"] for i in answer["items"]] == [first["id"], "fb-0001"]
    assert answer["items"][0]["create"]["_index"] == "fluent-bit"
    assert len(result.events) == 2 and result.events[0][0] == "trading-engine"


def test_a_bad_document_fails_only_its_item(caller, settings) -> None:
    body = (
        bulk({"index": {}}, {"message": "kept one"})
        + b'{"index": {}}\n{"message": not json}\n'
        + bulk({"index": {}}, {"message": "kept two", "level": "LOUD"})
        + bulk({"index": {}}, ["an", "array"], {"index": {}}, {"message": "kept three"})
    )
    result = parse(body, caller, settings, index="bots")
    answer = result.response(took_ms=0)
    statuses = [item["index"]["status"] for item in answer["items"]]
    assert statuses == [201, 400, 201, 400, 201]
    kept = result.batch.accepted
    assert [r["message"] for r in kept] == ["kept one", "kept two", "kept three"]
    assert kept[1]["level"] == "INFO"  # an unknown level is kept as INFO, its value moved
    assert kept[1]["extra_data"]["_coerced"]["level"] == "LOUD"
    assert answer["items"][1]["index"]["_index"] == "bots"


def test_nothing_valid_is_still_an_answer_per_item(caller, settings) -> None:
    answer = parse(bulk({"index": {}}, {"no": "message"}), caller, settings).response(0)
    assert answer["errors"] is True and answer["items"][0]["index"]["status"] == 400


def test_an_id_that_is_no_record_id_becomes_a_stable_digest(caller, settings) -> None:
    body = bulk(
        {"index": {"_id": "a b/c"}}, {"message": "x"}, {"index": {"_id": 7}}, {"message": "y"}
    )
    first = parse(body, caller, settings).batch.accepted
    again = parse(body, caller, settings).batch.accepted
    assert first[0]["id"] == again[0]["id"] and first[0]["id"].startswith("es-")
    assert first[1]["id"] == "7"


def test_secrets_are_redacted(caller, settings) -> None:
    body = bulk({"index": {}}, {"message": "login with password=hunter2", "api_key": "abc123"})
    (record,) = parse(body, caller, settings).batch.accepted
    assert "hunter2" not in orjson.dumps(record).decode()
    assert "abc123" not in orjson.dumps(record).decode()


def test_a_service_bound_key_refuses_other_services_per_item(bound_caller, settings) -> None:
    body = bulk(
        {"index": {}}, {"message": "a", "service": "portfolio"}, {"index": {}}, {"message": "b"}
    )
    result = parse(body, bound_caller, settings)
    answer = result.response(0)
    assert [i["index"]["status"] for i in answer["items"]] == [400, 201]
    assert result.batch.accepted[0]["service"] == "trading-engine"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json\n{}\n", "malformed action/metadata line [1]"),
        (b'{"index": {}, "create": {}}\n{}\n', "malformed action/metadata line [1]"),
        (b'{"upsert": {}}\n{}\n', "unknown action [upsert]"),
        (b'{"index": {}}\n', "has no document line"),
        (b"\n \n", "the body is empty"),
    ],
)
def test_a_request_that_cannot_be_read_is_a_400(caller, settings, body, reason) -> None:
    with pytest.raises(BadRequest, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse(body, caller, settings)


def test_limits_and_encodings(caller, settings) -> None:
    small = replace(settings, max_records_per_request=2)
    three = bulk(*[line for _ in range(3) for line in ({"index": {}}, {"message": "m"})])
    with pytest.raises(TooLarge):
        parse(three, caller, small)
    tiny = replace(settings, max_request_bytes=64)
    with pytest.raises(TooLarge):
        parse(three, caller, tiny)
    zipped = parse(
        gzip.compress(three), caller, settings, headers={**NDJSON, "Content-Encoding": "gzip"}
    )
    assert len(zipped.batch.accepted) == 3
    vendor = {"Content-Type": "application/vnd.elasticsearch+x-ndjson; compatible-with=8"}
    assert len(parse(three, caller, settings, headers=vendor).batch.accepted) == 3
    with pytest.raises(UnsupportedMediaType):
        parse(three, caller, settings, headers={"Content-Type": "text/csv"})


def test_probes() -> None:
    status, info = elastic.probe("GET", "/")
    assert status == 200 and info["version"]["number"] == elastic.VERSION
    assert elastic.VERSION.startswith("8.")
    assert elastic.probe("GET", "_license")[1]["license"]["status"] == "active"
    assert elastic.probe("GET", "_cluster/health")[1]["status"] == "green"
    assert elastic.probe("PUT", "_index_template/filebeat-8.17.0") == (200, {"acknowledged": True})
    assert elastic.probe("GET", "_ilm/policy/filebeat")[0] == 200
    assert elastic.probe("GET", "_cat/indices")[0] == 404
    assert elastic.is_elastic_path("_license") and not elastic.is_elastic_path("logs/x")


def test_an_elasticsearch_api_key_is_presented_as_an_api_key() -> None:
    import base64

    encoded = base64.b64encode(b"fleet:k1").decode()
    assert access.with_elastic_api_key({"Authorization": f"ApiKey {encoded}"})["X-Api-Key"] == "k1"
    assert access.with_elastic_api_key({"Authorization": "ApiKey k2"})["X-Api-Key"] == "k2"
    assert "X-Api-Key" not in access.with_elastic_api_key({"Authorization": "Bearer k3"})
    assert "X-Api-Key" not in access.with_elastic_api_key({})
