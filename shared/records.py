"""The log record: validation and normalisation of what a bot sends (`normalize`), its event
body on Event Hubs (`encode`), and decoding of that body by every reader (`decode_event`)."""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared import fields, levels, redaction, service_names, shapes
from shared.access import Caller
from shared.settings import Settings

FIELDS: tuple[str, ...] = fields.NAMES
SERVER_FIELDS = fields.SERVER_FIELDS
REDACTED_COUNTS = "_redacted"
"""Event body member: how many secrets of each kind ingest redacted from the record."""
"""Assigned at ingest; a client's values for them are ignored."""
INPUT_FIELDS = fields.INPUT_FIELDS

SHORT_FIELD_CHARS = fields.SHORT_FIELD_CHARS
USER_AGENT_CHARS = fields.USER_AGENT_CHARS
STACK_TRACE_BYTES = fields.STACK_TRACE_BYTES
ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ID = ID_PATTERN.fullmatch
UNKNOWN_SERVICE = "unknown"
MIN_TIMESTAMP = datetime(1970, 1, 1, tzinfo=UTC)
COERCED_KEY = fields.COERCED_KEY


class RecordError(ValueError):
    """One record is invalid; the message names the field and is safe to show the client."""


class ServiceMismatch(RecordError):
    """The record names a service other than the one its ingest key is bound to."""


class RecordTooLarge(RecordError):
    """A field is over its size limit (message, exception_message, stack_trace, extra_data)."""


@dataclass(frozen=True, slots=True)
class Context:
    """What every record of one request shares: caller, limits and the time of receipt.
    `coerced` counts the records whose values were moved to extra_data (see `normalize_in`)."""

    caller: Caller
    settings: Settings
    received_at: str
    latest: datetime
    latest_text: str
    coerced: list[int] = field(default_factory=lambda: [0])

    @classmethod
    def of(cls, caller: Caller, settings: Settings, now: datetime) -> Context:
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        latest = now + timedelta(seconds=settings.max_future_seconds)
        return cls(
            caller=caller,
            settings=settings,
            received_at=now.isoformat(timespec="microseconds"),
            latest=latest,
            latest_text=latest.isoformat(timespec="microseconds"),
        )


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return value.__class__ in (int, float)


_Moved = dict[str, Any]
"""The values fields could not take, by field name: kept in extra_data[COERCED_KEY]."""


# --- identifiers -------------------------------------------------------------------------

_VARIANT = dict(zip("0123456789abcdef", "89ab89ab89ab89ab", strict=True))


def _id_stream() -> Iterator[str]:
    """Random (version 4) UUID strings, drawing randomness 2 KiB at a time."""
    while True:
        h = os.urandom(2048).hex()
        for i in range(0, len(h), 32):
            yield (
                f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-4{h[i + 13 : i + 16]}-"
                f"{_VARIANT[h[i + 16]]}{h[i + 17 : i + 20]}-{h[i + 20 : i + 32]}"
            )


_ids = _id_stream()


def new_id() -> str:
    """A new uuid4 string."""
    try:
        return next(_ids)
    except ValueError:  # another thread is inside the stream right now
        return str(uuid.uuid4())


def _id(value: Any, moved: _Moved) -> str:
    """The client's id, a number as its digits; an id that cannot be one is moved and a new id
    given (the record is then not idempotent: its answer's `ids` has the new one)."""
    if value is None:
        return new_id()
    text = str(value) if value.__class__ is int else value
    if isinstance(text, str) and ID_PATTERN.fullmatch(text) is not None:
        return text
    moved["id"] = value
    return new_id()


# --- level -------------------------------------------------------------------------------

_level_cache: dict[Any, tuple[str, int]] = {}
_INFO = ("INFO", levels.LEVELS["INFO"])


def _resolve_level(value: Any, family: levels.Family | None) -> tuple[str, int] | None:
    if isinstance(value, str):
        name = levels.canonical(value)
        if name is not None:
            return name, levels.number(name)
        text = value.strip()
        if not text.isdigit():
            return None
        value = int(text)
    if not _is_number(value) or value != value or value in (float("inf"), float("-inf")):
        return None
    name = levels.from_family(int(value), family)
    return (name, levels.number(name)) if name is not None else None


def _level(value: Any, family: levels.Family | None, moved: _Moved) -> tuple[str, int]:
    """The level by name or by number in its family; a level still unknown is INFO, with the
    value as sent moved."""
    if value is None:
        return _INFO
    if family is None and value.__class__ is not bool:  # True == 1 as a key
        try:
            return _level_cache[value]
        except (KeyError, TypeError):
            pass
    resolved = _resolve_level(value, family)
    if resolved is None:
        moved["level"] = value
        return _INFO
    if family is None and len(_level_cache) < 256 and isinstance(value, str | int):
        _level_cache[value] = resolved
    return resolved


