"""Grok: xAI's OIDC device sign-in and its OpenAI-compatible API."""
