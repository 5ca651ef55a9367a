"""Chat Completions ⇄ Responses translation and SSE framing: pure functions, no I/O.

- `sse`: incremental SSE decoder for the provider's bytes; `data:` / `event:` frame encoders.
- `chat_to_responses`: a Chat Completions body → the Codex Responses request (`ChatRequest`),
  with `chat_messages` (messages → instructions and input items) and `chat_options` (tools,
  tool choice, output format, reasoning) doing the parts, and `_checks` the validation.
- `responses_to_chat`: Responses events → Chat Completions chunks (`ChatStreamTranslator`) or one
  completion (`aggregate_chat_completion`, `_async` over an async iterable), and the final
  Responses object (`aggregate_response`, likewise); the aggregators live in
  `response_aggregate`, `response_events` holds the event logic streaming and aggregation
  share, `response_terms` the usage and failure mapping.
"""
