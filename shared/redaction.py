"""Redaction of secrets, so no store, archive, stream or report ever holds one.

Every text field of a record (`REDACTED_FIELDS`) and every key and value of extra_data, at any
depth, goes through two kinds of detector:

- by key name (`key_verdict`): a value under a sensitive key (`password`, `apiSecret`,
  `x-mbx-apikey`, `pk`, `{"okx": {"key": ...}}`, a `{"name": "X-MBX-APIKEY", "value": ...}`
  pair) is replaced by `[REDACTED]`. Names are matched on their segments, so `monkey`,
  `token_count` and `public_key` keep their values; loose names (`key`, `pk`, `seed`, ...) keep
  numbers, so a random seed of 42 survives;
- by value (`RULES`): inside every string, a secret is replaced and its readable prefix kept
  (`password=[REDACTED]`, `Bearer [REDACTED]`, `[REDACTED:card]`).

Identifier fields (`ID_FIELDS`) are not cut up: an id that holds a secret (a JWT as session id)
becomes a stable keyed fingerprint (`jwt:sha256:<16 hex>`), so correlation by it still works.

Each redaction is counted by kind (`KINDS`), without the value, so the pipeline can tell which
service leaks what.

Clean text costs almost nothing: every rule has a trigger, and all triggers together form one
RE2 pattern (a linear-time automaton) that the caller runs once over a whole serialised record.
Only a string whose triggers fire goes through those rules' Python patterns.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import re2

from shared import fields

REDACTED = "[REDACTED]"

KINDS: tuple[str, ...] = (
    "password",
    "api_key",
    "token",
    "jwt",
    "private_key",
    "mnemonic",
    "webhook",
    "telegram_token",
    "cloud_key",
    "connection_string",
    "credential",
    "card",
    "ssn",
)
"""What a redaction is counted as: the kind of secret, never the secret."""

REDACTED_FIELDS: tuple[str, ...] = tuple(n for n in fields.REDACTED if n != "extra_data")
"""Text fields scanned by value, secrets cut out in place (the field table's `redacted`;
extra_data is walked key by key). `service` is validated instead."""
ID_FIELDS: tuple[str, ...] = fields.FINGERPRINTED
"""Identifier fields: one that holds a secret is replaced whole by its fingerprint."""


def redacted_fields() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(text fields, identifier fields) of a record that redaction scans."""
    return REDACTED_FIELDS, ID_FIELDS


# --- key names -----------------------------------------------------------------------------
#
# Key names are split into lower-cased segments (`X-MBX-APIKEY` -> x, mbx, apikey;
# `privateKey` -> private, key). A strong word anywhere in the joined segments makes a key
# sensitive; a weak word only as the last segment (`bot_token`, `authToken`), so
# `prompt_tokens` and `token_address` stay readable; a segment word only as a whole segment
# (`pk`, `wallet_seed`), so `monkey`, `spkg` and `seedling` stay readable. Loose words keep
# numbers, booleans and short digit strings (a random seed, a database pk).

STRONG_KEY_WORDS: tuple[tuple[str, str], ...] = (
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("mnemonic", "mnemonic"),
    ("seedphrase", "mnemonic"),
    ("seedwords", "mnemonic"),
    ("recoveryphrase", "mnemonic"),
    ("secretphrase", "mnemonic"),
    ("privatekey", "private_key"),
    ("privkey", "private_key"),
    ("walletkey", "private_key"),
    ("signingkey", "private_key"),
    ("signerkey", "private_key"),
    ("sshkey", "private_key"),
    ("xprv", "private_key"),
    ("awssecret", "cloud_key"),
    ("secretaccesskey", "cloud_key"),
    ("secret", "api_key"),
    ("apikey", "api_key"),
    ("accesskey", "api_key"),
    ("accountkey", "cloud_key"),
    ("authkey", "api_key"),
    ("hmackey", "api_key"),
    ("encryptionkey", "api_key"),
    ("masterkey", "api_key"),
    ("subscriptionkey", "api_key"),
    ("authorization", "token"),
    ("cookie", "token"),
    ("sessiontoken", "token"),
    ("credential", "credential"),
    ("connectionstring", "connection_string"),
    ("cardnumber", "card"),
    ("cvv", "card"),
    ("cvc", "card"),
)
WEAK_KEY_WORDS: dict[str, str] = {
    "token": "token",
    "pwd": "password",
    "pass": "password",
    "sig": "token",
    "signature": "token",
    "sign": "token",
    "auth": "token",
    "ssn": "ssn",
    "otp": "token",
    "pin": "password",
}
SEGMENT_KEY_WORDS: dict[str, tuple[str, bool]] = {
    "pk": ("private_key", True),
    "priv": ("private_key", True),
    "seed": ("mnemonic", True),
    "wif": ("private_key", False),
    "webhook": ("webhook", True),
    "webhooks": ("webhook", True),
}
"""Segment word: (kind, loose)."""
EXCHANGES: frozenset[str] = frozenset(
    {
        "binance",
        "okx",
        "bybit",
        "kucoin",
        "kraken",
        "coinbase",
        "bitget",
        "gate",
        "gateio",
        "huobi",
        "htx",
        "mexc",
        "bitfinex",
        "bitstamp",
        "deribit",
        "bitmex",
        "gemini",
    }
)
"""Exchanges whose name before `key` makes it an exchange credential (`okx_key`)."""
KEY_OWNERS: frozenset[str] = EXCHANGES | frozenset(
    {
        "api",
        "secret",
        "private",
        "priv",
        "signing",
        "signer",
        "wallet",
        "exchange",
        "trading",
        "bot",
        "client",
        "app",
        "hmac",
        "auth",
        "access",
        "master",
        "encryption",
        "account",
        "subscription",
        "ssh",
        "admin",
        "ingest",
        "openai",
        "anthropic",
        "telegram",
        "stripe",
    }
)
"""Words that make a last segment `key` a secret (`okx_key`, `wallet_key`); `key` alone is one
too, but `cache_key`, `partition_key` and `public_key` are not."""

