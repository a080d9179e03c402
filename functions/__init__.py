"""Thin Azure Functions adapters, one blueprint per concern: decode, call `shared`, encode."""
