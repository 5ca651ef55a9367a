"""A short, human label for a session from the browser's `User-Agent`: "Firefox on Linux".

Only the browser family and the operating system, never the raw header (which fingerprints), so
a "your devices" page can tell the phone from the laptop.
"""

from __future__ import annotations

__all__ = ["device_label"]

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Windows", "Windows"),
    ("Linux", "Linux"),
)


def device_label(user_agent: str | None) -> str | None:
    """ "<browser> on <system>", either part alone when only one is known, else `None`."""
    if not user_agent:
        return None
    ua = user_agent[:512]
    browser = next((name for mark, name in _BROWSERS if mark in ua), None)
    system = next((name for mark, name in _SYSTEMS if mark in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system
