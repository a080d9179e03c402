"""The dev host leaves a SignalR output undelivered only when it cannot change anything."""

from __future__ import annotations

import orjson

from devhost.signalr_outputs import reaches_nobody

MESSAGES = orjson.dumps(
    [{"target": "logs", "arguments": [[{"message": "a"}]], "groupName": "readers"}]
).decode()
ACTIONS = orjson.dumps([{"userId": "u", "groupName": "readers", "action": "add"}]).decode()


def test_messages_for_a_hub_without_clients_are_skipped() -> None:
    nobody = 0
    assert reaches_nobody(MESSAGES, nobody)
    assert reaches_nobody(MESSAGES.encode(), nobody)


def test_group_actions_and_connected_clients_are_always_delivered() -> None:
    nobody, someone = 0, 1
    assert not reaches_nobody(ACTIONS, nobody)
    assert not reaches_nobody(ACTIONS.encode(), nobody)
    assert not reaches_nobody(MESSAGES, someone)
    mixed = orjson.dumps(orjson.loads(MESSAGES) + orjson.loads(ACTIONS)).decode()
    assert not reaches_nobody(mixed, nobody)
