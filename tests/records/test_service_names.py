"""Service names are validated, not redacted: a documented character set and length. Any other
value (markup, control characters, a credential) is moved to `extra_data._coerced.service` and
the record stored under `unknown`: a record is never lost over its service name, and no reader
sees the name as a service."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared import ingest, records
from shared.access import Caller
from shared.settings import Settings

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "name",
    ["trading-engine", "api_gateway", "exchange.connector.binance", "bot7", "A" * 64],
)
def test_good_names_are_kept(name: str, caller: Caller, settings: Settings, now: datetime) -> None:
    record = records.normalize({"message": "m", "service": name}, caller, settings, now)
    assert record["service"] == name


@pytest.mark.parametrize(
    "name",
    [
        "<script>alert(1)</script>",
        "trading engine",
        "bot\u0007bell",
        "line\nbreak",
        "a" * 65,
        "ns/app",
        "caf\u00e9",
        "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_bad_names_are_moved_and_the_record_kept_under_unknown(
    name: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    record = records.normalize({"message": "m", "service": name}, caller, settings, now)
    assert record["service"] == records.UNKNOWN_SERVICE
    moved = record["extra_data"][records.COERCED_KEY]["service"]
    if name.startswith("sk-"):
        assert name not in str(record)  # a credential as a name is redacted where it is kept
    else:
        assert moved == name


def test_a_request_of_bad_names_keeps_every_record_and_counts_them(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = b'[{"message": "a", "service": "<b>x</b>"}, {"message": "b", "service": "ok-bot"}]'
    batch = ingest.parse_request(body, JSON, caller, settings, now)
    assert [r["service"] for r in batch.accepted] == [records.UNKNOWN_SERVICE, "ok-bot"]
    assert batch.rejected == []
    assert batch.summary()["coerced"] == 1
