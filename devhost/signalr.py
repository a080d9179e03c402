"""A SignalR-compatible hub for the dev host, shaped like Azure SignalR Service in serverless
mode as its clients see it.

Clients get `{"url", "accessToken"}` from the app's negotiate function, POST
`<url>/negotiate` with the token, and open a WebSocket at `<url>&id=<connectionToken>` with the
token (as `access_token` in the query for browsers, or as a bearer header). They speak the
JSON hub protocol. Functions reach clients through `apply()`, which takes one item of what a
function sets on its `signalR` output binding: a message or a group action. Group membership
by user id outlives connections, as the service's user-group mapping does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from devhost import signalr_protocol as protocol
from devhost import signalr_token as tokens

log = logging.getLogger(__name__)

CLIENT_PATH = "/signalr/client"


@dataclass(slots=True)
class _Negotiated:
    connection_id: str
    user_id: str | None
    expires_at: float


@dataclass(eq=False)
class _Client:
    """One connected client: its socket and the queue of frames its writer sends in order."""

    connection_id: str
    user_id: str | None
    ws: web.WebSocketResponse
    keepalive_interval: float
    max_queued_frames: int
    max_queued_chars: int
    queue: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    queued_chars: int = 0
    groups: set[str] = field(default_factory=set)
    dropped: str | None = None
    closing: bool = False
    writer: asyncio.Task[None] | None = None

    def enqueue(self, frame: str) -> bool:
        """Queue a frame; False (once) when the client has fallen too far behind, after which
        it is being dropped and takes no more frames."""
        if self.dropped is not None:
            return True
        backlog = self.queue.qsize()
        if backlog and (
            backlog >= self.max_queued_frames
            or self.queued_chars + len(frame) > self.max_queued_chars
        ):
            self.dropped = "Client fell too far behind."
            return False
        self.queued_chars += len(frame)
        self.queue.put_nowait(frame)
        return True

    async def write(self) -> None:
        """Send queued frames in order, and a ping whenever the line has been idle."""
        while True:
            try:
                frame = await asyncio.wait_for(self.queue.get(), self.keepalive_interval)
            except TimeoutError:
                frame = protocol.PING_FRAME
            else:
                self.queued_chars -= len(frame or "")
            if frame is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return


def _reject(status: type[web.HTTPException], reason: str) -> web.HTTPException:
    return status(text=reason, content_type="text/plain")


class Hub:
    """The hub `hub_name`, served under `{base_url}/signalr/client/`."""

    def __init__(
        self,
        hub_name: str,
        base_url: str,
        access_key: str,
        *,
        handshake_timeout: float = 15.0,
        client_timeout: float = 30.0,
        keepalive_interval: float = 15.0,
        token_lifetime_seconds: int = 3600,
        max_queued_frames: int = 2000,
        max_queued_chars: int = 64 * 1024 * 1024,
        max_incoming_bytes: int = 1024 * 1024,
    ) -> None:
        self.hub_name = hub_name.lower()
        self.client_url = f"{base_url.rstrip('/')}{CLIENT_PATH}/?hub={self.hub_name}"
        self._key = access_key
        self.handshake_timeout = handshake_timeout
        self.client_timeout = client_timeout
        self.keepalive_interval = keepalive_interval
        self._token_lifetime = token_lifetime_seconds
        self._max_queued_frames = max_queued_frames
        self._max_queued_chars = max_queued_chars
        self._max_incoming_bytes = max_incoming_bytes
        self._negotiated: dict[str, _Negotiated] = {}
        self._clients: dict[str, _Client] = {}
        self._user_groups: dict[str, set[str]] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._drops: set[asyncio.Task[None]] = set()
        self.frames_sent = 0
        self.clients_dropped_slow = 0

    # --- what functions and the dev host use

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{CLIENT_PATH}/negotiate", self._negotiate),
            web.post(f"{CLIENT_PATH}/negotiate/", self._negotiate),
            web.get(f"{CLIENT_PATH}/", self._connect),
            web.get(CLIENT_PATH, self._connect),
        ]

    def connection_info(self, user_id: str | None) -> dict[str, str]:
        """What the `signalRConnectionInfo` input binding yields for this user id. None
        stands for an expression the dev host does not resolve itself, `{rand-guid}`: a fresh
        random GUID."""
        user_id = user_id or str(uuid.uuid4())
        token = tokens.issue(self._key, self.client_url, user_id, self._token_lifetime)
        return {"url": self.client_url, "accessToken": token}

    async def apply(self, action: dict[str, Any]) -> None:
        """Carry out one item of a `signalR` output binding: a message or a group action."""
        if not isinstance(action, dict):
            raise ValueError("a SignalR output item must be a JSON object")
        if "target" in action:
            self._send(action)
        elif "action" in action:
            self._group_action(action)
        else:
            raise ValueError("a SignalR output item needs a target (message) or an action")

    def groups_of_user(self, user_id: str) -> frozenset[str]:
        return frozenset(self._user_groups.get(user_id, ()))

    @property
    def connection_count(self) -> int:
        return len(self._clients)

    async def on_shutdown(self, app: web.Application) -> None:
        """For `app.on_shutdown`: close client connections so the server can stop at once
        (open WebSockets otherwise hold a graceful shutdown for its whole timeout)."""
        await self.close()

    async def close(self) -> None:
        for client in list(self._clients.values()):
            await self._drop(client, "Server is shutting down.", allow_reconnect=True)
        for ws in list(self._sockets):
            await ws.close()
        self._sockets.clear()

    # --- messages and groups

    def _send(self, message: dict[str, Any]) -> None:
        target = message["target"]
        arguments = message.get("arguments") or []
        if not isinstance(target, str) or not target:
            raise ValueError("a SignalR message needs a target name")
        if not isinstance(arguments, list):
            raise ValueError("a SignalR message's arguments must be a list")
        recipients = self._recipients(message)
        if not recipients:
            return
        frame = protocol.invocation_frame(target, arguments)
        for client in recipients:
            if client.enqueue(frame):
                self.frames_sent += 1
            else:
                self.clients_dropped_slow += 1
                log.warning("dropping SignalR client %s: too far behind", client.connection_id)
                task = asyncio.get_running_loop().create_task(
                    self._drop(client, client.dropped or "", allow_reconnect=True)
                )
                self._drops.add(task)
                task.add_done_callback(self._drops.discard)

    def _recipients(self, message: dict[str, Any]) -> list[_Client]:
        clients: Iterable[_Client] = self._clients.values()
        if message.get("connectionId"):
            found = self._clients.get(message["connectionId"])
            return [found] if found else []
        if message.get("userId"):
            clients = (c for c in clients if c.user_id == message["userId"])
        if message.get("groupName"):
            group = message["groupName"]
            clients = (c for c in clients if group in c.groups or group in self._groups_of(c))
        return list(clients)

    def _groups_of(self, client: _Client) -> set[str]:
        if client.user_id is None:
            return set()
        return self._user_groups.get(client.user_id, set())

    def _group_action(self, action: dict[str, Any]) -> None:
        kind = str(action.get("action", "")).lower()
        group = action.get("groupName")
        user_id = action.get("userId")
        connection_id = action.get("connectionId")
        if kind == "removeall" and user_id:
            self._user_groups.pop(user_id, None)
            return
        if kind not in ("add", "remove"):
            raise ValueError(f"unknown group action {action.get('action')!r}")
        if not isinstance(group, str) or not group:
            raise ValueError("a group action needs a groupName")
        if user_id:
            if kind == "add":
                self._user_groups.setdefault(user_id, set()).add(group)
            elif group in self._user_groups.get(user_id, ()):
                self._user_groups[user_id].discard(group)
                if not self._user_groups[user_id]:
                    del self._user_groups[user_id]
        elif connection_id:
            client = self._clients.get(connection_id)
            if client is not None:
                (client.groups.add if kind == "add" else client.groups.discard)(group)
        else:
            raise ValueError("a group action needs a userId or a connectionId")

    # --- HTTP endpoints

    def _claims(self, request: web.Request) -> dict[str, Any]:
        if request.query.get("hub", "").lower() != self.hub_name:
            raise _reject(web.HTTPNotFound, f"unknown hub; this is hub '{self.hub_name}'")
        token = request.query.get("access_token")
        if not token:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            token = value.strip() if scheme.lower() == "bearer" else ""
        if not token:
            raise _reject(web.HTTPUnauthorized, "an access token is required")
        try:
            return tokens.verify(self._key, token, self.client_url)
        except tokens.InvalidToken as exc:
            raise _reject(web.HTTPUnauthorized, f"invalid access token: {exc}") from exc

    async def _negotiate(self, request: web.Request) -> web.Response:
        claims = self._claims(request)
        try:
            version = int(request.query.get("negotiateVersion", "0"))
        except ValueError:
            version = 0
        now = time.monotonic()
        for key in [k for k, n in self._negotiated.items() if n.expires_at < now]:
            del self._negotiated[key]
        connection_id = secrets.token_urlsafe(16)
        connection_token = secrets.token_urlsafe(16) if version >= 1 else connection_id
        self._negotiated[connection_token] = _Negotiated(
            connection_id, tokens.user_id(claims), now + max(self.handshake_timeout, 60.0)
        )
        body: dict[str, Any] = {
            "negotiateVersion": 1 if version >= 1 else 0,
            "connectionId": connection_id,
            "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text"]}],
        }
        if version >= 1:
            body["connectionToken"] = connection_token
        return web.json_response(body)

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        claims = self._claims(request)
        user_id = tokens.user_id(claims)
        connection_token = request.query.get("id")
        if connection_token:
            negotiated = self._negotiated.pop(connection_token, None)
            if negotiated is None:
                raise _reject(web.HTTPNotFound, "no such negotiated connection")
            if negotiated.user_id != user_id:
                raise _reject(web.HTTPUnauthorized, "the token is not the negotiated user's")
            connection_id = negotiated.connection_id
        else:
            connection_id = secrets.token_urlsafe(16)
        ws = web.WebSocketResponse(
            timeout=2.0, heartbeat=None, compress=False, max_msg_size=self._max_incoming_bytes
        )
        if not ws.can_prepare(request).ok:
            raise _reject(web.HTTPBadRequest, "only the WebSockets transport is available")
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await self._serve(ws, connection_id, user_id)
        finally:
            self._sockets.discard(ws)
            if not ws.closed:
                await ws.close()
        return ws

    # --- one connection

    async def _serve(
        self, ws: web.WebSocketResponse, connection_id: str, user_id: str | None
    ) -> None:
        reader = protocol.FrameReader(self._max_incoming_bytes)
        pending = await self._handshake(ws, reader)
        if pending is None:
            return
        client = _Client(
            connection_id,
            user_id,
            ws,
            self.keepalive_interval,
            self._max_queued_frames,
            self._max_queued_chars,
        )
        self._clients[connection_id] = client
        client.writer = asyncio.get_running_loop().create_task(client.write())
        log.info("SignalR client %s connected (user %s)", connection_id, user_id)
        try:
            if not self._handle(client, pending):
                return
            await self._read(client, reader)
        finally:
            self._clients.pop(connection_id, None)
            await self._stop_writer(client)
            log.info("SignalR client %s disconnected", connection_id)

    async def _handshake(
        self, ws: web.WebSocketResponse, reader: protocol.FrameReader
    ) -> list[dict[str, Any]] | None:
        """The messages after a successful handshake, or None when the client failed it."""
        deadline = time.monotonic() + self.handshake_timeout
        messages: list[dict[str, Any]] = []
        while not messages:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.info("SignalR client dropped: no handshake within %ss", self.handshake_timeout)
                return None
            try:
                msg = await ws.receive(timeout=remaining)
            except TimeoutError:
                continue
            if msg.type != WSMsgType.TEXT:
                return None
            try:
                messages = reader.feed(msg.data)
            except protocol.ProtocolError as exc:
                await ws.send_str(protocol.error_frame(str(exc)))
                return None
        frame, accepted = protocol.handshake_reply(messages[0])
        await ws.send_str(frame)
        return messages[1:] if accepted else None

    async def _read(self, client: _Client, reader: protocol.FrameReader) -> None:
        ws = client.ws
        while not client.closing:
            try:
                msg = await ws.receive(timeout=self.client_timeout)
            except TimeoutError:
                await self._drop(
                    client,
                    "Server timeout elapsed without receiving a message from the client.",
                    allow_reconnect=True,
                )
                return
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if msg.type == WSMsgType.ERROR:
                return
            if msg.type != WSMsgType.TEXT:
                await self._drop(client, "Only the JSON (text) protocol is supported.")
                return
            try:
                messages = reader.feed(msg.data)
            except protocol.ProtocolError as exc:
                await self._drop(client, f"Connection closed with an error: {exc}")
                return
            if not self._handle(client, messages):
                return

    def _handle(self, client: _Client, messages: list[dict[str, Any]]) -> bool:
        """React to client messages; False once the client asked to close."""
        for message in messages:
            kind = message.get("type")
            if kind == protocol.CLOSE:
                return False
            if kind in (protocol.INVOCATION, protocol.STREAM_INVOCATION):
                invocation_id = message.get("invocationId")
                if isinstance(invocation_id, str):
                    client.enqueue(
                        protocol.completion_error_frame(
                            invocation_id,
                            "This hub is serverless: clients cannot invoke server methods.",
                        )
                    )
        return True

    async def _drop(self, client: _Client, reason: str, allow_reconnect: bool = False) -> None:
        if client.closing:
            return
        client.closing = True
        client.dropped = client.dropped or reason
        await self._stop_writer(client)
        with contextlib.suppress(ConnectionError, RuntimeError):
            if not client.ws.closed:
                await client.ws.send_str(protocol.close_frame(client.dropped, allow_reconnect))
        await client.ws.close()

    @staticmethod
    async def _stop_writer(client: _Client) -> None:
        writer = client.writer
        if writer is None or writer.done():
            return
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
            await writer
