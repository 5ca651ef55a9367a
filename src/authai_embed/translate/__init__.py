"""Chat Completions ⇄ Responses translation and SSE framing."""
