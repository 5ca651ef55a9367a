"""Usage metering: the per-user usage ledger and quotas, below HTTP (`asgi/` applies them)."""