# --- timestamp ---------------------------------------------------------------------------


def _epoch(value: float) -> datetime:
    magnitude = abs(value)
    if magnitude >= 1e17:
        value = value / 1e9
    elif magnitude >= 1e14:
        value = value / 1e6
    elif magnitude >= 1e11:
        value = value / 1e3
    return datetime.fromtimestamp(value, UTC)


def _utc(moment: datetime) -> datetime:
    """Naive means UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_NUMERIC = re.compile(r"\s*-?\d+(?:\.\d+)?\s*").fullmatch


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 string, epoch seconds, milliseconds, microseconds or nanoseconds (a number
    or its digits), as an aware datetime; None if it is none of these."""
    try:
        if isinstance(value, str):
            if _NUMERIC(value):
                return _epoch(float(value))
            return _utc(datetime.fromisoformat(value.strip()))
        if _is_number(value):
            return _epoch(value)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _timestamp(value: Any, ctx: Context, moved: _Moved) -> str:
    """The time as ISO 8601 UTC. One that cannot be read, or before 1970, is moved and the
    time of receipt used; one too far ahead refuses the record (a limit)."""
    if value is None:
        return ctx.received_at
    if (
        value.__class__ is str
        and len(value) == 32
        and value[26:] == "+00:00"
        and value[10] == "T"
        and value[:4] >= "1970"
    ):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if value > ctx.latest_text:
                raise _too_far_ahead(ctx)
            return value
    moment = _moment(value)
    if moment is None or moment < MIN_TIMESTAMP:
        moved["timestamp"] = value
        return ctx.received_at
    if moment > ctx.latest:
        raise _too_far_ahead(ctx)
    return moment.isoformat(timespec="microseconds")


def _too_far_ahead(ctx: Context) -> RecordError:
    return RecordError(
        f"timestamp is more than {ctx.settings.max_future_seconds} seconds in the future"
    )


# --- strings -----------------------------------------------------------------------------


def _short(raw: Mapping[str, Any], name: str, limit: int, moved: _Moved) -> str | None:
    """A short text: a number becomes its digits; another type, or one longer than the
    limit, is moved."""
    value = raw.get(name)
    if value is None or value == "":
        return None
    if _is_number(value):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit:
        moved[name] = raw.get(name)
        return None
    return value


def _too_large(value: str, max_bytes: int) -> bool:
    return len(value) * 4 > max_bytes and len(value.encode("utf-8", "surrogatepass")) > max_bytes


def _text(raw: Mapping[str, Any], name: str, max_bytes: int, moved: _Moved) -> str | None:
    """A long text: a list of lines is joined, a number becomes its digits, another type is
    moved; over its size limit the record is refused."""
    value = raw.get(name)
    if isinstance(value, list):
        value = shapes.join_lines(value)
    elif _is_number(value):
        value = str(value)
    if not isinstance(value, str):
        moved[name] = value
        return None
    if _too_large(value, max_bytes):
        raise RecordTooLarge(f"{name} is larger than {max_bytes} bytes (UTF-8)")
    return value


def _message(raw: Mapping[str, Any], max_bytes: int) -> str:
    """The message: required and not blank; a number, true/false, an object or an array is
    kept as its JSON text."""
    value = raw.get("message")
    if value is None:
        raise RecordError("message is required (or msg, event, log, @message, @m, @mt)")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # any size, where JSON's encoder stops at 64 bits
    elif not isinstance(value, str):
        try:
            value = orjson.dumps(value).decode()
        except (TypeError, orjson.JSONEncodeError) as exc:  # an integer past 64 bits
            raise RecordError(f"message cannot be read as text: {exc}") from None
    if not value.strip():
        raise RecordError("message must not be empty")
    if _too_large(value, max_bytes):
        raise RecordTooLarge(f"message is larger than {max_bytes} bytes (UTF-8)")
    return value


_ip_cache: dict[str, str] = {}
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}").fullmatch
"""An IPv4 address already in canonical form: a few times faster than `ipaddress`."""