_KEY_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_key_cache: dict[str, tuple[str, bool] | None] = {}
_KEY_CACHE_LIMIT = 4096


def _classify_key(key: str) -> tuple[str, bool] | None:
    words = [w.lower() for w in _KEY_WORD_SPLIT.split(key) if w]
    if not words:
        return None
    joined = "".join(words)
    for word, kind in STRONG_KEY_WORDS:
        if word in joined:
            return kind, False
    last = words[-1]
    if last in WEAK_KEY_WORDS:
        return WEAK_KEY_WORDS[last], False
    for word in words:
        found = SEGMENT_KEY_WORDS.get(word)
        if found is not None:
            return found
    if last == "key" and (len(words) == 1 or words[-2] in KEY_OWNERS):
        return "api_key", True
    if last == "private":
        return "private_key", True
    return None


def key_verdict(key: str) -> tuple[str, bool] | None:
    """(kind, loose) when a value under this key name is a secret, else None. A loose name
    (`key`, `pk`, `seed`) keeps numbers, booleans and short digit strings."""
    known = _key_cache.get(key, False)
    if known is False:
        known = _classify_key(key)
        if len(_key_cache) < _KEY_CACHE_LIMIT:
            _key_cache[key] = known
    return known  # type: ignore[return-value]


def is_sensitive_key(key: str) -> bool:
    """True when a value under this key name is a secret (case- and separator-insensitive)."""
    return key_verdict(key) is not None


_SHORT_DIGITS = re.compile(r"-?\d{1,12}")


def _keeps(value: Any) -> bool:
    """Whether a loose key's value is kept: a number, a boolean, null or a short digit string."""
    if value is None or isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and _SHORT_DIGITS.fullmatch(value) is not None


# --- by value: key=value pairs in text -----------------------------------------------------

_EXCHANGES = "|".join(sorted(EXCHANGES, key=len, reverse=True))
_STRONG_TEXT_KEY = (
    r"password|passwd|passphrase|secret|api[ _.-]?key|access[ _.-]?key|private[ _.-]?key"
    r"|priv[_.-]?key|account[_.-]?key|auth[_.-]?key|hmac[_.-]?key|signing[_.-]?key"
    r"|encryption[_.-]?key|master[_.-]?key|subscription[_.-]?key|authorization|cookie"
    r"|credentials?|mnemonic|seed[ _.-]?phrase|seed[ _.-]?words|recovery[ _.-]?phrase"
    r"|session[_.-]?token|connection[_.-]?string|wallet[ _.-]?key|webhook|xprv"
    rf"|card[ _.-]?number|cvv|cvc|(?:{_EXCHANGES}|exchange|trading|bot)[ _.-]?key"
)
_WEAK_TEXT_KEY = r"token|pwd|signature|auth|ssn|otp"
_LOOSE_TEXT_KEY = r"(?<![A-Za-z0-9])(?i:pk|priv|seed|wif)|(?<=[\"'])(?i:key)(?=\\?[\"'])"
"""Short names in text; `seed=42` keeps its number (see `_kv`); `key` only quoted, as JSON
writes it (`"key": "..."`), since prose says "sort key: timestamp"."""
_UNQUOTED_VALUE = r"(?:[^\s\"',;&)}\]<>\\%]|%(?!2[26Cc]|3[Bb]))+"
"""A bare value: ends at a quote, space, `,;&` or their URL escapes (`%22`, `%26`, ...)."""
_AUTH_SCHEME = r"(?:(?i:bearer|basic|token|digest)\s+|(?!(?i:bearer|basic|token|digest)\s))"
"""An optional scheme word before a credential; when present it is kept, never redacted."""

