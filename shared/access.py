"""Who is calling: API keys (stored only as SHA-256 hashes) and App Service Authentication
principals, mapped onto the roles ingest, reader and admin."""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared import fields
from shared.errors import Forbidden, Unauthorised
from shared.keysource import KeySource
from shared.settings import Settings


class Role(enum.StrEnum):
    INGEST = "ingest"
    READER = "reader"
    ADMIN = "admin"


PRINCIPAL_ROLES = {"LogAdmin": Role.ADMIN, "LogReader": Role.READER}
READER_HIDDEN_FIELDS: tuple[str, ...] = fields.READER_HIDDEN
"""The fields a reader never sees (from the field table)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller. `service` binds an ingest key to one service; `services`
    limits what a reader or admin key may read (None: every service)."""

    name: str
    role: Role
    service: str | None = None
    services: tuple[str, ...] | None = None

    def may_read_service(self, service: str) -> bool:
        return self.services is None or service in self.services

    def describe(self) -> dict[str, Any]:
        """What the caller may see, for the dashboard: role, services, the fields withheld."""
        return {
            "role": self.role.value,
            "services": None if self.services is None else list(self.services),
            "hidden_fields": [] if self.role is Role.ADMIN else list(READER_HIDDEN_FIELDS),
        }

    def view(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as this caller may see it."""
        if self.role is Role.ADMIN:
            return record
        return {k: v for k, v in record.items() if k not in READER_HIDDEN_FIELDS}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The configured API keys by hash."""

    by_hash: Mapping[str, Caller]

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> KeyRing:
        by_hash: dict[str, Caller] = {}
        for i, entry in enumerate(entries):
            try:
                digest = str(entry["hash"]).lower()
                role = Role(entry["role"])
            except (KeyError, ValueError) as exc:
                raise ValueError(f"API_KEYS entry {i} needs a hash and a known role") from exc
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"API_KEYS entry {i}: hash must be 64 hex digits of SHA-256")
            services = entry.get("services")
            by_hash[digest] = Caller(
                name=str(entry.get("name") or f"key-{i}"),
                role=role,
                service=entry.get("service") or None,
                services=tuple(services) if services else None,
            )
        return cls(by_hash=by_hash)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        for k, v in headers.items():
            if k.lower() == lower:
                return v
    return value


def _basic_password(token: str) -> str | None:
    """The password of a Basic credential (base64 of `user:password`); the user is ignored."""
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password.strip() or None if colon else None


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The key from `Authorization: Bearer KEY`, `X-Api-Key: KEY`, or Basic auth with the key
    as the password (any user name), if any."""
    auth = _header(headers, "Authorization")
    if auth:
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        if scheme.lower() == "basic" and token.strip():
            password = _basic_password(token)
            if password is not None:
                return password
    key = _header(headers, "X-Api-Key")
    return key.strip() if key and key.strip() else None


def principal_caller(headers: Mapping[str, str]) -> Caller | None:
    """The caller from App Service Authentication's `X-MS-CLIENT-PRINCIPAL`, if present."""
    raw = _header(headers, "X-MS-CLIENT-PRINCIPAL")
    if not raw:
        return None
    try:
        principal = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    roles = {
        c.get("val")
        for c in principal.get("claims", [])
        if isinstance(c, dict) and c.get("typ") in ("roles", principal.get("role_typ"))
    }
    name = _header(headers, "X-MS-CLIENT-PRINCIPAL-NAME") or "signed-in user"
    for claim, role in PRINCIPAL_ROLES.items():
        if claim in roles:
            return Caller(name=name, role=role)
    return None


def authenticate(
    headers: Mapping[str, str],
    allowed: Iterable[Role],
    keys: KeyRing,
    trust_principal: bool = False,
) -> Caller:
    """The caller behind these headers, if its role is allowed; admin is allowed everywhere.

    Raises Unauthorised when no valid credential is presented, Forbidden when the role may
    not do this."""
    allowed = set(allowed) | {Role.ADMIN}
    key = presented_key(headers)
    caller: Caller | None = None
    if key is not None:
        caller = keys.by_hash.get(hash_key(key))
        if caller is None:
            raise Unauthorised("unknown API key")
    elif trust_principal:
        caller = principal_caller(headers)
    if caller is None:
        raise Unauthorised(
            "an API key is required: Authorization: Bearer KEY, X-Api-Key: KEY, "
            "or Basic auth with the key as password"
        )
    if caller.role not in allowed:
        raise Forbidden(f"a {caller.role.value} key may not do this")
    return caller


_source: KeySource | None = None


def keyring(settings: Settings) -> KeyRing:
    """The key ring of these settings as it is now: read again every KEYS_REFRESH_SECONDS
    from KEYS_FILE or KEYS_VAULT_URI when one is set (see shared.keysource)."""
    global _source
    if _source is None or _source.settings is not settings:
        _source = KeySource(settings, KeyRing.from_entries)
    return _source.current()


def require(headers: Mapping[str, str], allowed: Iterable[Role], settings: Settings) -> Caller:
    """`authenticate` with the configured keys and principal trust."""
    return authenticate(
        headers, allowed, keyring(settings), trust_principal=settings.trust_client_principal
    )


SEQ_KEY_HEADER = "X-Seq-ApiKey"


def with_seq_key(headers: Mapping[str, str], params: Mapping[str, str]) -> dict[str, str]:
    """The headers of a Seq ingestion request, with the key its clients send (the
    `X-Seq-ApiKey` header, or the `apiKey` query parameter) presented as `X-Api-Key` when no
    key is presented the usual way."""
    out = dict(headers)
    if presented_key(headers) is None:
        key = _header(headers, SEQ_KEY_HEADER) or params.get("apiKey")
        if key and key.strip():
            out["X-Api-Key"] = key.strip()
    return out


def with_elastic_api_key(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of an Elasticsearch request, with the key of `Authorization: ApiKey
    base64(id:key)` (what Elasticsearch clients send for an API key; the id is not checked)
    presented as `X-Api-Key` when no key is presented the usual way."""
    out = dict(headers)
    auth = _header(headers, "Authorization") or ""
    scheme, _, token = auth.strip().partition(" ")
    if scheme.lower() != "apikey" or not token.strip() or presented_key(headers) is not None:
        return out
    token = token.strip()
    try:
        _, colon, key = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        colon, key = "", ""
    out["X-Api-Key"] = key if colon and key else token
    return out
