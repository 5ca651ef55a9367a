"""Cross-site request refusal for requests a browser authenticates by cookie.

A cookie rides along with any request the browser makes to our host (a form post or a `fetch`
from another site); a bearer header never does. So a cookie request must prove it comes from our
pages (or a listed origin) by the headers a page cannot forge: `Sec-Fetch-Site` and `Origin`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["STATE_CHANGING", "HeaderSource", "is_same_origin_or_allowed", "read_headers"]

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SAME_ORIGIN = "same-origin"
_CHECKED = ("origin", "sec-fetch-site", "host")

HeaderSource = Mapping[Any, Any] | Iterable[tuple[bytes, bytes]]
"""What a host has at hand: an ASGI header list of `(bytes, bytes)`, a dict with `str` or
`bytes` names in any case, Starlette's `Headers` or Django's `request.headers`."""


class _Ambiguous(Exception):
    """A header the check reads was sent twice: the request cannot be read one way."""


def _text(value: object, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    raise TypeError(f"header {what} must be str or bytes, not {type(value).__name__}")


def read_headers(headers: HeaderSource) -> dict[str, str]:
    """The headers the check reads (`origin`, `sec-fetch-site`, `host`), lower-case names.

    Raises `TypeError` for anything but the shapes of `HeaderSource`, and `_Ambiguous` when one
    of those headers comes twice with different values."""
    if isinstance(headers, str | bytes | bytearray) or headers is None:
        raise TypeError(f"headers must be a mapping or an ASGI header list, not {headers!r:.40}")
    if isinstance(headers, Mapping):
        # Starlette's Headers lists repeated headers in `items()`; a dict has one of each.
        pairs: Iterable[Any] = headers.items()
    elif isinstance(headers, Iterable):
        pairs = headers
    else:
        raise TypeError(
            f"headers must be a mapping or an ASGI header list, not {type(headers).__name__}"
        )
    found: dict[str, str] = {}
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise TypeError("an ASGI header list holds (name, value) pairs of bytes")
        name = _text(pair[0], "names").lower()
        if name in _CHECKED:
            value = _text(pair[1], "values")
            if found.get(name, value) != value:
                raise _Ambiguous(name)
            found[name] = value
    return found


def is_same_origin_or_allowed(headers: HeaderSource, scheme: str, allowed: frozenset[str]) -> bool:
    """Whether a request may act on a cookie session.

    - `Sec-Fetch-Site`, when sent, must be `same-origin`, unless `Origin` is in `allowed`
      (a listed sibling such as `https://app.example.com` calling `https://api.example.com`).
    - `Origin`, when sent, must be ours (`scheme://Host`, or `https://Host` when TLS ends at a
      proxy in front of us) or in `allowed`; the literal `null` (sandboxed frames, some
      redirects) never passes.
    - Neither header (a non-browser client, or a browser too old for Fetch Metadata, where the
      cookie's `SameSite=Strict` already keeps it off cross-site requests): allowed.

    `headers` in any shape of `HeaderSource` (names in any case); another shape raises
    `TypeError`. One of the three headers sent twice, differently, is refused.
    """
    try:
        read = read_headers(headers)
    except _Ambiguous:
        return False
    origin = read.get("origin")
    site = read.get("sec-fetch-site")
    if origin is not None and origin in allowed:
        return True
    if site is not None and site.strip().lower() != _SAME_ORIGIN:
        return False
    if origin is None:
        return True
    host = read.get("host", "").strip().lower()
    if not host:
        return False
    origin = origin.strip().lower()
    return origin in (f"{scheme.lower()}://{host}", f"https://{host}")
