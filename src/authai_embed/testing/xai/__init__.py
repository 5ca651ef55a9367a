"""The emulated xAI: OIDC discovery, the device flow, the token endpoint, the model APIs."""
