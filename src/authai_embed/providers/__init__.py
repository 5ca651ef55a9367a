"""Sign-in providers behind the `Provider` protocol."""
