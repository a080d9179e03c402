"""An AMQP 1.0 endpoint for the `azure-eventhub` producer, built on the SDK's own codec
(`azure.eventhub._pyamqp`): SASL ANONYMOUS, `$cbs` put-token, `$management` READ of the hub
and its partitions, sender links to `HUB` and `HUB/Partitions/N`, single and batched messages
(format 0x80013700) split over frames, and accepted or rejected dispositions. What it
receives goes to `deliver([(partition key, body), ...], partition_id or None)`; an
`Unavailable` from it rejects the delivery as `com.microsoft:server-busy`."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from azure.eventhub._pyamqp import performatives as pf
from azure.eventhub._pyamqp._decode import decode_frame, decode_payload
from azure.eventhub._pyamqp._encode import encode_frame, encode_payload
from azure.eventhub._pyamqp.constants import HEADER_FRAME, SASL_HEADER_FRAME
from azure.eventhub._pyamqp.endpoints import Source, Target
from azure.eventhub._pyamqp.error import AMQPError
from azure.eventhub._pyamqp.message import Message, Properties
from azure.eventhub._pyamqp.outcomes import Accepted, Rejected
from azure.eventhub._pyamqp.types import TYPE, VALUE, AMQPTypes

from shared.errors import Unavailable

log = logging.getLogger("devhost.amqp")

BATCH_FORMAT = 0x80013700
PARTITION_KEY = b"x-opt-partition-key"
SERVER_BUSY = b"com.microsoft:server-busy"
INTERNAL_ERROR = b"amqp:internal-error"
NOT_FOUND = b"amqp:not-found"
NODES = ("$cbs", "$management")
Deliver = Callable[[list[tuple[str, bytes]], str | None], Awaitable[None]]
OPEN, BEGIN, ATTACH, FLOW, TRANSFER, DISPOSITION, DETACH, END, CLOSE = range(0x10, 0x19)
SASL_INIT = 0x41
LINK_CREDIT = 10_000
"""Credit granted on attach; the SDK's sender renews its own count when it runs out."""


def _long(value: int) -> dict[str, Any]:
    return {TYPE: AMQPTypes.long, VALUE: value}


def _timestamp(ms: int) -> dict[str, Any]:
    return {TYPE: AMQPTypes.timestamp, VALUE: ms}


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


@dataclass
class Link:
    name: str
    handle: int
    role_sender: bool
    """True when this side sends (replies on $cbs and $management)."""
    address: str
    delivery: bytearray = field(default_factory=bytearray)
    delivery_id: int = 0
    message_format: int = 0
    refused: bool = False


@dataclass
class Refusal:
    """What the endpoint does to a send instead of accepting it (for tests)."""

    condition: bytes = SERVER_BUSY
    description: str = "the endpoint refuses sends"
    hang: bool = False


class AmqpEndpoint:
    def __init__(
        self,
        hub_name: str,
        partition_ids: Sequence[str],
        deliver: Deliver,
        max_message_size: int = 1024 * 1024,
        max_frame_size: int = 64 * 1024,
        last_sequence: Callable[[str], int] = lambda _pid: -1,
        session_window: int = 65536,
    ) -> None:
        self.hub_name = hub_name
        self.partition_ids = list(partition_ids)
        self.deliver = deliver
        self.max_message_size = max_message_size
        self.max_frame_size = max_frame_size
        self.refusal: Refusal | None = None
        self.deliveries = 0
        """Messages received on the hub's links, refused ones included."""
        self.created_ms = int(time.time() * 1000)
        self.last_sequence = last_sequence
        self.session_window = session_window
        """Transfers a client may send on a session before a flow opens it again (half of it)."""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def connection_string(self) -> str:
        return (
            f"Endpoint=sb://127.0.0.1:{self.port};SharedAccessKeyName=devhost;"
            f"SharedAccessKey=devhost;EntityPath={self.hub_name};UseDevelopmentEmulator=true"
        )

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await _Connection(self, reader, writer).run()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("AMQP connection failed")
        finally:
            self._connections.discard(task)
            writer.close()

    def serves(self, address: str, client_receives: bool) -> bool:
        """Links it has: replies from $cbs and $management; sends to those, the hub and its
        partitions (there is no receive side: the consumers read the in-process hub)."""
        if address in NODES:
            return True
        hub, _, pid = address.partition("/Partitions/")
        return (
            not client_receives and hub == self.hub_name and (not pid or pid in self.partition_ids)
        )

    def node_properties(self, request: dict[bytes, Any]) -> dict[str, Any]:
        """$management READ of com.microsoft:eventhub or com.microsoft:partition."""
        if request.get(b"type") == b"com.microsoft:partition":
            pid = _text(request.get(b"partition"))
            last = self.last_sequence(pid)
            return {
                "name": self.hub_name,
                "partition": pid,
                "begin_sequence_number": _long(0),
                "last_enqueued_sequence_number": _long(last),
                "last_enqueued_offset": str(max(last, 0)),
                "last_enqueued_time_utc": _timestamp(int(time.time() * 1000)),
                "is_partition_empty": last < 0,
            }
        return {
            "name": self.hub_name,
            "created_at": _timestamp(self.created_ms),
            "partition_ids": {TYPE: AMQPTypes.array, VALUE: self.partition_ids},
        }


