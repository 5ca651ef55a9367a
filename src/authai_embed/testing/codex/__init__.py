"""The emulated Codex backend: request validation, scripted replies, the SSE stream, limits."""
