"""Cross-site request refusal for requests a browser authenticates by cookie.

A cookie rides along with any request the browser makes to our host (a form post or a `fetch`
from another site); a bearer header never does. So a cookie request must prove it comes from our
pages (or a listed origin) by the headers a page cannot forge: `Sec-Fetch-Site` and `Origin`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["STATE_CHANGING", "is_same_origin_or_allowed"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SAME_ORIGIN = "same-origin"


def is_same_origin_or_allowed(
    headers: Mapping[str, str], scheme: str, allowed: frozenset[str]
) -> bool:
    """Whether a request may act on a cookie session.

    - `Sec-Fetch-Site`, when sent, must be `same-origin`, unless `Origin` is in `allowed`
      (a listed sibling such as `https://app.example.com` calling `https://api.example.com`).
    - `Origin`, when sent, must be ours (`scheme://Host`, or `https://Host` when TLS ends at a
      proxy in front of us) or in `allowed`; the literal `null` (sandboxed frames, some
      redirects) never passes.
    - Neither header (a non-browser client, or a browser too old for Fetch Metadata, where the
      cookie's `SameSite=Strict` already keeps it off cross-site requests): allowed.
    """
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site")
    if origin is not None and origin in allowed:
        return True
    if site is not None and site.strip().lower() != _SAME_ORIGIN:
        return False
    if origin is None:
        return True
    host = headers.get("host", "").strip().lower()
    if not host:
        return False
    origin = origin.strip().lower()
    return origin in (f"{scheme.lower()}://{host}", f"https://{host}")
