"""What `/v1` means below HTTP: relaying upstream answers; the pure chat/responses translation."""
