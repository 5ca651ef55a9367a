"""The emulated model shared by every side: scripted replies, the Responses stream, chat answers."""