_KV = (
    r"(?P<kv_key>"
    rf"(?i:{_STRONG_TEXT_KEY})[\w.-]*|(?i:{_WEAK_TEXT_KEY})|(?<![a-z])(?i:pass|sig)"
    rf"|{_LOOSE_TEXT_KEY})"
    r"(?P<kv_sep>(?:\\?[\"']|%22)?\s*(?:=>|[:=]|%3[DdAa])\s*)(?![\"']?\[REDACTED)"
    r"(?:(?P<kv_open>\\?\"|'|%22)(?P<kv_quoted>.*?)(?P=kv_open)"
    rf"|(?P<kv_value>(?:\\?[\"'])?{_AUTH_SCHEME}(?!\[REDACTED){_UNQUOTED_VALUE}))"
)
_KVSPACE = (
    r"(?<![\w-])(?i:api[ _-]?(?:key|secret)|secret[ _-]?key|passphrase|password|private[ _-]?key"
    r"|access[ _-]?key|token)\s+"
    r"(?P<kvs_value>(?=[A-Za-z0-9+/=_-]*\d)(?=[A-Za-z0-9+/=_-]*[A-Za-z])[A-Za-z0-9+/=_-]{16,})"
)

# Words after "Bearer"/"Basic" in prose, not credentials.
_SCHEME_PROSE = frozenset(
    {
        "token",
        "tokens",
        "auth",
        "authentication",
        "authorization",
        "scheme",
        "header",
        "required",
        "missing",
        "invalid",
        "expired",
        "realm",
        "is",
        "was",
        "and",
        "or",
        "the",
        "a",
        "with",
        "for",
        "in",
        "format",
        "plan",
        "strategy",
        "mode",
        "setup",
        "info",
        "information",
    }
)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """13-19 digits with a payment-card prefix (2221-2720, 3, 4, 5, 6) passing the Luhn check.

    The prefix test keeps epoch timestamps (1...), compact dates (20...) and most order ids."""
    if not 13 <= len(digits) <= 19 or not digits.isdigit():
        return False
    first = digits[0]
    if first not in "3456" and not (first == "2" and 2221 <= int(digits[:4]) <= 2720):
        return False
    return _luhn(digits)


_SCHEME = re.compile(r"(?i:bearer|basic|token|digest)\s+")
_TEXT_KEY_NORMAL = re.compile(r"[\s%\"'\\]+|2[02]$")

Found = list[str]
"""The kinds of the secrets one call redacted, in order, one entry per secret."""


@functools.lru_cache(maxsize=1024)
def _text_key_kind(key: str) -> tuple[str, bool]:
    verdict = key_verdict(_TEXT_KEY_NORMAL.sub("_", key))
    return verdict if verdict is not None else ("credential", False)


def _kv(m: re.Match[str], found: Found) -> str:
    key = m.group("kv_key")
    kind, loose = _text_key_kind(key)
    value = m.group("kv_value")
    if loose and value is not None and _SHORT_DIGITS.fullmatch(value.strip("\\\"'")):
        return m.group(0)
    found.append(kind)
    head = key + m.group("kv_sep")
    open_quote = m.group("kv_open")
    if open_quote is not None:
        return f"{head}{open_quote}{REDACTED}{open_quote}"
    quote = value[: len(value) - len(value.lstrip("\\\"'"))]
    scheme = _SCHEME.match(value, len(quote))
    prefix = quote + (scheme.group(0) if scheme else "")
    return f"{head}{prefix}{REDACTED}"


def _kvspace(m: re.Match[str], found: Found) -> str:
    found.append(_text_key_kind(m.group(0)[: m.start("kvs_value") - m.start()].strip())[0])
    return m.group(0)[: m.start("kvs_value") - m.start()] + REDACTED


_KV_PATTERN = re.compile(_KV)
_KVSPACE_PATTERN = re.compile(_KVSPACE)
# Where a key of _KV or _KVSPACE can start: scanning for these with str.find and trying the
# patterns only there is some 20 times faster than letting `re` try every position.
_KEY_STARTS: tuple[str, ...] = (
    "pass",
    "pwd",
    "secret",
    "api",
    "access",
    "priv",
    "account",
    "auth",
    "hmac",
    "sig",
    "encryption",
    "master",
    "subscription",
    "cookie",
    "credential",
    "mnemonic",
    "seed",
    "recovery",
    "session",
    "connection",
    "card",
    "cvv",
    "cvc",
    "token",
    "ssn",
    "otp",
    "pk",
    "wif",
    "key",
    "wallet",
    "webhook",
    "xprv",
    "exchange",
    "trading",
    "bot",
    *sorted(EXCHANGES),
)


