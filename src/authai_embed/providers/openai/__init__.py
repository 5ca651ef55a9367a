"""ChatGPT: the Codex CLI's device sign-in and the Codex Responses backend."""
