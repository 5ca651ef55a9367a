"""Chat Completions ⇄ Responses translation and SSE framing: pure functions, no I/O.

Requests go through `chat_to_responses`, answers through `responses_to_chat` (streamed) or
`response_aggregate` (whole); `sse` frames both. What each parameter and event becomes:
docs/proxy.md.
"""
