from __future__ import annotations

import subprocess
import sys

import pytest

from authai_embed import Secrets
from authai_embed.cli import main


def test_secrets_prints_usable_environment_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["secrets", "--format", "env"]) == 0
    out = capsys.readouterr().out
    env = dict(line.split("=", 1) for line in out.strip().splitlines())
    secrets = Secrets.from_env(env)
    assert len(secrets.signing_key.secret) == 32
    assert secrets.identity_key != secrets.signing_key.secret


def test_the_installed_command_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "authai_embed.cli", "secrets"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.count("export AUTH_AI_") == 2


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
