"""Invocation data shaped as the Functions host sends it to the Python worker (gRPC
`InvocationRequest` input data and trigger metadata), and the worker's answers read back.

- Event Hubs, cardinality many: the bodies as `collection_bytes`; trigger metadata with
  `PartitionContext` as JSON and `SystemPropertiesArray` carrying both the AMQP `x-opt-*`
  annotations and the `SequenceNumber`, `Offset`, `PartitionKey` and `EnqueuedTimeUtc` that the
  SDK reads, with .NET's seven fractional digits; plus the per-property arrays.
- HTTP: `RpcHttp` with the raw body as bytes (the worker announces `RawHttpBodyBytes`).
- Timers: the timer info JSON (`Schedule`, `ScheduleStatus`, `IsPastDue`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from azure.functions.eventhub import EventHubTriggerConverter

from devhost import protos


def host_time(moment: datetime) -> str:
    """A UTC time as the host serialises a .NET DateTime: seven fractional digits and Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def memoize_enqueued_times() -> Callable[[], None]:
    """The dev host's one shortcut: the SDK's converter parses each event's enqueued time by
    trying a list of strptime formats, about 120 us a record, which Azure pays too (see
    bench_worker). The dev host publishes a request's records with one enqueued time, so it
    remembers the converter's own answer per distinct string: the same code gives the same
    values, computed once per publish instead of once per record. Returns the undo."""
    original = EventHubTriggerConverter.__dict__.get("_parse_datetime")
    parse = functools.lru_cache(maxsize=4096)(EventHubTriggerConverter._parse_datetime)
    EventHubTriggerConverter._parse_datetime = classmethod(  # type: ignore[method-assign]
        lambda cls, text: parse(text)
    )

    def undo() -> None:
        if original is None:
            del EventHubTriggerConverter._parse_datetime
        else:
            EventHubTriggerConverter._parse_datetime = original  # type: ignore[method-assign]

    return undo


def take_shortcuts(environ: Mapping[str, str]) -> None:
    """The dev host's processes remember enqueued time parses unless DEVHOST_ENQUEUED_TIMES is
    `parse` (every record parsed, as in Azure: for a side-by-side end-to-end run)."""
    if environ.get("DEVHOST_ENQUEUED_TIMES", "").strip().lower() != "parse":
        memoize_enqueued_times()


def _json(value: Any) -> Any:
    return protos.TypedData(json=orjson.dumps(value).decode())


def _sys(function: str) -> Any:
    return _json(
        {
            "MethodName": function,
            "UtcNow": host_time(datetime.now(UTC)),
            "RandGuid": str(uuid.uuid4()),
        }
    )


def eventhub_batch(
    function: str,
    arg_name: str,
    *,
    hub: str,
    group: str,
    partition: str,
    bodies: Sequence[bytes],
    keys: Sequence[str],
    sequence_numbers: Sequence[int],
    enqueued_texts: Sequence[str],
) -> tuple[list[Any], dict[str, Any]]:
    """(input data, trigger metadata) for a batch of one partition (cardinality many)."""
    system = [
        {
            "x-opt-sequence-number": number,
            "x-opt-offset": str(number),
            "x-opt-enqueued-time": text,
            "x-opt-partition-key": key,
            "SequenceNumber": number,
            "Offset": number,
            "PartitionKey": key,
            "EnqueuedTimeUtc": text,
        }
        for number, key, text in zip(sequence_numbers, keys, enqueued_texts, strict=True)
    ]
    metadata = {
        "PartitionContext": _json(
            {
                "EventHubName": hub,
                "ConsumerGroup": group,
                "FullyQualifiedNamespace": "localhost",
                "PartitionId": partition,
                "IsCheckpointingAfterInvocation": True,
            }
        ),
        "SystemPropertiesArray": _json(system),
        "PartitionKeyArray": _json(list(keys)),
        "OffsetArray": _json([str(n) for n in sequence_numbers]),
        "SequenceNumberArray": _json(list(sequence_numbers)),
        "EnqueuedTimeUtcArray": _json(list(enqueued_texts)),
        "PropertiesArray": _json([{} for _ in bodies]),
        "sys": _sys(function),
    }
    data = protos.TypedData(collection_bytes=protos.CollectionBytes(bytes=list(bodies)))
    return [protos.ParameterBinding(name=arg_name, data=data)], metadata


def http_request(
    arg_name: str,
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    query: dict[str, str],
    route_params: dict[str, str],
    body: bytes,
) -> Any:
    """The HTTP trigger's input, as `RpcHttp`."""
    http = protos.RpcHttp(
        method=method,
        url=url,
        headers=headers,
        query=query,
        params=route_params,
        body=protos.TypedData(bytes=body),
    )
    return protos.ParameterBinding(name=arg_name, data=protos.TypedData(http=http))


def timer_info(
    arg_name: str, *, last: datetime | None, next_due: datetime, past_due: bool = False
) -> Any:
    now = datetime.now(UTC)
    return protos.ParameterBinding(
        name=arg_name,
        data=_json(
            {
                "Schedule": {"AdjustForDST": True},
                "ScheduleStatus": {
                    "Last": host_time(last) if last else "0001-01-01T00:00:00",
                    "Next": host_time(next_due),
                    "LastUpdated": host_time(now),
                },
                "IsPastDue": past_due,
            }
        ),
    )


def string_input(arg_name: str, value: str) -> Any:
    return protos.ParameterBinding(name=arg_name, data=protos.TypedData(string=value))


def value_of(data: Any) -> Any:
    """The Python value of an outgoing TypedData (an output binding's value)."""
    if data is None:
        return None
    kind = data.WhichOneof("data")
    if kind is None:
        return None
    if kind == "http":
        raise TypeError("an HTTP value is a response, not an output value")
    return getattr(data, kind)


def outputs(response: Any) -> list[tuple[str, Any]]:
    """(output binding name, value) for every output the function set."""
    return [(binding.name, value_of(binding.data)) for binding in response.output_data]


def http_response(response: Any) -> tuple[int, dict[str, str], list[str], bytes] | None:
    """(status, headers, Set-Cookie values, body) of the function's `$return`, or None when it
    returned nothing."""
    value = response.return_value
    kind = value.WhichOneof("data") if response.HasField("return_value") else None
    if kind is None:
        return None
    if kind != "http":
        body = value_of(value)
        return 200, {}, [], body.encode() if isinstance(body, str) else bytes(body)
    http = value.http
    body = value_of(http.body) if http.HasField("body") else b""
    if isinstance(body, str):
        body = body.encode()
    cookies = [_cookie(c) for c in http.cookies]
    return int(http.status_code or 200), dict(http.headers), cookies, body or b""


def _cookie(cookie: Any) -> str:
    parts = [f"{cookie.name}={cookie.value}"]
    for attribute, field in (("Domain", "domain"), ("Path", "path"), ("Max-Age", "max_age")):
        if cookie.HasField(field):
            parts.append(f"{attribute}={getattr(cookie, field).value}")
    if cookie.HasField("secure") and cookie.secure.value:
        parts.append("Secure")
    if cookie.HasField("http_only") and cookie.http_only.value:
        parts.append("HttpOnly")
    return "; ".join(parts)
