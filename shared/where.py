"""`where` expressions on `extra_data`: `PATH OP VALUE`, parsed strictly and turned into SQL
fragments whose every value (the path included) travels as a bind parameter.

- PATH: keys inside `extra_data`, dots for nesting (`order.side`).
- OP: `=`, `!=`, `>`, `>=`, `<`, `<=`; the first operator character in the expression starts
  the operator, and the two-character operators are tried before the one-character ones.
- VALUE: a number (`300`, `-1.5`, `2e3`) compares as a number with the stored value when that
  is a JSON number or a string spelling a number (`"350"`, as label-style shippers send
  numbers); anything else, or a number in double quotes (`"300"`), compares as text with the
  value's text.

`!=` matches every record that `=` does not, records without the path included. `>`, `>=`, `<`
and `<=` need the path present: with a number they compare values that are numbers, with text
they compare the value's text (strings, and numbers or booleans as written)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.errors import BadRequest

OPERATORS = ("!=", ">=", "<=", "=", ">", "<")
"""Longest first: `>=` is never read as `>` followed by a value starting with `=`."""
MAX_CONDITIONS = 20
MAX_DEPTH = 8
MAX_PATH_CHARS = 200
MAX_VALUE_CHARS = 256
_OPERATOR_START = re.compile(r"[=!<>]")
_KEY = re.compile(r"[^\s.=!<>]+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?")

INDEXED_KEYS: dict[str, str] = {"order_id": "(extra_data ->> 'order_id') = {0}"}
"""Top-level keys with an index of their own (migration 0050): text equality on them uses the
indexed expression. Such keys pick a handful of rows, so a search runs one query over the
whole range instead of walking time slices."""

_TEXT = "(extra_data #>> {0}::text[])"
NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{{1,3}})?$"
"""A number spelled as text, in SQL (braces doubled: fragments go through str.format)."""
_NUMERIC = (
    "CASE jsonb_typeof(extra_data #> {0}::text[]) "
    "WHEN 'number' THEN (extra_data #> {0}::text[])::numeric "
    f"WHEN 'string' THEN CASE WHEN (extra_data #>> {{0}}::text[]) ~ '{NUMBER_PATTERN}' "
    "THEN (extra_data #>> {0}::text[])::numeric END END"
)
"""The value as a number: a JSON number, or a string that spells one (`"350"`, as label-style
shippers send them); else NULL."""
_CONTAINS = "extra_data @> {0}::jsonb"
_EQUAL_NUMBER = f"{_NUMERIC} = {{1}}::numeric"
_NOT = "NOT coalesce({0}, false)"


@dataclass(frozen=True, slots=True)
class Condition:
    path: tuple[str, ...]
    op: str
    value: str
    number: float | None
    """The value as a number when it is one (unquoted), else None: compare as text."""


def _bad(expression: str, message: str) -> BadRequest:
    shown = expression if len(expression) <= 80 else expression[:80] + "..."
    return BadRequest(
        f"parameter where: {message} (got {shown!r}; expected PATH OP VALUE, "
        f"OP one of {', '.join(OPERATORS)})",
        detail={"parameter": "where", "expression": shown},
    )


def parse_path(raw: str, parameter: str = "where") -> tuple[str, ...]:
    """Dotted keys: 1 to MAX_DEPTH non-empty keys without spaces or operator characters."""
    path = raw.strip()
    keys = tuple(path.split("."))
    if not path or len(path) > MAX_PATH_CHARS or len(keys) > MAX_DEPTH:
        raise BadRequest(
            f"parameter {parameter}: a path is 1 to {MAX_DEPTH} dotted keys, "
            f"at most {MAX_PATH_CHARS} characters",
            detail={"parameter": parameter},
        )
    if not all(_KEY.fullmatch(k) for k in keys):
        raise BadRequest(
            f"parameter {parameter}: {path[:80]!r} is not a path (keys separated by dots, "
            "without spaces or = ! < >)",
            detail={"parameter": parameter},
        )
    return keys


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def parse(expression: str) -> Condition:
    """One `PATH OP VALUE`; BadRequest naming `where` when malformed."""
    found = _OPERATOR_START.search(expression)
    if found is None:
        raise _bad(expression, "no operator")
    at = found.start()
    op = next((o for o in OPERATORS if expression.startswith(o, at)), None)
    if op is None:
        raise _bad(expression, "unknown operator")
    try:
        path = parse_path(expression[:at])
    except BadRequest as exc:
        raise _bad(expression, exc.message.removeprefix("parameter where: ")) from None
    raw = expression[at + len(op) :].strip()
    quoted = len(raw) >= 2 and raw[0] == raw[-1] == '"'
    value = raw[1:-1] if quoted else raw
    if not value and not quoted:
        raise _bad(expression, 'no value (write "" for the empty string)')
    if len(value) > MAX_VALUE_CHARS:
        raise _bad(expression, f"value longer than {MAX_VALUE_CHARS} characters")
    return Condition(path, op, value, None if quoted else _number(value))


def parse_all(expressions: Sequence[str]) -> tuple[Condition, ...]:
    if len(expressions) > MAX_CONDITIONS:
        raise BadRequest(
            f"parameter where: at most {MAX_CONDITIONS} conditions",
            detail={"parameter": "where"},
        )
    return tuple(parse(e) for e in expressions)


def _nested(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


def fragment(condition: Condition) -> tuple[str, tuple[Any, ...]]:
    """A SQL fragment (placeholders `{0}`, `{1}`... for its values) and the values."""
    path, op, value = list(condition.path), condition.op, condition.value
    number = None if condition.number is None else Decimal(value)
    if op in ("=", "!="):
        if number is None and len(path) == 1 and path[0] in INDEXED_KEYS:
            equal, values = INDEXED_KEYS[path[0]], (value,)
        elif number is None:
            equal, values = _CONTAINS, (_nested(path, value),)
        else:
            equal, values = _EQUAL_NUMBER, (path, number)
        if op == "=":
            return equal, values
        return _NOT.format(f"({equal})"), values
    if number is None:
        return f"{_TEXT} {op} {{1}}", (path, value)
    return f"{_NUMERIC} {op} {{1}}::numeric", (path, number)


def selective(conditions: Sequence[Condition]) -> bool:
    """Whether a condition picks a handful of rows through an index of its own."""
    return any(
        c.op == "=" and c.number is None and len(c.path) == 1 and c.path[0] in INDEXED_KEYS
        for c in conditions
    )
