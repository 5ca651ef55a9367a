"""GitHub Copilot: GitHub's device sign-in and the Copilot API."""
