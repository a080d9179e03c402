"""Fixtures of the end-to-end tests: the dev host comes from tests/conftest.py; the SignalR
client fixture from the stream tests."""

from tests.stream.conftest import listen  # noqa: F401  (the SignalR client fixture)
