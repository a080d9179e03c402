"""The live stream: each Event Hub batch as SignalR messages, one view per audience group, and
the group membership a negotiating client is given.

Audiences: the `admins` group gets records whole, the `readers` group the reader view. A key
limited to some services gets a group of its own, named after its role and services, that
only carries those services. Every message is an invocation of target `logs` with one argument,
an array of records, kept under the service's message size by splitting the batch."""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shared.access import Caller, Role, keyring, require
from shared.errors import PipelineError
from shared.settings import Settings

log = logging.getLogger(__name__)

LOGS_TARGET = "logs"
ADMINS_GROUP = "admins"
READERS_GROUP = "readers"
GROUP_OF_ROLE = {Role.ADMIN: ADMINS_GROUP, Role.READER: READERS_GROUP}

FRAME_OVERHEAD_BYTES = len(b'{"type":1,"target":"logs","arguments":[[]]}\x1e') + 64
"""What the service adds around the records array when it sends a message to a client, with
room for the headers it may add."""

TRUNCATED_TEXT_CHARS = 2048
KEPT_WHEN_TRUNCATED = ("id", "timestamp", "received_at", "level", "level_no", "service")


@dataclass(frozen=True, slots=True)
class Audience:
    """One SignalR group and the caller whose view of a record it receives."""

    group: str
    viewer: Caller

    def sees(self, record: Mapping[str, Any]) -> bool:
        return self.viewer.may_read_service(str(record.get("service", "")))


def group_of(caller: Caller) -> str:
    """The stream group of a reader or admin: by role, and by services for a limited key."""
    base = GROUP_OF_ROLE[caller.role]
    if caller.services is None:
        return base
    scope = ",".join(sorted(set(caller.services)))
    return f"{base}.{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


def audiences(settings: Settings) -> list[Audience]:
    """Every group a batch is sent to: admins, readers, and one per distinct limited key."""
    found = {
        ADMINS_GROUP: Audience(ADMINS_GROUP, Caller("admins", Role.ADMIN)),
        READERS_GROUP: Audience(READERS_GROUP, Caller("readers", Role.READER)),
    }
    for caller in keyring(settings).by_hash.values():
        if caller.role in GROUP_OF_ROLE and caller.services is not None:
            group = group_of(caller)
            found.setdefault(
                group, Audience(group, Caller(group, caller.role, None, caller.services))
            )
    return list(found.values())


# --- the batch as messages


def serialise(record: Mapping[str, Any], limit: int) -> bytes:
    """The record as JSON, cut down to a marked stub (`"truncated": true`, long texts shortened,
    extra data left out) when it alone would not fit in a message; the full record stays
    available from the search API by its id."""
    body = orjson.dumps(record)
    if len(body) + FRAME_OVERHEAD_BYTES <= limit:
        return body
    stub: dict[str, Any] = {k: v for k, v in record.items() if k != "extra_data"}
    for name, value in stub.items():
        if isinstance(value, str) and len(value) > TRUNCATED_TEXT_CHARS:
            stub[name] = value[:TRUNCATED_TEXT_CHARS] + "…"
    stub["truncated"] = True
    body = orjson.dumps(stub)
    if len(body) + FRAME_OVERHEAD_BYTES <= limit:
        return body
    minimal = {k: record[k] for k in KEPT_WHEN_TRUNCATED if k in record}
    minimal["message"] = str(record.get("message", ""))[:200]
    minimal["truncated"] = True
    return orjson.dumps(minimal)


def split(serialised: Sequence[bytes], limit: int) -> list[list[bytes]]:
    """Pack serialised records, in order, into as few arrays as keep each message within
    `limit` bytes once framed. A record that is alone too large still gets its own array."""
    chunks: list[list[bytes]] = []
    current: list[bytes] = []
    size = FRAME_OVERHEAD_BYTES
    for body in serialised:
        added = len(body) + (1 if current else 0)
        if current and size + added > limit:
            chunks.append(current)
            current, size, added = [], FRAME_OVERHEAD_BYTES, len(body)
        current.append(body)
        size += added
    if current:
        chunks.append(current)
    return chunks