_PHRASE_KEY = re.compile(r"(?i)mnemonic|seed|recovery")
"""Keys whose unquoted value is a phrase of words: redacted to the end of the line."""


def _redact_key_values(text: str, found: Found | None = None) -> str:
    """`key=value`, `key: value`, `"key": "value"`, `key%3Dvalue` and `API key <long token>`
    for every sensitive key word in the text."""

    found = [] if found is None else found
    lower = text.lower()
    if len(lower) != len(text):
        text = _KV_PATTERN.sub(lambda m: _kv(m, found), text)
        return _KVSPACE_PATTERN.sub(lambda m: _kvspace(m, found), text)
    starts: set[int] = set()
    for word in _KEY_STARTS:
        at = lower.find(word)
        while at != -1:
            starts.add(at)
            at = lower.find(word, at + 1)
    pieces: list[str] = []
    done = 0
    for start in sorted(starts):
        if start < done:
            continue
        match = _KV_PATTERN.match(text, start)
        if match is not None:
            replacement = _kv(match, found)
            if replacement == match.group(0):
                continue
            end = match.end()
            if match.group("kv_value") is not None and _PHRASE_KEY.search(match.group("kv_key")):
                line_end = text.find("\n", end)
                end = len(text) if line_end == -1 else line_end
        else:
            match = _KVSPACE_PATTERN.match(text, start)
            if match is None:
                continue
            replacement = _kvspace(match, found)
            end = match.end()
        pieces.append(text[done:start])
        pieces.append(replacement)
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


# --- by value: shapes ----------------------------------------------------------------------

Replace = Callable[[re.Match[str]], str]


def _sub(pattern: str, replace: Replace | str, kind: str) -> Callable[..., str]:
    """A rule body: every match of `pattern` replaced; a replacement equal to the match (a
    look-alike the callback kept) is not counted."""
    compiled = re.compile(pattern)
    if isinstance(replace, str):
        constant = replace

        def fixed(text: str, found: Found | None = None) -> str:

            found = [] if found is None else found
            out, n = compiled.subn(constant, text)
            found.extend([kind] * n)
            return out

        return fixed

    def computed(text: str, found: Found | None = None) -> str:

        found = [] if found is None else found

        def one(m: re.Match[str]) -> str:
            out = replace(m)
            if out != m.group(0):
                found.append(kind)
            return out

        return compiled.sub(one, text)

    return computed


def _bearer(m: re.Match[str]) -> str:
    credential = m.group("credential")
    scheme = m.group("scheme")
    if credential.lower() in _SCHEME_PROSE:
        return m.group(0)
    if scheme[:5].lower() == "basic" and (len(credential) < 8 or credential.isalpha()):
        return m.group(0)
    return scheme + REDACTED


def _urlcred(m: re.Match[str]) -> str:
    return f"{m.group('url_user')}:{REDACTED}@"


def _card(m: re.Match[str]) -> str:
    text = m.group(0)
    digits = text.replace(" ", "").replace("-", "")
    return "[REDACTED:card]" if is_card_number(digits) else text


_HEX_CONTEXT = re.compile(
    r"(?i)(?P<key>key|priv|(?<![a-z])pk|secret|seed|signer|signing|wallet|mnemonic)"
    r"|(?P<hash>hash|(?<![a-z])txn?|txid|transaction|block|receipt|digest|sha|keccak|commit)"
)
HEX_CONTEXT_CHARS = 48
"""How far before a `0x` + 64-hex value its context words are looked for."""


def _hex_key(text: str, m: re.Match[str]) -> str:
    """A 0x + 64-hex value is a private key when the nearest context word before it says key,
    a tx hash (same shape) when it says hash or tx, and left alone without either."""
    window = text[max(0, m.start() - HEX_CONTEXT_CHARS) : m.start()]
    last = None
    for last in _HEX_CONTEXT.finditer(window):  # noqa: B007 - the last one counts
        pass
    if last is not None and last.group("key") is not None:
        return "[REDACTED:private_key]"
    return m.group(0)


_HEX_KEY = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{64}(?![0-9A-Za-z])")


