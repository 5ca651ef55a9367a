"""Small helpers shared by every layer: clock, ids, keyed locks, logging, base64, loop checks."""
