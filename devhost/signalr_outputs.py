"""When a function's serialised `signalR` output can be left undelivered."""

from __future__ import annotations


def reaches_nobody(value: str | bytes, connections: int) -> bool:
    """True when the output cannot change the hub: no client is connected, so its messages
    reach nobody (as the service drops them), and no item is a group action (an action object
    has the key "action", which JSON encoders write verbatim). The live stream's output, a
    megabyte per batch, is then neither parsed nor handed back from a worker."""
    if connections:
        return False
    return ('"action"' if isinstance(value, str) else b'"action"') not in value