def _redact_hex_keys(text: str, found: Found | None = None) -> str:

    found = [] if found is None else found

    def one(m: re.Match[str]) -> str:
        out = _hex_key(text, m)
        if out != m.group(0):
            found.append("private_key")
        return out

    return _HEX_KEY.sub(one, text)


WORDLIST_FILE = Path(__file__).resolve().parent / "bip39_english.txt"
MNEMONIC_WORDS = (12, 24)
"""A run of this many BIP-39 words or more, in a row, is a seed phrase."""


@functools.cache
def bip39_words() -> frozenset[str]:
    """The BIP-39 English word list (public data, see bip39_english.NOTICE)."""
    return frozenset(WORDLIST_FILE.read_text(encoding="ascii").split())


_WORD_RUN = re.compile(r"(?<![A-Za-z])[a-z]{3,8}(?:[ ,]+[a-z]{3,8}){11,}(?![A-Za-z])")
_WORD = re.compile(r"[a-z]+")


def _redact_mnemonics(text: str, found: Found | None = None) -> str:

    found = [] if found is None else found
    words = bip39_words()

    def one(m: re.Match[str]) -> str:
        run = m.group(0)
        spans = [w.span() for w in _WORD.finditer(run)]
        out: list[str] = []
        done = 0
        i = 0
        while i < len(spans):
            j = i
            while j < len(spans) and run[spans[j][0] : spans[j][1]] in words:
                j += 1
            if j - i >= MNEMONIC_WORDS[0]:
                out.append(run[done : spans[i][0]])
                out.append("[REDACTED:mnemonic]")
                found.append("mnemonic")
                done = spans[j - 1][1]
            i = max(j, i + 1)
        if not out:
            return run
        out.append(run[done:])
        return "".join(out)

    return _WORD_RUN.sub(one, text)


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def base58check(text: str) -> bytes | None:
    """The payload of a Base58Check string whose checksum holds, else None."""
    number = 0
    for ch in text:
        index = _B58_INDEX.get(ch)
        if index is None:
            return None
        number = number * 58 + index
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(text) - len(text.lstrip("1"))) + raw
    if len(raw) < 5:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != checksum:
        return None
    return payload


def is_wif(text: str) -> bool:
    """A Wallet Import Format private key: Base58Check of 0x80/0xef + 32 bytes (+ 0x01)."""
    payload = base58check(text)
    return (
        payload is not None
        and payload[0] in (0x80, 0xEF)
        and (len(payload) == 33 or (len(payload) == 34 and payload[-1] == 1))
    )


def _wif(m: re.Match[str]) -> str:
    return "[REDACTED:private_key]" if is_wif(m.group(0)) else m.group(0)


