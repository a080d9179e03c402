"""The dev host honours each SignalR output binding's `hubName`: a message sent to another hub
never reaches the clients of the hub it serves, and every binding of the app names the hub
through the SIGNALR_HUB setting."""

from __future__ import annotations

import asyncio
import json

import orjson
import pytest

from devhost.host import DevHost
from devhost.registry import Binding
from tests.stream.conftest import HubFactory, ListenerFactory


def _output(hub_name: str) -> Binding:
    return Binding(
        type="signalR",
        name="signalr",
        direction="out",
        props={"hubName": hub_name, "connectionStringSetting": "AzureSignalRConnectionString"},
    )


def _message(record_id: str) -> str:
    return orjson.dumps([{"target": "logs", "arguments": [[{"id": record_id}]]}]).decode()


async def test_a_message_to_another_hub_does_not_reach_this_hubs_clients(
    hub_server: HubFactory, listen: ListenerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNALR_HUB", "Logs")
    server = await hub_server()
    host = DevHost()
    host.signalr = server.hub
    info = server.hub.connection_info("reader-1")
    listener = await listen(info["url"], info["accessToken"])

    await host._deliver_output(_output("alerts"), _message("elsewhere"))
    await host._deliver_output(_output("%SIGNALR_HUB%"), _message("here"))
    await host._deliver_output(_output("logs"), _message("literal"))

    received = await listener.wait_for("logs", 2)
    await asyncio.sleep(0.1)
    assert received == [[[{"id": "here"}]], [[{"id": "literal"}]]]


def test_every_signalr_binding_of_the_app_uses_the_hub_setting() -> None:
    import function_app
    from devhost.registry import indexed

    hubs = [
        (fn.get_function_name(), binding["hubName"])
        for fn in indexed(function_app.app)
        for binding in json.loads(fn.get_function_json())["bindings"]
        if binding["type"] in ("signalR", "signalRConnectionInfo")
    ]
    assert len(hubs) >= 6
    assert {hub for _, hub in hubs} == {"%SIGNALR_HUB%"}, hubs
