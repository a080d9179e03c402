"""The dev host's SignalR hub against pysignalr and raw WebSockets: negotiate, the JSON hub
protocol, groups, tokens and the two timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import aiohttp
import orjson
import pytest

from devhost import signalr_token as tokens
from tests.stream.conftest import ACCESS_KEY, HubFactory, ListenerFactory

SEP = "\x1e"


async def raw_connect(
    http: aiohttp.ClientSession, url: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    ws_url = url.replace("http://", "ws://") + f"&access_token={token}"
    return await http.ws_connect(ws_url)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def frames(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> list[dict]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return [orjson.loads(part) for part in msg.data.split(SEP) if part]


async def test_pysignalr_receives_only_its_groups_messages(
    hub_server: HubFactory, listen: ListenerFactory
) -> None:
    server = await hub_server()
    hub = server.hub
    await hub.apply({"userId": "reader-1", "groupName": "readers", "action": "add"})
    info = hub.connection_info("reader-1")
    listener = await listen(info["url"], info["accessToken"])

    await hub.apply({"target": "logs", "arguments": [[{"id": "a"}]], "groupName": "admins"})
    await hub.apply({"target": "logs", "arguments": [[{"id": "r"}]], "groupName": "readers"})
    await hub.apply({"target": "logs", "arguments": [[{"id": "all"}]]})

    received = await listener.wait_for("logs", 2)
    await asyncio.sleep(0.1)
    assert received == [[[{"id": "r"}]], [[{"id": "all"}]]]


async def test_group_membership_by_user_outlives_connections(
    hub_server: HubFactory, listen: ListenerFactory
) -> None:
    server = await hub_server()
    hub = server.hub
    info = hub.connection_info("admin-1")
    first = await listen(info["url"], info["accessToken"])
    await hub.apply({"userId": "admin-1", "groupName": "admins", "action": "add"})
    second = await listen(info["url"], info["accessToken"])

    await hub.apply({"target": "logs", "arguments": [1], "groupName": "admins"})
    assert await first.wait_for("logs") == [[1]]
    assert await second.wait_for("logs") == [[1]]

    await hub.apply({"userId": "admin-1", "groupName": "admins", "action": "remove"})
    await hub.apply({"target": "logs", "arguments": [2], "groupName": "admins"})
    await hub.apply({"target": "logs", "arguments": [3], "userId": "admin-1"})
    assert await first.wait_for("logs", 2) == [[1], [3]]
    assert hub.groups_of_user("admin-1") == frozenset()


async def test_connection_group_action_and_broadcast(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server()
    info = server.hub.connection_info("u")
    negotiate = await http.post(
        info["url"].replace("/?hub", "/negotiate?hub") + "&negotiateVersion=1",
        headers={"Authorization": f"Bearer {info['accessToken']}"},
    )
    assert negotiate.status == 200
    body = await negotiate.json()
    assert body["negotiateVersion"] == 1
    assert body["connectionToken"] != body["connectionId"]
    assert body["availableTransports"][0]["transport"] == "WebSockets"
    ws = await raw_connect(
        http, info["url"] + f"&id={body['connectionToken']}", info["accessToken"]
    )
    await ws.send_str('{"protocol":"json","version":1}' + SEP)
    assert await frames(ws) == [{}]
    await server.hub.apply(
        {"connectionId": body["connectionId"], "groupName": "g", "action": "add"}
    )
    await server.hub.apply({"target": "t", "arguments": ["x"], "groupName": "g"})
    assert await frames(ws) == [{"type": 1, "target": "t", "arguments": ["x"]}]
    await ws.close()


async def test_negotiate_and_connect_check_the_bearer_token(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server()
    url = server.hub.client_url
    negotiate_url = url.replace("/?hub", "/negotiate?hub")
    forged = tokens.issue("another-key", url, "u")
    other_audience = tokens.issue(ACCESS_KEY, "http://elsewhere/client/?hub=logs", "u")
    expired = tokens.issue(ACCESS_KEY, url, "u", lifetime_seconds=-120)
    for headers in (
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {other_audience}"},
        {"Authorization": f"Bearer {expired}"},
    ):
        response = await http.post(negotiate_url, headers=headers)
        assert response.status == 401, headers
    for token in ("", forged, expired):
        with pytest.raises(aiohttp.WSServerHandshakeError) as failure:
            await raw_connect(http, url, token)
        assert failure.value.status == 401
    good = server.hub.connection_info("u")["accessToken"]
    wrong_hub = negotiate_url.replace("hub=logs", "hub=other")
    response = await http.post(wrong_hub, headers={"Authorization": f"Bearer {good}"})
    assert response.status == 404


async def test_connection_token_is_bound_to_the_negotiating_user(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server()
    alice = server.hub.connection_info("alice")
    mallory = server.hub.connection_info("mallory")
    negotiate = await http.post(
        alice["url"].replace("/?hub", "/negotiate?hub") + "&negotiateVersion=1",
        headers={"Authorization": f"Bearer {alice['accessToken']}"},
    )
    connection_token = (await negotiate.json())["connectionToken"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as failure:
        await raw_connect(http, alice["url"] + f"&id={connection_token}", mallory["accessToken"])
    assert failure.value.status == 401


async def test_handshake_then_keepalive_pings_and_client_close(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server(keepalive_interval=0.2)
    info = server.hub.connection_info("u")
    ws = await raw_connect(http, info["url"], info["accessToken"])
    await ws.send_str('{"protocol":"json","version":1}' + SEP)
    assert await frames(ws) == [{}]
    assert await frames(ws) == [{"type": 6}]
    await ws.send_str('{"type":1,"invocationId":"7","target":"Echo","arguments":[]}' + SEP)
    reply = await frames(ws)
    assert reply[0]["type"] == 3 and reply[0]["invocationId"] == "7" and reply[0]["error"]
    await ws.send_str('{"type":7}' + SEP)
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_handshake_split_across_frames_and_unknown_protocol(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server()
    info = server.hub.connection_info("u")
    ws = await raw_connect(http, info["url"], info["accessToken"])
    await ws.send_str('{"protocol":"js')
    await ws.send_str('on","version":1}' + SEP + '{"type":6}' + SEP)
    assert await frames(ws) == [{}]
    await ws.close()

    ws = await raw_connect(http, info["url"], info["accessToken"])
    await ws.send_str('{"protocol":"messagepack","version":1}' + SEP)
    (reply,) = await frames(ws)
    assert "messagepack" in reply["error"]
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_client_that_never_completes_the_handshake_is_dropped(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server(handshake_timeout=0.3)
    info = server.hub.connection_info("u")
    ws = await raw_connect(http, info["url"], info["accessToken"])
    msg = await ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert server.hub.connection_count == 0


async def test_client_that_stops_answering_is_dropped(
    hub_server: HubFactory, http: aiohttp.ClientSession
) -> None:
    server = await hub_server(client_timeout=0.5, keepalive_interval=0.2)
    info = server.hub.connection_info("u")
    ws = await raw_connect(http, info["url"], info["accessToken"])
    await ws.send_str('{"protocol":"json","version":1}' + SEP)
    assert await frames(ws) == [{}]
    assert server.hub.connection_count == 1
    seen: list[dict] = []
    with pytest.raises(AssertionError):
        while True:
            seen.extend(await frames(ws))
    close = [m for m in seen if m.get("type") == 7]
    assert close and "timeout" in close[0]["error"].lower()
    await eventually(lambda: server.hub.connection_count == 0)


async def test_answering_client_is_kept(hub_server: HubFactory, listen: ListenerFactory) -> None:
    server = await hub_server(client_timeout=1.0, keepalive_interval=0.2)
    info = server.hub.connection_info("u")
    listener = await listen(info["url"], info["accessToken"], signalr_ping_interval=0.2)
    await asyncio.sleep(2.5)
    assert server.hub.connection_count == 1
    await server.hub.apply({"target": "logs", "arguments": ["still here"]})
    assert await listener.wait_for("logs") == [["still here"]]


async def test_apply_rejects_what_is_neither_message_nor_group_action(
    hub_server: HubFactory,
) -> None:
    hub = (await hub_server()).hub
    for bad in (
        {"arguments": []},
        {"target": "", "arguments": []},
        {"target": "t", "arguments": "x"},
        {"userId": "u", "groupName": "g", "action": "promote"},
        {"userId": "u", "action": "add"},
        {"groupName": "g", "action": "add"},
    ):
        with pytest.raises(ValueError):
            await hub.apply(bad)


async def test_a_client_that_falls_behind_is_dropped_without_holding_up_others(
    hub_server: HubFactory, http: aiohttp.ClientSession, listen: ListenerFactory
) -> None:
    server = await hub_server(max_queued_chars=1024 * 1024)
    hub = server.hub
    fast_info = hub.connection_info("fast")
    fast = await listen(fast_info["url"], fast_info["accessToken"])
    slow_info = hub.connection_info("slow")
    slow = await raw_connect(http, slow_info["url"], slow_info["accessToken"])
    await slow.send_str('{"protocol":"json","version":1}' + SEP)
    assert await frames(slow) == [{}]

    payload = "x" * 256 * 1024
    sent = 0
    while hub.clients_dropped_slow == 0 and sent < 400:
        await hub.apply({"target": "logs", "arguments": [sent, payload]})
        sent += 1
        await asyncio.sleep(0.005)
    assert hub.clients_dropped_slow == 1
    received = await fast.wait_for("logs", sent, timeout=20)
    assert [arguments[0] for arguments in received] == list(range(sent))

    seen: list[dict] = []
    with contextlib.suppress(AssertionError):
        while not any(m.get("type") == 7 for m in seen):
            seen.extend(await frames(slow))
    close = [m for m in seen if m.get("type") == 7]
    assert close == [{"type": 7, "error": "Client fell too far behind.", "allowReconnect": True}]
    await eventually(lambda: hub.connection_count == 1)