def _ip(value: Any, moved: _Moved) -> str | None:
    """An IP address in canonical form; anything else (a host name, a number) is moved."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        moved["ip_address"] = value
        return None
    if _CANONICAL_IPV4(value):
        return value
    known = _ip_cache.get(value)
    if known is not None:
        return known
    try:
        canonical = str(ipaddress.ip_address(value.strip()))
    except ValueError:
        moved["ip_address"] = value
        return None
    if len(_ip_cache) < 4096:
        _ip_cache[value] = canonical
    return canonical


def _service(value: Any, caller: Caller, moved: _Moved) -> str:
    if value == "":
        value = None
    if _is_number(value):
        value = str(value)
    if value is not None and (not isinstance(value, str) or service_names.problem(value)):
        moved["service"] = value
        value = None
    bound = caller.service
    if bound is None:
        return value or UNKNOWN_SERVICE
    if value is None or value == bound:
        return bound
    raise ServiceMismatch(f"service {value[:64]!r} refused: this key is bound to service {bound!r}")


def _extra(raw: Mapping[str, Any], moved: _Moved) -> dict[str, Any] | None:
    extra = raw.get("extra_data")
    if extra is not None and not isinstance(extra, dict):
        moved["extra_data"] = extra
        extra = None
    if not raw.keys() <= INPUT_FIELDS:
        unknown = [k for k in raw if k not in INPUT_FIELDS and k not in SERVER_FIELDS]
        if unknown:
            extra = dict(extra) if extra is not None else {}
            for key in unknown:
                extra.setdefault(key, raw[key])
    return extra


# --- the record --------------------------------------------------------------------------


ALWAYS_PRESENT: tuple[str, ...] = fields.ALWAYS_PRESENT
"""The fields every normalised record has; the others are present only with a value."""
_OPTIONAL_SHORT: tuple[tuple[str, int], ...] = fields.OPTIONAL_SHORT


def normalize_in(raw: Any, ctx: Context) -> dict[str, Any]:
    """The normalised (not yet redacted) record, or RecordError naming why it is refused: not
    an object, no message, or over a limit.

    A record in another logger's shape has its aliases resolved first (`shared.shapes`). A
    value a field cannot take (a wrong type, an IP address that is not one, a user agent over
    its length) never refuses the record: it moves to extra_data[COERCED_KEY] under the
    field's name, and `ctx.coerced` counts the record. Optional fields without a value are
    left out (a third fewer bytes per event on Event Hubs); `decode_event` gives them back as
    None."""
    if raw.__class__ is not dict:
        if not isinstance(raw, Mapping):
            raise RecordError(f"a record must be a JSON object, not {_type_name(raw)}")
        raw = dict(raw)
    family = None
    if not raw.keys() <= INPUT_FIELDS:
        raw, family = shapes.resolve(raw)
    moved: dict[str, Any] = {}
    settings = ctx.settings
    get = raw.get
    message = get("message")
    if message.__class__ is not str or len(message) * 4 > settings.max_message_bytes:
        message = _message(raw, settings.max_message_bytes)
    elif not message.strip():
        raise RecordError("message must not be empty")
    level, level_no = _level(get("level"), family, moved)
    service = get("service")
    if (
        ctx.caller.service is not None
        or service.__class__ is not str
        or not service_names.is_known_good(service)
    ):
        service = _service(service, ctx.caller, moved)
    record_id = get("id")
    logger_name = get("logger_name")
    if logger_name.__class__ is not str or not 0 < len(logger_name) <= SHORT_FIELD_CHARS:
        logger_name = _short(raw, "logger_name", SHORT_FIELD_CHARS, moved) or service
    record = {
        "id": record_id if record_id.__class__ is str and _ID(record_id) else _id(record_id, moved),
        "timestamp": _timestamp(get("timestamp"), ctx, moved),
        "received_at": ctx.received_at,
        "level": level,
        "level_no": level_no,
        "service": service,
        "logger_name": logger_name,
        "message": message,
    }
    for name, limit in _OPTIONAL_SHORT:
        value = get(name)
        if value is not None:
            if value.__class__ is not str or not 0 < len(value) <= limit:
                value = _short(raw, name, limit, moved)
                if value is None:
                    continue
            record[name] = value
    extra = _extra(raw, moved)
    if get("exception_message") is not None:
        value = _text(raw, "exception_message", settings.max_message_bytes, moved)
        if value is not None:
            record["exception_message"] = value
    if get("stack_trace") is not None:
        value = _text(raw, "stack_trace", STACK_TRACE_BYTES, moved)
        if value is not None:
            record["stack_trace"] = value
    ip_address = get("ip_address")
    if ip_address is not None:
        ip_address = _ip(ip_address, moved)
        if ip_address is not None:
            record["ip_address"] = ip_address
    if moved:
        extra = dict(extra) if extra is not None else {}
        extra[COERCED_KEY] = moved
        ctx.coerced[0] += 1
    if extra is not None:
        record["extra_data"] = extra
    return record


def _dumps(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise RecordError(f"the record cannot be stored as JSON: {exc}") from None


def _without_nul(value: Any) -> Any:
    """PostgreSQL text and jsonb cannot hold U+0000: it becomes U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


