"""Redaction of secrets, so no store, archive, stream or report ever holds one.

Two kinds of rule:

- by key name: a value under a sensitive key (`password`, `apiSecret`, `x-mbx-apikey`, ...)
  anywhere inside extra_data is replaced by `[REDACTED]`, whatever its type;
- by value: inside every string, a secret is replaced and its readable prefix kept
  (`password=[REDACTED]`, `Bearer [REDACTED]`, `[REDACTED:card]`).

Clean text costs almost nothing: `might_contain_secret` is one search of a small pattern over
the lower-cased text (the caller runs it once over a whole serialised record), and only text it
flags goes through the combined pattern of all the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REDACTED = "[REDACTED]"

# Key names, compared lower-cased with separators removed. A strong word anywhere in a key
# makes it sensitive; a weak word only when it is the key's last word (`bot_token`,
# `authToken`), so `prompt_tokens`, `token_address` and `bypass` stay readable.
STRONG_KEY_WORDS: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "accesskey",
    "privatekey",
    "privkey",
    "accountkey",
    "authkey",
    "hmackey",
    "signingkey",
    "encryptionkey",
    "masterkey",
    "subscriptionkey",
    "sshkey",
    "authorization",
    "cookie",
    "credential",
    "mnemonic",
    "seedphrase",
    "sessiontoken",
    "connectionstring",
    "cardnumber",
    "cvv",
    "cvc",
)
WEAK_KEY_WORDS: frozenset[str] = frozenset(
    {"token", "pwd", "pass", "sig", "signature", "sign", "auth", "ssn", "otp", "pin"}
)

_KEY_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_key_cache: dict[str, bool] = {}
_KEY_CACHE_LIMIT = 4096


def _classify_key(key: str) -> bool:
    words = [w.lower() for w in _KEY_WORD_SPLIT.split(key) if w]
    if not words:
        return False
    joined = "".join(words)
    if any(word in joined for word in STRONG_KEY_WORDS):
        return True
    return words[-1] in WEAK_KEY_WORDS


def is_sensitive_key(key: str) -> bool:
    """True when a value under this key name is a secret (case- and separator-insensitive)."""
    known = _key_cache.get(key)
    if known is None:
        known = _classify_key(key)
        if len(_key_cache) < _KEY_CACHE_LIMIT:
            _key_cache[key] = known
    return known


# The pre-check, searched over lower-cased text (str or bytes). It is a superset of every
# rule's trigger, including the key words, so a record it does not flag holds no secret.
_PRECHECK_SOURCE = (
    r"pass|pwd|secret|key|token|auth|cookie|credential|mnemonic|seed|connection.?string"
    r"|card.?number|cvv|cvc|ssn|otp|pin\W|sig(?:[^a-z]|nature|n[^a])|bearer|basic|eyj|=="
    r"|akia|asia|://[^/\s\"@]+@|(?<![a-z])sk-|[sr]k_live|gh[pousr]_|github_pat|xox|aiza"
    r"|\d{3}-\d\d-\d{4}|\d{8,10}:|\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d"
)
_PRECHECK_TEXT = re.compile(_PRECHECK_SOURCE)
_PRECHECK_BYTES = re.compile(_PRECHECK_SOURCE.encode())


def might_contain_secret(data: str | bytes) -> bool:
    """Cheap test: False means the text certainly holds nothing to redact."""
    if isinstance(data, bytes):
        return _PRECHECK_BYTES.search(data.lower()) is not None
    return _PRECHECK_TEXT.search(data.lower()) is not None


_STRONG_TEXT_KEY = (
    r"password|passwd|passphrase|secret|api[ _.-]?key|access[ _.-]?key|private[ _.-]?key"
    r"|priv[_.-]?key|account[_.-]?key|auth[_.-]?key|hmac[_.-]?key|signing[_.-]?key"
    r"|encryption[_.-]?key|master[_.-]?key|subscription[_.-]?key|authorization|cookie"
    r"|credentials?|mnemonic|seed[ _.-]?phrase|session[_.-]?token|connection[_.-]?string"
    r"|card[ _.-]?number|cvv|cvc"
)
_WEAK_TEXT_KEY = r"token|pwd|signature|auth|ssn|otp"
_UNQUOTED_VALUE = r"[^\s\"',;&)}\]<>\\]+"
_AUTH_SCHEME = r"(?:(?i:bearer|basic|token|digest)\s+)?"

_RULES = "|".join(
    (
        r"(?P<pem>-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)"
        r"(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z))",
        # key=value, key: value, "key": "value" (also inside escaped JSON)
        r"(?P<kv>(?P<kv_key>(?<![\w.-])[\w.-]*?"
        rf"(?:(?i:{_STRONG_TEXT_KEY})[\w.-]*|(?i:{_WEAK_TEXT_KEY})|(?<![a-z])(?i:pass|sig)))"
        r"(?P<kv_sep>(?:\\?[\"'])?\s*(?:=>|[:=])\s*)"
        r"(?:(?P<kv_open>\\?\"|')(?P<kv_quoted>.*?)(?P=kv_open)"
        rf"|(?P<kv_value>(?:\\?[\"'])?{_AUTH_SCHEME}{_UNQUOTED_VALUE})))",
        # "API key abc123..." with no separator: only a long token with digits and letters
        r"(?P<kvspace>(?P<kvs_key>(?<![\w-])(?i:api[ _-]?(?:key|secret)|secret[ _-]?key"
        r"|passphrase|password|private[ _-]?key|access[ _-]?key|token))\s+"
        r"(?P<kvs_value>(?=[A-Za-z0-9+/=_-]*\d)(?=[A-Za-z0-9+/=_-]*[A-Za-z])"
        r"[A-Za-z0-9+/=_-]{16,}))",
        r"(?P<jwt>(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
        r"(?P<bearer>(?P<scheme>\b(?i:bearer|basic)\s+)(?P<credential>[A-Za-z0-9._~+/=-]+))",
        r"(?P<urlcred>(?<=://)(?P<url_user>[^\s:/@\"']+):(?P<url_password>[^\s/@\"']+)@)",
        r"(?P<storage_key>(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=]))",
        r"(?P<aws_key>(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9]))",
        r"(?P<api_token>(?<![A-Za-z0-9_-])(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"
        r"|[sr]k_live_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"
        r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[A-Za-z0-9_-]{35}))",
        r"(?P<telegram>(?<![\w:])\d{8,10}:[A-Za-z0-9_-]{35}(?![\w-]))",
        r"(?P<ssn>(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-]))",
        r"(?P<card>(?<![\w.])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{1,7}"
        r"|\d{4}[ -]\d{6}[ -]\d{4,5})(?![\w]|[.-]\d))",
    )
)
_PATTERN = re.compile(_RULES)

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


def _kv(m: re.Match[str]) -> str:
    head = m.group("kv_key") + m.group("kv_sep")
    open_quote = m.group("kv_open")
    if open_quote is not None:
        return f"{head}{open_quote}{REDACTED}{open_quote}"
    value = m.group("kv_value")
    quote = value[: len(value) - len(value.lstrip("\\\"'"))]
    scheme = re.match(r"(?i:bearer|basic|token|digest)\s+", value[len(quote) :])
    prefix = quote + (scheme.group(0) if scheme else "")
    return f"{head}{prefix}{REDACTED}"


def _kvspace(m: re.Match[str]) -> str:
    return m.group(0)[: m.start("kvs_value") - m.start()] + REDACTED


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


_REPLACERS: dict[str, Callable[[re.Match[str]], str]] = {
    "pem": lambda m: "[REDACTED:private_key]",
    "kv": _kv,
    "kvspace": _kvspace,
    "jwt": lambda m: "[REDACTED:jwt]",
    "bearer": _bearer,
    "urlcred": _urlcred,
    "storage_key": lambda m: "[REDACTED:storage_key]",
    "aws_key": lambda m: "[REDACTED:aws_key]",
    "api_token": lambda m: "[REDACTED:token]",
    "telegram": lambda m: "[REDACTED:telegram_token]",
    "ssn": lambda m: "[REDACTED:ssn]",
    "card": _card,
}


def _replace(m: re.Match[str]) -> str:
    return _REPLACERS[m.lastgroup or ""](m)


def redact_text(text: str) -> str:
    """The text with every secret found by value replaced."""
    if not might_contain_secret(text):
        return text
    return _PATTERN.sub(_replace, text)


def _redact_number(value: int) -> Any:
    return "[REDACTED:card]" if value > 0 and is_card_number(str(value)) else value


def redact_value(value: Any) -> Any:
    """A JSON value with secrets redacted by key name and by value, at any depth.

    Containers are changed in place (iteratively, so depth costs no recursion)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return _redact_number(value)
    if not isinstance(value, dict | list):
        return value
    stack: list[dict[str, Any] | list[Any]] = [value]
    while stack:
        container = stack.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in list(items):
            if isinstance(key, str) and is_sensitive_key(key):
                container[key] = REDACTED  # type: ignore[index]
            elif isinstance(item, str):
                redacted = redact_text(item)
                if redacted is not item:
                    container[key] = redacted  # type: ignore[index]
            elif isinstance(item, dict | list):
                stack.append(item)
            elif isinstance(item, int) and not isinstance(item, bool):
                container[key] = _redact_number(item)  # type: ignore[index]
    return value


TEXT_FIELDS = ("message", "exception_message", "stack_trace")


def redact_record(record: dict[str, Any]) -> None:
    """Redact a normalised record in place: its free-text fields and its extra_data."""
    for name in TEXT_FIELDS:
        text = record.get(name)
        if isinstance(text, str):
            record[name] = redact_text(text)
    extra = record.get("extra_data")
    if extra is not None:
        record["extra_data"] = redact_value(extra)
