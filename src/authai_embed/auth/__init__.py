"""Sessions without HTTP: the vault, the session JWT, open/refresh/revoke, sign-ins."""
