"""HS256 JSON Web Tokens as Azure SignalR Service issues and checks them for clients.

The service signs a client's access token with its access key; the audience is the client URL
(`<endpoint>/client/?hub=<hub>`) and the user id travels in `asrs.s.uid`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import orjson

from shared.stream import USER_ID_CLAIMS


class InvalidToken(Exception):
    """The token is malformed, badly signed, expired or for another audience."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(key: str, audience: str, user_id: str | None, lifetime_seconds: int = 3600) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_seconds,
    }
    if user_id:
        claims[USER_ID_CLAIMS[0]] = user_id
    header = _b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    payload = _b64(orjson.dumps(claims))
    signature = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def verify(key: str, token: str, audience: str, leeway_seconds: int = 30) -> dict[str, Any]:
    """The token's claims, if it is signed with `key`, current and for `audience`."""
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = orjson.loads(_unb64(header_b64))
        claims = orjson.loads(_unb64(payload_b64))
        signature = _unb64(signature_b64)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidToken("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise InvalidToken("only HS256 tokens are accepted")
    expected = hmac.new(
        key.encode(), f"{header_b64}.{payload_b64}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidToken("bad signature")
    if not isinstance(claims, dict):
        raise InvalidToken("claims must be an object")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or now > exp + leeway_seconds:
        raise InvalidToken("token expired")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and now + leeway_seconds < nbf:
        raise InvalidToken("token not yet valid")
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    if audience not in audiences:
        raise InvalidToken("token is for another audience")
    return claims


def user_id(claims: dict[str, Any]) -> str | None:
    for name in USER_ID_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return None