ESCAPED_NUL = b"\\u0000"
_needs_a_closer_look = redaction.screen(r"\\u0000")
"""One RE2 pass over an event body: might it hold a secret or an escaped U+0000?"""


def encode_unredacted(raw: Any, ctx: Context) -> tuple[dict[str, Any], bytes]:
    """Validate and normalise one record and serialise it, not yet redacted: `finish` does that
    for the records `needing_a_closer_look` picks out."""
    record = normalize_in(raw, ctx)
    try:
        body = orjson.dumps(record)
    except orjson.JSONEncodeError as exc:
        raise RecordError(f"the record cannot be stored as JSON: {exc}") from None
    limit = ctx.settings.max_extra_data_bytes
    if len(body) > limit and len(_dumps(record.get("extra_data"))) > limit:
        raise RecordTooLarge(f"extra_data is larger than {limit} bytes serialised")
    return record, body


def finish(record: dict[str, Any], body: bytes, salt: str = "") -> tuple[dict[str, Any], bytes]:
    """Redact a record its screen flagged, replace any U+0000, and serialise it again. What
    was redacted is counted by kind in `_redacted` (never the values)."""
    counts = redaction.redact_record(record, salt)
    if counts:
        record[REDACTED_COUNTS] = dict(counts)
    if ESCAPED_NUL in body:
        record = _without_nul(record)
    return record, _dumps(record)


def needing_a_closer_look(bodies: Sequence[bytes]) -> list[int]:
    """Indexes of the event bodies that might hold a secret or a U+0000, found with one RE2
    pass over all of them joined (a third cheaper than one call per body, measured side by
    side). A match that runs across a joint flags both bodies: a body flagged in vain is only
    redacted to no effect."""
    if not bodies:
        return []
    joined = b"\n".join(bodies)
    starts = list(itertools.accumulate((len(b) + 1 for b in bodies[:-1]), initial=0))
    flagged: list[int] = []
    pos = 0
    while (found := _needs_a_closer_look.span(joined, pos)) is not None:
        index = bisect.bisect_right(starts, found[0]) - 1
        if index + 1 < len(starts) and found[0] == starts[index + 1] - 1:
            index += 1  # the match begins on the joint: it reads the next body's first byte
        if not flagged or flagged[-1] != index:
            flagged.append(index)
        if index + 1 == len(starts):
            break
        if found[1] > starts[index + 1]:
            flagged.append(index + 1)
        # from the joint, so that a pattern that must follow a separator sees one
        pos = starts[index + 1] - 1
    return flagged


def prepare(raw: Any, ctx: Context) -> tuple[dict[str, Any], bytes]:
    """Validate, normalise and redact one record; return it with its event body."""
    record, body = encode_unredacted(raw, ctx)
    if _needs_a_closer_look(body):
        return finish(record, body, ctx.settings.redaction_salt)
    return record, body


def normalize(raw: Mapping[str, Any], caller: Caller, settings: Settings, now: datetime) -> dict:
    """One record as sent by a client, validated, normalised and redacted.

    Raises RecordError (ServiceMismatch for a service the key is not bound to) with a message
    naming the offending field. Nested extra_data containers are redacted in place."""
    return prepare(raw, Context.of(caller, settings, now))[0]


def encode(record: Mapping[str, Any]) -> bytes:
    """The Event Hub body of a normalised record."""
    return orjson.dumps(record)


def event(record: Mapping[str, Any]) -> tuple[str, bytes]:
    """(partition key, body) of a normalised record: keyed by its service."""
    return record["service"], encode(record)


def _aware(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise RecordError(f"event {name} must be an ISO 8601 string, not {_type_name(value)}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"event {name} {value[:64]!r} is not ISO 8601") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def decode_event(body: bytes | bytearray | memoryview | str) -> dict[str, Any]:
    """A record from its Event Hub body, with timestamp and received_at as aware datetimes
    and every field of FIELDS present (None when the body leaves it out). Raises RecordError
    when undecodable."""
    try:
        record = orjson.loads(body)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise RecordError(f"event body is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise RecordError(f"event body must be a JSON object, not {_type_name(record)}")
    record_id = record.get("id")
    if not isinstance(record_id, str) or not record_id:
        raise RecordError("event has no id")
    record["timestamp"] = _aware(record.get("timestamp"), "timestamp")
    received = record.get("received_at")
    record["received_at"] = _aware(received, "received_at") if received is not None else None
    for name in FIELDS:
        if name not in record:
            record[name] = None
    return record
