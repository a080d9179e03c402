"""The local development host: runs `function_app` on one machine with embedded PostgreSQL,
Azurite, an in-process Event Hub, a SignalR-compatible hub and timers, all discovered from the
app's own function metadata."""