@dataclass
class _Session:
    outgoing: int = 0
    """Our next transfer id on the session (replies on $cbs and $management)."""
    unflowed: int = 0
    """Transfers settled since the last flow that reopened the client's window."""


class _Connection:
    def __init__(
        self, endpoint: AmqpEndpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.endpoint = endpoint
        self.reader = reader
        self.writer = writer
        self.links: dict[tuple[int, int], Link] = {}
        self.sessions: dict[int, _Session] = {}
        self.max_frame = endpoint.max_frame_size
        self.next_handle = 0

    def send(self, channel: int, frame: Any, frame_type: bytes = b"\x00") -> None:
        header, body = encode_frame(frame, frame_type=frame_type)
        self.writer.write(header + struct.pack(">H", channel) + (body or b""))

    async def frame(self) -> tuple[int, int, list[Any]] | None:
        head = await self.reader.readexactly(8)
        size, doff, channel = struct.unpack(">IBxH", head)
        rest = await self.reader.readexactly(size - 8)
        body = memoryview(rest)[doff * 4 - 8 :]
        if not body:
            return None
        code, fields = decode_frame(body)
        return channel, code, fields

    async def run(self) -> None:
        header = await self.reader.readexactly(8)
        if header == SASL_HEADER_FRAME:
            self.writer.write(SASL_HEADER_FRAME)
            self.send(0, pf.SASLMechanism(sasl_server_mechanisms=[b"ANONYMOUS"]), b"\x01")
            while (got := await self.frame()) is None or got[1] != SASL_INIT:
                pass
            self.send(0, pf.SASLOutcome(code=0, additional_data=None), b"\x01")
            header = await self.reader.readexactly(8)
        if header != HEADER_FRAME:
            raise ConnectionError(f"not an AMQP 1.0 header: {header!r}")
        self.writer.write(HEADER_FRAME)
        while True:
            got = await self.frame()
            if got is None:
                continue
            channel, code, fields = got
            if code == CLOSE:
                self.send(0, pf.CloseFrame(error=None))
                await self.writer.drain()
                return
            await self.handle(channel, code, fields)
            await self.writer.drain()

    async def handle(self, channel: int, code: int, f: list[Any]) -> None:
        if code == OPEN:
            self.max_frame = min(self.endpoint.max_frame_size, f[2] or self.max_frame)
            self.send(0, pf.OpenFrame("devhost", None, self.max_frame, 65535, None, *[None] * 5))
        elif code == BEGIN:
            window = self.endpoint.session_window
            self.sessions[channel] = _Session()
            self.send(channel, pf.BeginFrame(channel, 0, window, window, 255, None, None, None))
        elif code == ATTACH:
            self.attach(channel, f)
        elif code == TRANSFER:
            await self.transfer(channel, f)
        elif code == DETACH:
            link = self.links.pop((channel, f[0]), None)
            if link is not None and not link.refused:
                self.send(channel, pf.DetachFrame(link.handle, True, None))
        elif code == END:
            self.links = {k: v for k, v in self.links.items() if k[0] != channel}
            self.sessions.pop(channel, None)
            self.send(channel, pf.EndFrame(None))

    def attach(self, channel: int, f: list[Any]) -> None:
        name, handle, client_receives = _text(f[0]), f[1], bool(f[2])
        source, target = f[5] or [None], f[6] or [None]
        address = _text(source[0] if client_receives else target[0])
        address = address.split("://", 1)[-1].split("/", 1)[-1] if "://" in address else address
        link = Link(name, self.next_handle, client_receives, address)
        self.next_handle += 1
        self.links[(channel, handle)] = link
        attach = pf.AttachFrame(
            name,
            link.handle,
            not client_receives,
            f[3],
            f[4],
            Source(address=_text(source[0])),
            Target(address=_text(target[0])),
            None,
            None,
            0 if client_receives else None,
            self.endpoint.max_message_size,
            None,
            None,
            None,
        )
        self.send(channel, attach)
        if not self.endpoint.serves(address, client_receives):
            link.refused = True
            error = AMQPError(NOT_FOUND, f"the dev host has no entity {address!r} to attach to")
            self.send(channel, pf.DetachFrame(link.handle, True, error))
            return
        window = self.endpoint.session_window
        if not client_receives:
            self.send(
                channel,
                pf.FlowFrame(0, window, 0, window, link.handle, f[9] or 0, LINK_CREDIT, None, None),
            )

    async def transfer(self, channel: int, f: list[Any]) -> None:
        link = self.links[(channel, f[0])]
        if f[1] is not None and not link.delivery:
            link.delivery_id, link.message_format = f[1], f[3] or 0
        link.delivery += f[-1]
        if f[5]:  # more frames follow
            return
        payload, link.delivery = bytes(link.delivery), bytearray()
        if link.refused:  # sent before the client read the detach
            self.settle(channel, link, Rejected(AMQPError(NOT_FOUND, "no such entity")))
            return
        message = decode_payload(memoryview(payload))
        if link.address in NODES:
            self.settle(channel, link, Accepted())
            self.reply(channel, link.address, message)
            return
        self.endpoint.deliveries += 1
        if (refusal := self.endpoint.refusal) is not None:
            if not refusal.hang:
                self.settle(
                    channel, link, Rejected(AMQPError(refusal.condition, refusal.description))
                )
            return
        try:
            await self.endpoint.deliver(
                _events(message, link.message_format), _partition(link.address)
            )
        except Unavailable as exc:
            self.settle(channel, link, Rejected(AMQPError(SERVER_BUSY, exc.message)))
            return
        except Exception as exc:
            log.exception("the hub could not take a delivery")
            self.settle(channel, link, Rejected(AMQPError(INTERNAL_ERROR, repr(exc))))
            return
        self.settle(channel, link, Accepted())

    def settle(self, channel: int, link: Link, state: Any) -> None:
        self.send(
            channel,
            pf.DispositionFrame(True, link.delivery_id, link.delivery_id, True, state, None),
        )
        session = self.sessions[channel]
        session.unflowed += 1
        if session.unflowed * 2 >= self.endpoint.session_window:
            session.unflowed = 0
            window = self.endpoint.session_window
            flow = pf.FlowFrame(link.delivery_id + 1, window, session.outgoing, window, None)
            self.send(channel, flow)

    def reply(self, channel: int, node: str, request: Message) -> None:
        props = request.application_properties or {}
        value, status = None, {"status-code": 200, "status-description": "OK"}
        if node == "$management" and _text(props.get(b"name")) != self.endpoint.hub_name:
            status = {"status-code": 404, "status-description": "no such event hub"}
        elif node == "$management":
            value = self.endpoint.node_properties(props)
        answer = Message(
            properties=Properties(correlation_id=request.properties.message_id),
            application_properties=status,
            value=value,
        )
        link = next(
            (
                v
                for (c, _), v in self.links.items()
                if c == channel and v.role_sender and v.address == node
            ),
            None,
        )
        if link is None:
            return
        body = bytes(encode_payload(bytearray(), answer))
        session = self.sessions[channel]
        tag = struct.pack(">I", session.outgoing)
        self.send(
            channel,
            pf.TransferFrame(link.handle, session.outgoing, tag, 0, True, False, payload=body),
        )
        session.outgoing += 1


def _partition(address: str) -> str | None:
    _, sep, pid = address.partition("/Partitions/")
    return pid if sep else None


def _events(message: Message, message_format: int) -> list[tuple[str, bytes]]:
    """(partition key, body) of each event in a single or batched message."""
    outer_key = (message.message_annotations or {}).get(PARTITION_KEY)
    inner = message
    if message_format == BATCH_FORMAT:
        parts = [decode_payload(memoryview(d)) for d in message.data or []]
    else:
        parts = [inner]
    events = []
    for part in parts:
        key = (part.message_annotations or {}).get(PARTITION_KEY, outer_key)
        events.append((_text(key), b"".join(part.data or [])))
    return events
