"""The upstream emulator: ASGI apps that imitate the providers' servers, for tests and the demo."""
