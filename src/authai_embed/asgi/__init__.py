"""The pure-ASGI layer: the `AuthAI` app, its routes and the wire shapes of every answer."""
