"""Fixtures for the shipper protocol tests: the record tests' settings, callers and clock."""

from tests.records.conftest import NOW, bound_caller, caller, settings

__all__ = ["NOW", "bound_caller", "caller", "settings"]