_AWS_CONTEXT = re.compile(r"(?i)aws|secret.?access|(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
AWS_CONTEXT_CHARS = 120
"""How far after an AWS word or access key id a bare 40-character secret is looked for."""


def _looks_random(value: str) -> bool:
    return (
        any(c.isdigit() or c in "/+" for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    )


def _redact_aws_secrets(text: str, found: Found | None = None) -> str:
    """A 40-character AWS secret access key has no prefix: it is known by an AWS word or an
    access key id before it, and by mixed case."""

    found = [] if found is None else found
    contexts = [m.end() for m in _AWS_CONTEXT.finditer(text)]
    if not contexts:
        return text

    def one(m: re.Match[str]) -> str:
        value = m.group(0)
        near = any(0 <= m.start() - end <= AWS_CONTEXT_CHARS for end in contexts)
        if near and _looks_random(value):
            found.append("cloud_key")
            return "[REDACTED:aws_secret]"
        return value

    return _AWS_SECRET.sub(one, text)


@dataclass(frozen=True, slots=True)
class Rule:
    """A kind of secret found by value: `redact` rewrites a text (adding the kind of each secret
    it replaced to `found`), and only runs on text where `trigger` (an RE2 pattern, a superset
    of what `redact` replaces) fires."""

    name: str
    trigger: str
    redact: Callable[..., str]


# Every key word of the key-name tables and the text rules, as one trigger; `sig`/`sign`/`pin`
# /`pk`/`wif` only as whole words, so "signal", "ping" and "spkg" do not fire it.
_KEY_TRIGGER = (
    r"(?i)pass|pwd|secret|key|token|auth|cookie|credential|mnemonic|seed|connection.?string"
    r"|card.?number|cvv|cvc|ssn|otp|priv|webhook|xprv|pin(?:[^a-z]|$)"
    r"|(?:^|[^a-z])(?:pk|wif)(?:[^a-z]|$)|sig(?:[^a-z]|$|nature|n(?:[^a]|$))"
)
_BASE58 = "1-9A-HJ-NP-Za-km-z"

RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        r"PRIVATE KEY-----",
        _sub(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            "[REDACTED:private_key]",
            "private_key",
        ),
    ),
    Rule(
        "webhook",
        r"(?i)hooks\.slack\.com/|discord(?:app)?\.com/api/webhooks/|webhook\.office\.com/",
        _sub(
            r"(?i)(?P<head>(?:hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"|discord(?:app)?\.com/api/webhooks/|webhook\.office\.com/webhookb2/))"
            r"[A-Za-z0-9/_@.+-]+",
            lambda m: m.group("head") + "[REDACTED:webhook]",
            "webhook",
        ),
    ),
    Rule("key_value", _KEY_TRIGGER, _redact_key_values),
    Rule(
        "jwt",
        r"eyJ",
        _sub(
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            "[REDACTED:jwt]",
            "jwt",
        ),
    ),
    Rule(
        "bearer",
        r"(?i)(?:bearer|basic)\s",
        _sub(
            r"(?P<scheme>\b(?i:bearer|basic)\s+)(?P<credential>[A-Za-z0-9._~+/=-]+)",
            _bearer,
            "token",
        ),
    ),
    Rule(
        "url_password",
        r"://[^\s:/@\"']*:[^\s/@\"']+@",
        _sub(
            r"(?<=://)(?P<url_user>[^\s:/@\"']*):(?P<url_password>[^\s/@\"']+)@",
            _urlcred,
            "password",
        ),
    ),
    Rule(
        "storage_key",
        r"==",
        _sub(
            r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])",
            "[REDACTED:storage_key]",
            "cloud_key",
        ),
    ),
    Rule(
        "aws_key",
        r"AKIA|ASIA",
        _sub(
            r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",
            "[REDACTED:aws_key]",
            "cloud_key",
        ),
    ),
    Rule("aws_secret", r"(?i)aws|secret.?access|AKIA|ASIA", _redact_aws_secrets),
    Rule(
        "api_token",
        r"sk-|[sr]k_live_|gh[pousr]_|github_pat_|xox[abposr]-|xapp-|AIza|glpat-|hf_|npm_|SG\.",
        _sub(
            r"(?<![A-Za-z0-9_-])(?:sk-(?:ant-(?:api\d\d-)?|proj-|svcacct-)?[A-Za-z0-9_-]{20,}"
            r"|[sr]k_live_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{20,}|AIza[A-Za-z0-9_-]{35}"
            r"|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
            r"|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})",
            "[REDACTED:token]",
            "token",
        ),
    ),
    Rule(
        "telegram_token",
        r"\d{5}:",
        _sub(
            # in a Bot API URL (/bot<id>:<secret>/) any length; elsewhere the token's own shape
            r"(?<=/bot)\d{5,12}:[A-Za-z0-9_-]{20,}"
            r"|(?:(?<=bot)|(?<![\w:]))\d{8,10}:[A-Za-z0-9_-]{35}(?![\w-])",
            "[REDACTED:telegram_token]",
            "telegram_token",
        ),
    ),
    Rule(
        "hex_key",
        r"(?i)key|priv|pk|secret|seed|signer|signing|wallet|mnemonic",
        _redact_hex_keys,
    ),
    Rule(
        "extended_key",
        r"[xtyzuvYZUV]prv[1-9A-HJ-NP-Za-km-z]",
        _sub(
            rf"(?<![{_BASE58}])[xtyzuvYZUV]prv[{_BASE58}]{{100,108}}(?![{_BASE58}])",
            "[REDACTED:private_key]",
            "private_key",
        ),
    ),
    Rule(
        "wif",
        rf"(?:^|[^{_BASE58}])(?:5[HJK]|K[w-z]|L[1-5]|9[1-3]|c[M-W])[{_BASE58}]{{0,16}}"
        r"[g-km-zG-HJ-NP-Z]",
        _sub(rf"(?<![{_BASE58}])[5KL9c][{_BASE58}]{{50,51}}(?![{_BASE58}])", _wif, "private_key"),
    ),
    # Not `[a-z]{3,8}` in the trigger: bounded repeats inside a repeat cost the screen a fifth
    # more time on clean records; the exact pattern runs only where this fires.
    Rule("mnemonic", r"(?:[a-z]+[ ,]+){11}[a-z]", _redact_mnemonics),
    Rule(
        "ssn",
        r"\d{3}-\d\d-\d{4}",
        _sub(
            r"(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-])",
            "[REDACTED:ssn]",
            "ssn",
        ),
    ),
    Rule(
        "card",
        r"(?:^|[^0-9A-Za-z_.])\d{13}|(?:^|[^0-9A-Za-z_.-])\d{4}[ -]\d{4}[ -]\d{4}[ -]\d"
        r"|(?:^|[^0-9A-Za-z_.-])\d{4}[ -]\d{6}[ -]\d{4}",
        _sub(
            r"(?<![\w.])(?:\d{13,19}|(?<!-)\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}"
            r"|(?<!-)\d{4}[ -]\d{6}[ -]\d{4,5})"
            r"(?![\w]|[.-]\d)",
            _card,
            "card",
        ),
    ),
)
RULE_COUNT = len(RULES)


