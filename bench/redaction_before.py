"""The redaction as it was before every field and the wallet, webhook and URL shapes were
scanned: kept unchanged (but for `redact_record`'s signature) so the ingest benchmark measures
the wider redaction against it side by side.

Redaction of secrets, so no store, archive, stream or report ever holds one.

Two kinds of rule:

- by key name: a value under a sensitive key (`password`, `apiSecret`, `x-mbx-apikey`, ...)
  anywhere inside extra_data is replaced by `[REDACTED]`, whatever its type;
- by value: inside every string, a secret is replaced and its readable prefix kept
  (`password=[REDACTED]`, `Bearer [REDACTED]`, `[REDACTED:card]`).

Clean text costs almost nothing: every rule has a trigger, and all triggers together form one
RE2 pattern (a linear-time automaton) that the caller runs once over a whole serialised record.
Only a string whose triggers fire goes through those rules' Python patterns.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import re2

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


_STRONG_TEXT_KEY = (
    r"password|passwd|passphrase|secret|api[ _.-]?key|access[ _.-]?key|private[ _.-]?key"
    r"|priv[_.-]?key|account[_.-]?key|auth[_.-]?key|hmac[_.-]?key|signing[_.-]?key"
    r"|encryption[_.-]?key|master[_.-]?key|subscription[_.-]?key|authorization|cookie"
    r"|credentials?|mnemonic|seed[ _.-]?phrase|session[_.-]?token|connection[_.-]?string"
    r"|card[ _.-]?number|cvv|cvc"
)
_WEAK_TEXT_KEY = r"token|pwd|signature|auth|ssn|otp"
_UNQUOTED_VALUE = r"[^\s\"',;&)}\]<>\\]+"
_AUTH_SCHEME = r"(?:(?i:bearer|basic|token|digest)\s+|(?!(?i:bearer|basic|token|digest)\s))"
"""An optional scheme word before a credential; when present it is kept, never redacted."""

_KV = (
    r"(?P<kv_key>"
    rf"(?i:{_STRONG_TEXT_KEY})[\w.-]*|(?i:{_WEAK_TEXT_KEY})|(?<![a-z])(?i:pass|sig))"
    r"(?P<kv_sep>(?:\\?[\"'])?\s*(?:=>|[:=])\s*)(?![\"']?\[REDACTED)"
    r"(?:(?P<kv_open>\\?\"|')(?P<kv_quoted>.*?)(?P=kv_open)"
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


def _kv(m: re.Match[str]) -> str:
    head = m.group("kv_key") + m.group("kv_sep")
    open_quote = m.group("kv_open")
    if open_quote is not None:
        return f"{head}{open_quote}{REDACTED}{open_quote}"
    value = m.group("kv_value")
    quote = value[: len(value) - len(value.lstrip("\\\"'"))]
    scheme = _SCHEME.match(value, len(quote))
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


def _constant(text: str) -> Callable[[re.Match[str]], str]:
    return lambda m: text


@dataclass(frozen=True, slots=True)
class Rule:
    """A kind of secret found by value: `redact` rewrites a text, and only runs on text where
    `trigger` (an RE2 pattern, a superset of what `redact` replaces) fires."""

    name: str
    trigger: str
    redact: Callable[[str], str]


def _sub(pattern: str, replace: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return functools.partial(re.compile(pattern).sub, replace)


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
    "session",
    "connection",
    "card",
    "cvv",
    "cvc",
    "token",
    "ssn",
    "otp",
)


_PHRASE_KEY = re.compile(r"(?i)mnemonic|seed")
"""Keys whose unquoted value is a phrase of words: redacted to the end of the line."""


def _redact_key_values(text: str) -> str:
    """`key=value`, `key: value`, `"key": "value"` and `API key <long token>` for every
    sensitive key word in the text."""
    lower = text.lower()
    if len(lower) != len(text):
        return _KVSPACE_PATTERN.sub(_kvspace, _KV_PATTERN.sub(_kv, text))
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
            replacement = _kv(match)
            end = match.end()
            if match.group("kv_value") is not None and _PHRASE_KEY.search(match.group("kv_key")):
                line_end = text.find("\n", end)
                end = len(text) if line_end == -1 else line_end
        else:
            match = _KVSPACE_PATTERN.match(text, start)
            if match is None:
                continue
            replacement = _kvspace(match)
            end = match.end()
        pieces.append(text[done:start])
        pieces.append(replacement)
        done = end
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


# Every key word of STRONG_KEY_WORDS, WEAK_KEY_WORDS and the text rules, as one trigger;
# `sig`/`sign`/`pin` only as whole words, so "signal" and "ping" do not fire it.
_KEY_TRIGGER = (
    r"(?i)pass|pwd|secret|key|token|auth|cookie|credential|mnemonic|seed|connection.?string"
    r"|card.?number|cvv|cvc|ssn|otp|pin(?:[^a-z]|$)|sig(?:[^a-z]|$|nature|n(?:[^a]|$))"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        r"PRIVATE KEY-----",
        _sub(
            r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)"
            r"(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            _constant("[REDACTED:private_key]"),
        ),
    ),
    Rule("key_value", _KEY_TRIGGER, _redact_key_values),
    Rule(
        "jwt",
        r"eyJ",
        _sub(
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
            _constant("[REDACTED:jwt]"),
        ),
    ),
    Rule(
        "bearer",
        r"(?i)(?:bearer|basic)\s",
        _sub(r"(?P<scheme>\b(?i:bearer|basic)\s+)(?P<credential>[A-Za-z0-9._~+/=-]+)", _bearer),
    ),
    Rule(
        "url_password",
        r"://[^\s:/@\"']*:[^\s/@\"']+@",
        _sub(r"(?<=://)(?P<url_user>[^\s:/@\"']*):(?P<url_password>[^\s/@\"']+)@", _urlcred),
    ),
    Rule(
        "storage_key",
        r"==",
        _sub(
            r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])",
            _constant("[REDACTED:storage_key]"),
        ),
    ),
    Rule(
        "aws_key",
        r"AKIA|ASIA",
        _sub(
            r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])", _constant("[REDACTED:aws_key]")
        ),
    ),
    Rule(
        "api_token",
        r"sk-|[sr]k_live_|gh[pousr]_|github_pat_|xox[abposr]-|AIza",
        _sub(
            r"(?<![A-Za-z0-9_-])(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}"
            r"|[sr]k_live_[A-Za-z0-9]{16,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,}"
            r"|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[A-Za-z0-9_-]{35})",
            _constant("[REDACTED:token]"),
        ),
    ),
    Rule(
        "telegram_token",
        r"\d{8}:",
        _sub(
            r"(?<![\w:])\d{8,10}:[A-Za-z0-9_-]{35}(?![\w-])", _constant("[REDACTED:telegram_token]")
        ),
    ),
    Rule(
        "ssn",
        r"\d{3}-\d\d-\d{4}",
        _sub(
            r"(?<![\w-])(?!000|666|9)\d{3}-(?!00)\d\d-(?!0000)\d{4}(?![\w-])",
            _constant("[REDACTED:ssn]"),
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


def redact_text(text: str) -> str:
    """The text with every secret found by value replaced."""
    for index in triggered(text):
        text = RULES[index].redact(text)
    return text


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


def redact_record(record: dict[str, Any], salt: str = "") -> Counter[str]:
    """Redact a normalised record in place: its free-text fields and its extra_data."""
    for name in TEXT_FIELDS:
        text = record.get(name)
        if isinstance(text, str):
            record[name] = redact_text(text)
    extra = record.get("extra_data")
    if extra and might_contain_secret(orjson.dumps(extra)):
        record["extra_data"] = redact_value(extra)
    return Counter()
