"""Service names are validated, not redacted: a documented character set and length, refused
with an error naming `service`; a name that is a credential is refused too."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared import ingest, records
from shared.access import Caller
from shared.errors import BadRequest
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
def test_bad_names_are_refused_naming_service(
    name: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    with pytest.raises(records.RecordError, match="service"):
        records.normalize({"message": "m", "service": name}, caller, settings, now)


def test_a_request_of_bad_names_is_a_400_and_good_records_beside_them_are_kept(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    body = b'[{"message": "a", "service": "<b>x</b>"}, {"message": "b", "service": "ok-bot"}]'
    batch = ingest.parse_request(body, JSON, caller, settings, now)
    assert [r["service"] for r in batch.accepted] == ["ok-bot"]
    assert batch.rejected[0]["index"] == 0 and "service" in batch.rejected[0]["error"]
    with pytest.raises(BadRequest) as info:
        ingest.parse_request(b'{"message": "a", "service": "x y"}', JSON, caller, settings, now)
    assert "service" in str(info.value.detail)