def _options() -> re2.Options:
    options = re2.Options()
    options.never_capture = True
    return options


def _grouped(trigger: str) -> str:
    return f"(?i:{trigger[4:]})" if trigger.startswith("(?i)") else f"(?:{trigger})"


ANY_TRIGGER = "|".join(_grouped(rule.trigger) for rule in RULES)
"""Every rule's trigger as one pattern. Triggers avoid long counted repeats
(`[A-Za-z0-9+/]{86}`): their states multiply with the others' and overflow RE2's DFA cache,
which then scans far slower."""


class Screen:
    """Whether a text matches ANY_TRIGGER or one of some extra patterns: one linear pass tells
    whether it needs a closer look for any of several reasons.

    It is a plain RE2 search, not an RE2 set: a set whose automaton runs out of memory reports
    no match, where a search falls back to a slower engine, so a screen never fails open.
    It calls the compiled RE2 under the `re2` module's wrapper (pinned in requirements.txt),
    whose generator and match object cost about as much as the scan itself, and falls back to
    the public `search` if the wrapper ever changes shape."""

    def __init__(self, *extra_patterns: str) -> None:
        self._regex = re2.compile(
            "|".join((ANY_TRIGGER, *(f"(?:{p})" for p in extra_patterns))), _options()
        )
        compiled = getattr(self._regex, "_regexp", None)
        self._anchor = getattr(getattr(re2, "_Anchor", None), "UNANCHORED", None)
        self._match = getattr(compiled, "Match", None) if self._anchor is not None else None

    def span(self, data: bytes, pos: int = 0) -> tuple[int, int] | None:
        """Where the first match at or after `pos` starts and ends, if there is one."""
        if self._match is None:
            found = self._regex.search(data, pos)
            return None if found is None else found.span()
        start, end = self._match(self._anchor, data, pos, len(data))[0]
        return None if start == -1 else (start, end)

    def __call__(self, data: str | bytes) -> bool:
        # re2 maps str offsets back and forth at some cost; bytes go straight through.
        return self.span(_utf8(data) if isinstance(data, str) else data) is not None


def screen(*extra_patterns: str) -> Screen:
    return Screen(*extra_patterns)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


might_contain_secret = screen()
"""Cheap test: False means the text certainly holds nothing to redact, by value or by a
sensitive key name."""


def _rule_set() -> re2.Set:
    rules = re2.Set.SearchSet(_options())
    for rule in RULES:
        rules.Add(rule.trigger)
    rules.Compile()
    return rules


_RULE_TRIGGERS = _rule_set()
_EVERY_RULE = list(range(len(RULES)))


def triggered(data: str | bytes) -> list[int]:
    """Indexes of the rules whose trigger fires in this text (empty: nothing to redact)."""
    raw = _utf8(data) if isinstance(data, str) else data
    if not might_contain_secret(raw):
        return []
    # An RE2 set reports nothing when its automaton runs out of memory: then try every rule.
    return sorted(_RULE_TRIGGERS.Match(raw) or _EVERY_RULE)


def redact_text(text: str, found: Found | None = None) -> str:
    """The text with every secret found by value replaced; the kind of each one replaced is
    added to `found`."""
    sink: Found = [] if found is None else found
    for index in triggered(text):
        text = RULES[index].redact(text, sink)
    return text


def fingerprint(kind: str, value: str, salt: str = "") -> str:
    """A stable stand-in for an id that holds a secret: `kind:sha256:<16 hex>` of an HMAC keyed
    with the server's salt, the same on every instance and after every restart."""
    digest = hmac.new(salt.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return f"{kind}:sha256:{digest.hexdigest()[:16]}"


def redact_id(value: str, salt: str = "", found: Found | None = None) -> str:
    """An identifier as is, or its fingerprint when any detector finds a secret in it."""
    kinds: Found = []
    redact_text(value, kinds)
    if not kinds:
        return value
    if found is not None:
        found.append(kinds[0])
    return fingerprint(kinds[0], value, salt)


def _redact_number(value: int, found: Found) -> Any:
    if value > 0 and is_card_number(str(value)):
        found.append("card")
        return "[REDACTED:card]"
    return value


_PAIR_NAMES = ("name", "key", "header", "Name", "Key", "Header")
_PAIR_VALUES = ("value", "Value")
_PAIR_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}").fullmatch
"""What the name of a name/value pair looks like: a header or parameter name, not text."""


