"""HTTP transports by direction: in-process inbound (`asgi`), outbound to providers (`upstream`)."""
