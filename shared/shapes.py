"""Records as other loggers and shippers write them, brought onto the record's own field names.

`resolve` runs only for a record with a key the record does not know (the seed's shape skips
it). It unwraps loguru's serialised records, moves the aliases of `shared.fields` onto their
fields (the known name wins; an alias left unused stays in extra_data), reads errors into
exception_type, exception_message and stack_trace, renders a CLEF message template, and tells
from the record's shape which family a numeric level belongs to (`shared.levels`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson

from shared import fields
from shared.levels import Family

_MISSING = object()
_TRACEBACK_HEAD = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"([A-Za-z_$][\w.$`<>+]*)(?::\s*(.*))?")
"""`Type: message` or `Type` alone, as Python, JavaScript, .NET and Java print an error."""
_TEMPLATE_HOLE = re.compile(r"\{([@$]?)([A-Za-z_][\w.]*)(?:[,:][^}]*)?\}")
_OTEL_NUMBER_KEYS = ("severityNumber", "severity_number", "SeverityNumber")


def _is_number(value: Any) -> bool:
    return value.__class__ in (int, float)


def _message_value(value: Any) -> Any:
    return value if value.__class__ is str and value.strip() else _MISSING


def _short_value(value: Any) -> Any:
    if value.__class__ is str:
        return value if value else _MISSING
    return str(value) if _is_number(value) else _MISSING


def _level_value(value: Any) -> Any:
    return value if value.__class__ is str or _is_number(value) else _MISSING


def _time_value(value: Any) -> Any:
    if value.__class__ is str or _is_number(value):
        return value
    if isinstance(value, dict) and _is_number(value.get("epochSecond")):
        return value["epochSecond"] + (value.get("nanoOfSecond") or 0) / 1e9  # log4j's instant
    return _MISSING


def _text_value(value: Any) -> Any:
    return value if value.__class__ is str and value else _MISSING


_ACCEPT: dict[str, Callable[[Any], Any]] = {
    "message": _message_value,
    "level": _level_value,
    "timestamp": _time_value,
    "ip_address": _text_value,
    "user_agent": _text_value,
    "stack_trace": _text_value,
}


def _take(raw: dict[str, Any], alias: str, accept: Callable[[Any], Any]) -> Any:
    """The alias's value if the field can take it (removed from the record), else _MISSING.
    A dotted alias also matches the path in nested objects, which are copied, not changed."""
    value = raw.get(alias, _MISSING)
    if value is not _MISSING:
        found = accept(value)
        if found is not _MISSING:
            del raw[alias]
        return found
    head, dot, rest = alias.partition(".")
    if not dot:
        return _MISSING
    inner = raw.get(head)
    if not isinstance(inner, dict):
        return _MISSING
    inner = dict(inner)
    found = _take(inner, rest, accept)
    if found is not _MISSING:
        if inner:
            raw[head] = inner
        else:
            del raw[head]
    return found


def _loguru(raw: dict[str, Any]) -> dict[str, Any]:
    """loguru's `serialize=True` line: {"text": formatted, "record": {...}} as a flat record."""
    record = raw.pop("record")
    text = raw.pop("text")
    level = record.get("level")
    when = record.get("time")
    flat: dict[str, Any] = {
        **(record.get("extra") or {}),
        **raw,
        "message": record.get("message"),
        "level": level.get("name") if isinstance(level, dict) else level,
        "timestamp": when.get("timestamp") if isinstance(when, dict) else when,
        "logger_name": record.get("name"),
    }
    for key in ("function", "line", "module", "file", "process", "thread"):
        if record.get(key) is not None:
            flat[key] = record[key]
    error = record.get("exception")
    if isinstance(error, dict):
        flat["exception_type"] = error.get("type")
        flat["exception_message"] = error.get("value")
        _, _, trace = text.partition("\n")
        if trace.strip():
            flat["stack_trace"] = trace.strip("\n")
    return {k: v for k, v in flat.items() if v is not None}


def _is_loguru(raw: dict[str, Any]) -> bool:
    return (
        isinstance(raw.get("record"), dict)
        and isinstance(raw.get("text"), str)
        and "message" not in raw
    )


def family(raw: dict[str, Any]) -> Family | None:
    """The level family the record's shape shows, for a numeric level."""
    if any(k in raw for k in _OTEL_NUMBER_KEYS):
        return "otel"
    if ("hostname" in raw and ("pid" in raw or "v" in raw)) or (
        "msg" in raw and _is_number(raw.get("time"))
    ):
        return "pino"
    if "short_message" in raw or ("level" not in raw and _is_number(raw.get("severity"))):
        return "syslog"
    return None