def _pair(container: dict[str, Any]) -> tuple[str, str] | None:
    """(name member, value member) of a name/value pair such as an HTTP header in a list
    (`{"name": "X-MBX-APIKEY", "value": ...}`), else None."""
    for value_key in _PAIR_VALUES:
        if value_key in container:
            for name_key in _PAIR_NAMES:
                name = container.get(name_key)
                if isinstance(name, str) and _PAIR_NAME(name):
                    return name_key, value_key
    return None


def _redact_list_pair(container: list[Any], found: Found) -> None:
    """A `[name, value]` pair, as query parameters are often logged: the value under a
    sensitive name is redacted."""
    if (
        len(container) == 2
        and isinstance(container[0], str)
        and _PAIR_NAME(container[0])
        and container[1] != REDACTED
    ):
        verdict = key_verdict(container[0])
        if verdict is not None and not (verdict[1] and _keeps(container[1])):
            container[1] = REDACTED
            found.append(verdict[0])


def redact_value(value: Any, found: Found | None = None) -> Any:
    """A JSON value with secrets redacted by key name and by value, at any depth, keys
    included. Containers are changed in place (iteratively, so depth costs no recursion)."""
    sink: Found = [] if found is None else found
    if isinstance(value, str):
        return redact_text(value, sink)
    if isinstance(value, int) and not isinstance(value, bool):
        return _redact_number(value, sink)
    if not isinstance(value, dict | list):
        return value
    stack: list[dict[str, Any] | list[Any]] = [value]
    while stack:
        container = stack.pop()
        paired: tuple[str, ...] = ()
        if isinstance(container, dict):
            pair = _pair(container)
            if pair is not None:
                paired = pair
                verdict = key_verdict(container[pair[0]])
                item = container[pair[1]]
                if verdict is not None and not (verdict[1] and _keeps(item)):
                    container[pair[1]] = REDACTED
                    sink.append(verdict[0])
            _redact_keys(container, sink)
            items: Any = container.items()
        else:
            _redact_list_pair(container, sink)
            items = enumerate(container)
        for key, item in list(items):
            if item == REDACTED:
                continue
            if isinstance(key, str) and key not in paired:
                verdict = key_verdict(key)
                if verdict is not None and not (verdict[1] and _keeps(item)):
                    container[key] = REDACTED  # type: ignore[index]
                    sink.append(verdict[0])
                    continue
            if isinstance(item, str):
                redacted = redact_text(item, sink)
                if redacted is not item:
                    container[key] = redacted  # type: ignore[index]
            elif isinstance(item, dict | list):
                stack.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                container[key] = _redact_number(item, sink)  # type: ignore[index]
    return value


def _redact_keys(container: dict[str, Any], found: Found) -> None:
    """Rename the keys of a mapping that themselves hold a secret (`{"sk-...": 1}`)."""
    renamed = {}
    for key in container:
        if might_contain_secret(key):
            new = redact_text(key, found)
            if new != key:
                renamed[key] = new
    for old, new in renamed.items():
        container[new] = container.pop(old)


_LONG_FIELDS = ("message", "exception_message", "stack_trace")
_SHORT_FIELDS = tuple(n for n in REDACTED_FIELDS if n not in _LONG_FIELDS) + ID_FIELDS
_ID_SET = frozenset(ID_FIELDS)


def redact_record(record: dict[str, Any], salt: str = "") -> Counter[str]:
    """Redact a normalised record in place: its text fields, its identifiers (replaced by
    fingerprints) and its extra_data. Returns how many secrets of each kind it replaced."""
    found: Found = []
    for name in _LONG_FIELDS:
        text = record.get(name)
        if isinstance(text, str):
            record[name] = redact_text(text, found)
    short = [n for n in _SHORT_FIELDS if isinstance(record.get(n), str)]
    # One screen over the short fields joined (at a newline every trigger ends or still
    # fires) tells whether any of them needs a closer look; most records that hold a secret
    # hold it in the message or extra_data alone.
    if short and might_contain_secret("\n".join(record[n] for n in short)):
        for name in short:
            if name in _ID_SET:
                record[name] = redact_id(record[name], salt, found)
            else:
                record[name] = redact_text(record[name], found)
    extra = record.get("extra_data")
    if extra and might_contain_secret(orjson.dumps(extra)):
        record["extra_data"] = redact_value(extra, found)
    return Counter(found)