def messages(records: Sequence[Mapping[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """The `signalR` output-binding messages for a batch: per audience, its view of the
    records it may see, split under `signalr_max_message_bytes`. Arguments are pre-serialised
    (orjson fragments): encode the result with `encode()`."""
    limit = settings.signalr_max_message_bytes
    out: list[dict[str, Any]] = []
    for audience in audiences(settings):
        for array in _arrays(audience, records, limit):
            out.append(
                {
                    "target": LOGS_TARGET,
                    "arguments": [orjson.Fragment(array)],
                    "groupName": audience.group,
                }
            )
    return out


def _arrays(audience: Audience, records: Sequence[Mapping[str, Any]], limit: int) -> list[bytes]:
    """The audience's view of the records as JSON arrays of at most `limit` bytes once framed.
    Most batches fit one message whole: serialised in one call, the same bytes as joining
    each record's serialisation, at a fraction of the cost; otherwise record by record."""
    viewer = audience.viewer
    seen = records if viewer.services is None else [r for r in records if audience.sees(r)]
    views = [viewer.view(r if isinstance(r, dict) else dict(r)) for r in seen]
    if not views:
        return []
    whole = orjson.dumps(views)
    if len(whole) + FRAME_OVERHEAD_BYTES <= limit:
        return [whole]
    serialised = [serialise(v, limit) for v in views]
    return [b"[" + b",".join(chunk) + b"]" for chunk in split(serialised, limit)]


def to_audiences(
    target: str, payload: Any, settings: Settings, service: str | None = None
) -> list[dict[str, Any]]:
    """Messages carrying one payload that holds no reader-hidden field (an alert, say) to
    every stream group that may see `service`; to every group when it concerns no service."""
    return [
        {"target": target, "arguments": [payload], "groupName": audience.group}
        for audience in audiences(settings)
        if service is None or audience.viewer.may_read_service(service)
    ]


def encode(actions: Iterable[Mapping[str, Any]]) -> str:
    """The JSON string a function sets on its `signalR` output binding."""
    return orjson.dumps(list(actions)).decode()


def decode_batch(bodies: Iterable[bytes]) -> list[dict[str, Any]]:
    """The records of an Event Hub batch. The stream is a view, not a sink of record: an event
    that does not decode is logged and left to the store, which dead-letters it."""
    from shared import records

    decoded = []
    for body in bodies:
        try:
            decoded.append(records.decode_event(body))
        except records.RecordError as exc:
            log.warning("live stream skipped an undecodable event: %s", exc)
    return decoded


def batch_messages(bodies: Iterable[bytes], settings: Settings) -> list[dict[str, Any]]:
    """The stream function's messages for an Event Hub batch (none when nothing decodes)."""
    return messages(decode_batch(bodies), settings)


# --- negotiate

USER_ID_EXPRESSION = "{rand-guid}"
"""The negotiate binding's user id: a fresh server-drawn GUID per negotiation."""
USER_ID_CLAIMS = ("asrs.s.uid", "nameid", "sub")
"""Where a SignalR client access token carries its user id."""


@dataclass(frozen=True, slots=True)
class Admission:
    caller: Caller
    user_id: str
    group: str
    group_actions: list[dict[str, str]]
    connection_info: dict[str, Any]


def user_id_in_token(access_token: str) -> str | None:
    """The user id a client access token was issued for. The token comes from the
    connection-info binding, so it is read, not verified: the service verifies it."""
    try:
        payload = access_token.split(".")[1]
        claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    for name in USER_ID_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def admit(headers: Mapping[str, str], connection_info: str, settings: Settings) -> Admission:
    """Authenticate a negotiating reader or admin, and give the user id its connection info
    was issued for the group of its role and no other stream group: removals come first."""
    caller = require(headers, [Role.READER], settings)
    info = orjson.loads(connection_info)
    user_id = user_id_in_token(str(info.get("accessToken", "")))
    if not user_id:
        raise PipelineError("the SignalR connection info carries no user id")
    group = group_of(caller)
    actions = [
        {"userId": user_id, "groupName": other.group, "action": "remove"}
        for other in audiences(settings)
        if other.group != group
    ]
    actions.append({"userId": user_id, "groupName": group, "action": "add"})
    return Admission(caller, user_id, group, actions, info)