def exception_parts(text: str) -> tuple[str | None, str | None]:
    """(type, message) read from a formatted error: the last line of a Python traceback, the
    first line of a JavaScript, .NET or Java one."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None, None
    if lines[0].startswith(_TRACEBACK_HEAD):
        line = next((x for x in reversed(lines) if not x[:1].isspace()), lines[-1])
    else:
        line = lines[0]
    match = _EXCEPTION_LINE.fullmatch(line.strip())
    if match is None or match.group(1) == _TRACEBACK_HEAD.split()[0]:
        return None, None
    return match.group(1), match.group(2) or None


def join_lines(value: Any) -> Any:
    """A list of lines (as `traceback.format_exception` returns, with or without their line
    ends) as one text; any other value as it is."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(v if v.endswith("\n") else v + "\n" for v in value).rstrip("\n")
    return value


_TYPE_KEYS = ("type", "name", "class")
_MESSAGE_KEYS = ("message", "value", "msg")
_STACK_KEYS = ("stack", "stack_trace", "stacktrace", "extendedStackTrace", "traceback")


def _exception_found(value: Any, key: str) -> tuple[dict[str, Any], Any]:
    """The exception fields in one error value, and what is left of it (_MISSING: nothing)."""
    found: dict[str, Any] = {}
    if isinstance(value, dict):
        rest = dict(value)
        for name, keys in (
            ("exception_type", _TYPE_KEYS),
            ("exception_message", _MESSAGE_KEYS),
            ("stack_trace", _STACK_KEYS),
        ):
            for k in keys:
                item = join_lines(rest.get(k))
                if isinstance(item, str) and item:
                    found[name] = item
                    del rest[k]
                    break
        left: Any = rest or _MISSING
    elif isinstance(value, str) and value.strip():
        if key == "error" and "\n" not in value.strip():
            found["exception_message"] = value  # Go's and others' error string
        else:
            found["stack_trace"] = value
        left = _MISSING
    else:
        return found, value
    trace = found.get("stack_trace")
    if trace and "exception_type" not in found:
        kind, message = exception_parts(trace)
        if kind:
            found["exception_type"] = kind
            if message and "exception_message" not in found:
                found["exception_message"] = message
    return found, left


def _exception(raw: dict[str, Any], key: str) -> None:
    """Read one error alias into the exception fields. It is used only when all the fields it
    fills are still empty (the known names win); else it stays, to land in extra_data."""
    found, left = _exception_found(join_lines(raw[key]), key)
    if not found or any(raw.get(name) is not None for name in found):
        return
    raw.update(found)
    if left is _MISSING:
        del raw[key]
    else:
        raw[key] = left


def render_template(template: str, properties: dict[str, Any]) -> str:
    """A CLEF/Serilog message template with its properties put in (`{Name}`, `{@Name}`,
    `{Name:format}`); a hole without a property is left as written."""

    def hole(match: re.Match[str]) -> str:
        value = properties.get(match.group(2), _MISSING)
        if value is _MISSING:
            return match.group(0)
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    return (
        _TEMPLATE_HOLE.sub(hole, template.replace("{{", "\x00").replace("}}", "\x01"))
        .replace("\x00", "{")
        .replace("\x01", "}")
    )


_ALIASES_BY_FIELD: tuple[tuple[str, tuple[str, ...], frozenset[str]], ...] = tuple(
    (name, aliases, frozenset({*aliases, *(a.partition(".")[0] for a in aliases)}))
    for name, aliases in fields.ALIASES
)
"""Per field: its aliases, and the top-level keys that can hold one (a dotted alias's head)."""
_ALIAS_KEYS = frozenset().union(*(keys for _, _, keys in _ALIASES_BY_FIELD))


def _put(raw: dict[str, Any], name: str, value: Any) -> None:
    """Set a field; what is left of an object under the field's own name (ECS's `service`
    without its `name`) moves to extra_data under that name."""
    left = raw.get(name)
    raw[name] = value
    if isinstance(left, dict) and left:
        extra = raw.get("extra_data")
        if extra is None:
            raw["extra_data"] = {name: left}
        elif isinstance(extra, dict) and name not in extra:
            raw["extra_data"] = {**extra, name: left}


def resolve(raw: dict[str, Any]) -> tuple[dict[str, Any], Family | None]:
    """A copy of the record with aliases moved onto the record's fields, and the level family
    its shape shows."""
    raw = _loguru(raw) if _is_loguru(raw) else dict(raw)
    shown = family(raw)
    template = raw.get("@mt") if raw.get("message") is None and "@m" not in raw else None
    present = raw.keys() & _ALIAS_KEYS
    for name, aliases, keys in _ALIASES_BY_FIELD:
        if keys.isdisjoint(present):
            continue
        current = raw.get(name)
        if current is not None and not isinstance(current, dict):
            continue
        accept = _ACCEPT.get(name, _short_value)
        for alias in aliases:
            found = _take(raw, alias, accept)
            if found is not _MISSING:
                _put(raw, name, found)
                break
    if raw.get("level") is None and shown == "otel":
        for key in _OTEL_NUMBER_KEYS:
            if _is_number(raw.get(key)):
                raw["level"] = raw.pop(key)
                break
    for key in fields.EXCEPTION_ALIASES:
        if key in raw:
            _exception(raw, key)
    if isinstance(template, str) and raw.get("message") == template:
        raw["message"] = render_template(template, raw)
        raw["@mt"] = template
    return raw, shown
