"""The emulated Codex backend: request validation, the model catalog, its errors and limits."""
