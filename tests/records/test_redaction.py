"""Redaction: a corpus of secrets placed in every free-text field and deep in extra_data (by
value and by key) never survives ingest; look-alikes trading logs are full of stay untouched."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest

from shared import records, redaction
from shared.access import Caller
from shared.settings import Settings

STORAGE_KEY = (
    "BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRg=="
)
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
RSA_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
PKCS8_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"

# (text as a bot would log it, the secret part that must disappear)
SECRETS: list[tuple[str, str]] = [
    ("password=hunter2x9", "hunter2x9"),
    ("passwd: Tr0ub4dor3x", "Tr0ub4dor3x"),
    ("pwd=s3cr3tpwd", "s3cr3tpwd"),
    ("secret=whsec_9f8e7d6c5b4a", "whsec_9f8e7d6c5b4a"),
    ("token: tkn_abcdef123456", "tkn_abcdef123456"),
    ("api_key=AKfy3k9Lq2Zp", "AKfy3k9Lq2Zp"),
    ("apikey=0a1b2c3d4e5f6a7b", "0a1b2c3d4e5f6a7b"),
    ("api-key: k-1234567890abcdef", "k-1234567890abcdef"),
    ("access_key=AccK3yValue99", "AccK3yValue99"),
    ("private_key=pk_9d8s7a6f5", "pk_9d8s7a6f5"),
    ("passphrase=correct-horse-battery", "correct-horse-battery"),
    ("client_secret=cs_live_88776655", "cs_live_88776655"),
    ("Authorization: Bearer abc.def.ghi123", "abc.def.ghi123"),
    ("Cookie: sessionid=9f8e7d6c5b4a3928", "9f8e7d6c5b4a3928"),
    ("session_token=st_123456abcdef", "st_123456abcdef"),
    ("binance_secret=bn5ecretXYZ123", "bn5ecretXYZ123"),
    ('{"apiSecret": "aS3cr3tV4lue"}', "aS3cr3tV4lue"),
    ('{\\"password\\": \\"esc4pedPw\\"}', "esc4pedPw"),
    (
        "X-MBX-APIKEY: vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
    ),
    ("KC-API-PASSPHRASE: kuc0inPassPhr4se", "kuc0inPassPhr4se"),
    ("Binance API key Xk39fjsl2KDl39sLx0", "Xk39fjsl2KDl39sLx0"),
    (f"calling with Bearer {JWT}", JWT),
    (f"jwt {JWT} expired", JWT),
    (f"storage key {STORAGE_KEY}", STORAGE_KEY),
    (
        "DefaultEndpointsProtocol=https;AccountName=prod;"
        f"AccountKey={STORAGE_KEY};EndpointSuffix=core.windows.net",
        STORAGE_KEY,
    ),
    (
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=send;"
        "SharedAccessKey=abcDEF123456ghiJKL789mno=",
        "abcDEF123456ghiJKL789mno=",
    ),
    (
        "Server=tcp:db.database.windows.net;Database=logs;User ID=bot;Password=P4ssw0rd2024;",
        "P4ssw0rd2024",
    ),
    (
        "GET https://acct.blob.core.windows.net/c/b?sv=2022-11-02&ss=b&sig=AbCdEf%2BgHiJk%3D&se=2030",
        "AbCdEf%2BgHiJk%3D",
    ),
    ("using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE"),
    ("sts gave ASIAY34FZKBOKMUTVV7A", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        f"-----BEGIN RSA PRIVATE KEY-----\n{RSA_BODY}\n-----END RSA PRIVATE KEY-----",
        RSA_BODY,
    ),
    (f"key follows -----BEGIN PRIVATE KEY-----\n{PKCS8_BODY}\n", PKCS8_BODY),
    ("card 4111 1111 1111 1111 charged", "4111 1111 1111 1111"),
    ("mc 5555-5555-5555-4444 declined", "5555-5555-5555-4444"),
    ("amex 378282246310005", "378282246310005"),
    ("amex spaced 3782 822463 10005", "3782 822463 10005"),
    ("discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
    ("mc2 2223003122003222", "2223003122003222"),
    ("jcb 3530111333300000", "3530111333300000"),
    ("diners 30569309025904", "30569309025904"),
    ("ssn 123-45-6789 on file", "123-45-6789"),
    ("customer ssn 078-05-1120", "078-05-1120"),
    (
        "bot token 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9",
    ),
    ("openai sk-proj-abcdefghijklmnopqrstuvwx1234", "sk-proj-abcdefghijklmnopqrstuvwx1234"),
    ("stripe sk_live_51HrTq2LkZr0aBcDeFgHiJkLmN", "sk_live_51HrTq2LkZr0aBcDeFgHiJkLmN"),
    (
        "github ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    ),
    ("slack xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
    ("connect postgresql://trader:Sup3rS3cret@db:5432/logs", "Sup3rS3cret"),
    ("cache redis://:r3d1sPass@cache:6379", "r3d1sPass"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("header Basic Ym90OnMzY3IzdA== sent", "Ym90OnMzY3IzdA=="),
    ("mnemonic: abandon ability able about above absent", "ability able about above"),
    ("wallet seed_phrase='zoo zebra zone'", "zoo zebra zone"),
    ("telegram_bot_token=555:botsecret", "555:botsecret"),
    ("signature=9f2c4e7a1b3d5f60", "9f2c4e7a1b3d5f60"),
]

# A value under each of these keys is redacted whatever it is.
SENSITIVE_KEYS = [
    "password",
    "Password",
    "db_password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "binance_secret",
    "apiSecret",
    "api_key",
    "apiKey",
    "API-KEY",
    "x-mbx-apikey",
    "X-MBX-APIKEY",
    "access_key",
    "aws_access_key_id",
    "private_key",
    "privateKey",
    "passphrase",
    "kucoin_passphrase",
    "authorization",
    "Authorization",
    "cookie",
    "Set-Cookie",
    "session_token",
    "sessionToken",
    "token",
    "access_token",
    "refreshToken",
    "bot_token",
    "auth",
    "signature",
    "sig",
    "mnemonic",
    "seed_phrase",
    "card_number",
    "cvv",
    "connection_string",
    "credentials",
]

# Keys that only look like sensitive ones: their values stay.
INNOCENT_KEYS = [
    "prompt_tokens",
    "completion_tokens",
    "tokens",
    "token_address",
    "token_count",
    "bypass",
    "signal",
    "signals",
    "session_id",
    "request_id",
    "key_id",
    "author",
    "design",
    "symbol",
    "order_id",
]

LOOK_ALIKES = [
    "order 1234567890123450002 filled",  # Luhn-valid but no card prefix (an order id)
    "order 4111111111111112 filled",  # card prefix, fails Luhn
    "order id 4532015112830367",  # fails Luhn
    "ids 98765432109876543210 and 12345678901234",
    "ts 2026-03-14T12:00:00.123456Z",
    "epoch 1705314600 and 1705314600001 ms",  # the ms value passes Luhn
    "compact 20260314120000123",
    "trade 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "tx 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
    "request 550e8400-e29b-41d4-a716-446655440000",
    "price 43250.12345678 qty 0.00001234 total 1,234,567.89",
    "price 0.4111111111111111",
    "Signal received: BUY BTCUSDT strength 0.83",
    "AI decision used 1520 tokens, prompt_tokens=1200",
    "Bearer token missing in request",
    "basic strategy selected",
    "eth 0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
    "phone 555-867-5309 date 2026-03-14",
    "ipv6 2001:db8::1 port 8443",
    "the password reset link was sent",
    "https://api.binance.com/api/v3/order?symbol=BTCUSDT&side=BUY",
]


def _record_with(text: str) -> dict[str, Any]:
    return {
        "message": f"context {text} end",
        "exception_message": text,
        "stack_trace": f'Traceback (most recent call last):\n  File "bot.py", line 7\n    {text}\n',
        "extra_data": {
            "note": text,
            "nested": {"deeper": [text, {"deepest": text}]},
        },
    }


@pytest.mark.parametrize(("text", "secret"), SECRETS, ids=[s for _, s in SECRETS])
def test_each_secret_is_redacted_everywhere(
    text: str, secret: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    record, body = records.prepare(_record_with(text), records.Context.of(caller, settings, now))
    assert secret not in body.decode()
    assert secret not in orjson.dumps(record).decode()
    for field in ("message", "exception_message", "stack_trace"):
        assert "[REDACTED" in record[field], field
    assert "[REDACTED" in record["extra_data"]["nested"]["deeper"][1]["deepest"]


def test_the_corpus_is_large_and_distinct() -> None:
    assert len({text for text, _ in SECRETS}) == len(SECRETS)
    assert len({secret for _, secret in SECRETS}) >= 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login password=hunter2 ok", "login password=[REDACTED] ok"),
        ("Authorization: Bearer abc123", "Authorization: Bearer [REDACTED]"),
        ("sent Bearer abc123 upstream", "sent Bearer [REDACTED] upstream"),
        ("card 4111 1111 1111 1111 ok", "card [REDACTED:card] ok"),
        ('{"password": "x y"}', '{"password": "[REDACTED]"}'),
        ("db_password: 'x' user=bob", "db_password: '[REDACTED]' user=bob"),
        ("postgres://bob:pw@db/x", "postgres://bob:[REDACTED]@db/x"),
        ("k=v;AccountKey=abc==;x=y", "k=v;AccountKey=[REDACTED];x=y"),
        ("?sv=1&sig=abc%3D&se=2", "?sv=1&sig=[REDACTED]&se=2"),
        ("ssn 123-45-6789.", "ssn [REDACTED:ssn]."),
        (f"t={JWT}", "t=[REDACTED:jwt]"),
    ],
)
def test_the_readable_prefix_is_kept(text: str, expected: str) -> None:
    assert redaction.redact_text(text) == expected


@pytest.mark.parametrize("key", SENSITIVE_KEYS)
@pytest.mark.parametrize("value", ["plainvalue", 12345, True, {"inner": "x"}, ["a", "b"]])
def test_values_under_sensitive_keys_are_redacted_whatever_their_type(
    key: str, value: Any, caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "extra_data": {"outer": [{"level2": {key: value}}]}}
    record = records.normalize(raw, caller, settings, now)
    assert record["extra_data"]["outer"][0]["level2"] == {key: "[REDACTED]"}


@pytest.mark.parametrize("key", INNOCENT_KEYS)
def test_look_alike_keys_keep_their_values(
    key: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "extra_data": {"x": {key: "value-1"}, key: 42}}
    record = records.normalize(raw, caller, settings, now)
    assert record["extra_data"] == {"x": {key: "value-1"}, key: 42}


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_survive_untouched(
    text: str, caller: Caller, settings: Settings, now: datetime
) -> None:
    assert redaction.redact_text(text) == text
    record = records.normalize(_record_with(text), caller, settings, now)
    assert record["message"] == f"context {text} end"
    assert record["extra_data"]["nested"]["deeper"][0] == text


def test_numeric_card_numbers_in_extra_data_are_redacted_and_order_ids_kept(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "extra_data": {"pan": 4111111111111111, "order": 4111111111111112}}
    record = records.normalize(raw, caller, settings, now)
    assert record["extra_data"] == {"pan": "[REDACTED:card]", "order": 4111111111111112}


def test_unknown_top_level_fields_are_redacted_too(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {"message": "m", "api_key": "shipper-added-key", "note": "password=abc"}
    record = records.normalize(raw, caller, settings, now)
    assert record["extra_data"] == {"api_key": "[REDACTED]", "note": "password=[REDACTED]"}


def test_every_corpus_text_fires_the_screen() -> None:
    for text, _ in SECRETS:
        assert redaction.might_contain_secret(text), text
        assert redaction.might_contain_secret(text.encode()), text


def test_clean_event_bodies_do_not_fire_the_screen(
    caller: Caller, settings: Settings, now: datetime
) -> None:
    raw = {
        "id": "ord-1",
        "level": "TRADE_EXECUTED",
        "service": "trading-engine",
        "message": "Order filled BTCUSDT BUY 0.5 @ 43210.5 order 123456789012 latency 45 ms",
        "request_id": "550e8400-e29b-41d4-a716-446655440000",
        "extra_data": {
            "symbol": "BTCUSDT",
            "trade_hash": "ab34f9d8e7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffeeddcc",
            "fees": {"maker": 0.001},
        },
    }
    _, body = records.prepare(raw, records.Context.of(caller, settings, now))
    assert not redaction.might_contain_secret(body)


def test_redacting_twice_changes_nothing_more() -> None:
    for text, _ in SECRETS:
        once = redaction.redact_text(text)
        assert redaction.redact_text(once) == once, text
