"""The dev host skips parsing a SignalR output only when it cannot change anything."""

from __future__ import annotations

from types import SimpleNamespace

import orjson

from devhost.host import _only_messages_for_nobody

MESSAGES = orjson.dumps(
    [{"target": "logs", "arguments": [[{"message": "a"}]], "groupName": "readers"}]
).decode()
ACTIONS = orjson.dumps([{"userId": "u", "groupName": "readers", "action": "add"}]).decode()


def test_messages_for_a_hub_without_clients_are_skipped() -> None:
    nobody = SimpleNamespace(connection_count=0)
    assert _only_messages_for_nobody(MESSAGES, nobody)
    assert _only_messages_for_nobody(MESSAGES.encode(), nobody)


def test_group_actions_and_connected_clients_are_always_delivered() -> None:
    nobody = SimpleNamespace(connection_count=0)
    someone = SimpleNamespace(connection_count=1)
    assert not _only_messages_for_nobody(ACTIONS, nobody)
    assert not _only_messages_for_nobody(ACTIONS.encode(), nobody)
    assert not _only_messages_for_nobody(MESSAGES, someone)
    mixed = orjson.dumps(orjson.loads(MESSAGES) + orjson.loads(ACTIONS)).decode()
    assert not _only_messages_for_nobody(mixed, nobody)
