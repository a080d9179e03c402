"""Optional integrations; each imports only what it needs."""
