"""The emulated ChatGPT auth server: accounts, the device flow, OAuth tokens, the code page."""
