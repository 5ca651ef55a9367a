"""The emulated GitHub (device flow, `/user`, the Copilot token) and the Copilot API."""
