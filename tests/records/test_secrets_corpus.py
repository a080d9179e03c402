"""The secrets corpus (`secrets_corpus.jsonl`) through the ingest path: every secret, wherever
in the record it sits, is gone from the event body; every look-alike comes through unchanged;
each redaction is counted by kind on the event, without the value."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared import ingest, records, redaction
from shared.access import Caller
from shared.settings import Settings
from tests.records.conftest import CORPUS_RESULT

CORPUS_FILE = Path(__file__).with_name("secrets_corpus.jsonl")


def corpus() -> Iterator[dict[str, Any]]:
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip():
            entry = orjson.loads(line)
            if "field" in entry:
                yield entry


SECRETS = [e for e in corpus() if "secret" in e]
LOOK_ALIKES = [e for e in corpus() if "lookalike" in e]


def raw_record(entry: dict[str, Any]) -> dict[str, Any]:
    """A record as a bot sends it, with the entry's value where its field says."""
    raw: dict[str, Any] = {"message": "probe", "service": "trading-engine", "level": "INFO"}
    field, value = entry["field"], orjson.loads(orjson.dumps(entry["value"]))
    if field == "top":
        raw.update(value)
    else:
        raw[field] = value
    return raw


def ingested(entry: dict[str, Any], caller: Caller, settings: Settings, now: datetime):
    batch = ingest.build_batch([raw_record(entry)], caller, settings, now)
    assert not batch.rejected, batch.rejected
    return batch.accepted[0], batch.events[0][1]


def as_stored(entry: dict[str, Any], record: dict[str, Any]) -> Any:
    field = entry["field"]
    return record.get("extra_data") if field == "top" else record.get(field)


def test_the_corpus_is_large_and_covers_every_field() -> None:
    assert len(SECRETS) >= 200
    assert len(LOOK_ALIKES) >= 100
    assert len({e["secret"] for e in SECRETS}) == len(SECRETS)
    fields = {e["field"] for e in SECRETS}
    scanned, ids = redaction.redacted_fields()
    assert set(scanned) <= fields
    assert set(ids) - {"id"} <= fields
    assert {"extra_data", "top"} <= fields
    assert {e["kind"] for e in SECRETS} <= set(redaction.KINDS)


def test_every_secret_is_redacted_and_no_look_alike_damaged(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    leaked: list[str] = []
    uncounted: list[str] = []
    for entry in SECRETS:
        record, body = ingested(entry, caller, settings, now)
        if entry["secret"] in body.decode():
            leaked.append(f"{entry['kind']} in {entry['field']}: {entry['value']!r}")
        elif not record.get(records.REDACTED_COUNTS):
            uncounted.append(f"{entry['kind']} in {entry['field']}")
    damaged: list[str] = []
    for entry in LOOK_ALIKES:
        record, body = ingested(entry, caller, settings, now)
        if as_stored(entry, record) != entry["value"] or records.REDACTED_COUNTS in record:
            damaged.append(
                f"{entry['lookalike']}: {entry['value']!r} -> {as_stored(entry, record)!r}"
            )
    CORPUS_RESULT.update(
        secrets=len(SECRETS),
        redacted=len(SECRETS) - len(leaked),
        lookalikes=len(LOOK_ALIKES),
        damaged=len(damaged),
    )
    assert not leaked, "\n".join(leaked)
    assert not damaged, "\n".join(damaged)
    assert not uncounted, "\n".join(uncounted)


@pytest.mark.parametrize("entry", SECRETS[::7], ids=lambda e: f"{e['kind']}-{e['field']}")
def test_each_redaction_is_counted_by_its_kind(
    entry: dict[str, Any], caller: Caller, settings: Settings, now: datetime
) -> None:
    record, body = ingested(entry, caller, settings, now)
    counts = orjson.loads(body)[records.REDACTED_COUNTS]
    assert counts == record[records.REDACTED_COUNTS]
    assert entry["kind"] in counts or entry["kind"] in ("api_key", "token")
    assert all(kind in redaction.KINDS and n > 0 for kind, n in counts.items())
