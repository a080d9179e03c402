"""Which records join a trade chain, under which key, and what they say about the trade."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared import trades
from shared.settings import Settings

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def rec(level: str = "SIGNAL_RECEIVED", **fields: object) -> dict[str, object]:
    return {"id": "r1", "timestamp": NOW.isoformat(), "level": level, "service": "s", **fields}


DEFAULT = trades.key_paths(Settings().trade_key_fields)


def test_signal_id_wins_over_request_id() -> None:
    both = rec(request_id="req-1", extra_data={"signal_id": "sig-1"})
    assert trades.chain_key(both, DEFAULT) == "sig-1"
    assert trades.chain_key(rec(request_id="req-1", extra_data={}), DEFAULT) == "req-1"
    assert trades.chain_key(rec(extra_data={"signal_id": 42}), DEFAULT) == "42"
    assert trades.chain_key(rec(extra_data={"signal_id": " "}), DEFAULT) is None


def test_configured_paths_in_order() -> None:
    paths = trades.key_paths(["order.trade_id", "extra_data.request_id", "session_id"])
    nested = rec(extra_data={"order": {"trade_id": "t-9"}, "request_id": "x"}, session_id="s")
    assert trades.chain_key(nested, paths) == "t-9"
    assert trades.chain_key(rec(extra_data={"request_id": "x"}, request_id="top"), paths) == "x"
    assert trades.chain_key(rec(session_id="sess"), paths) == "sess"
    with pytest.raises(ValueError, match="TRADE_KEY_FIELDS"):
        trades.key_paths(["signal_id", "a..b"])
    with pytest.raises(ValueError, match="at least one"):
        trades.key_paths([])


def test_settings_read_the_key_fields() -> None:
    env = {"TRADE_KEY_FIELDS": "trade_id, request_id"}
    assert Settings.from_env(env).trade_key_fields == ("trade_id", "request_id")
    assert Settings.from_env({}).trade_key_fields == ("signal_id", "request_id")
    with pytest.raises(ValueError, match="TRADE_KEY_FIELDS"):
        Settings.from_env({"TRADE_KEY_FIELDS": "signal_id,order..id"})


@pytest.mark.parametrize(
    ("level", "extra", "expected"),
    [
        ("AI_DECISION", {"decision": "BUY", "symbol": "btcusdt"}, ("buy", "buy", "BTCUSDT")),
        ("AI_DECISION", {"action": "Skip"}, ("skip", None, None)),
        ("SIGNAL_RECEIVED", {"side": "SELL", "decision": "buy"}, (None, "sell", None)),
        ("TRADE_EXECUTED", {"symbol": "ETH"}, (None, None, "ETH")),
    ],
)
def test_decision_side_and_symbol(
    level: str, extra: dict[str, object], expected: tuple[object, ...]
) -> None:
    stage = trades.stage_of(rec(level, extra_data={"signal_id": "k", **extra}), DEFAULT)
    assert stage is not None
    assert (stage.decision, stage.side, stage.symbol) == expected


def test_only_trading_warning_and_error_records_with_a_key_are_stages() -> None:
    keyed = {"extra_data": {"signal_id": "k"}}
    assert trades.stage_of(rec("INFO", **keyed), DEFAULT) is None
    assert trades.stage_of(rec("DEBUG", **keyed), DEFAULT) is None
    assert trades.stage_of(rec("WARNING", **keyed), DEFAULT) is not None
    assert trades.stage_of(rec("ERROR", **keyed), DEFAULT) is not None
    assert trades.stage_of(rec("TRADE_EXECUTED"), DEFAULT) is None
    assert trades.stage_of(rec(timestamp="not a time", **keyed), DEFAULT) is None
    batch = [rec(**keyed), rec(**keyed), rec(id="r0", **keyed)]
    assert [s.record_id for s in trades.stages_of(batch, DEFAULT)] == ["r0", "r1"]
