"""`salesbot check` as the operator runs it: a real subprocess, a real environment."""

import os
import subprocess
import sys

from tests.entrypoints.test_settings import SEED


def run_check(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SEED}
    return subprocess.run(
        [sys.executable, "-m", "salesbot.entrypoints.cli", "check"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_passes_with_the_seed_environment(tmp_path):
    result = run_check(SEED, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout
    for secret in (SEED["BOT_TOKEN"], SEED["API_HASH"], SEED["OPENROUTER_API_KEY"], "pass@"):
        assert secret not in result.stdout + result.stderr


def test_check_prints_both_problems_and_fails(tmp_path):
    env = {k: v for k, v in SEED.items() if k != "BOT_TOKEN"}
    result = run_check({**env, "API_ID": "abc"}, tmp_path)
    assert result.returncode != 0
    assert 'API_ID: expected an integer, got "abc"' in result.stderr
    assert "BOT_TOKEN: is required but not set" in result.stderr


def test_every_command_has_help(tmp_path):
    from salesbot.entrypoints.cli import COMMANDS

    for name in COMMANDS:
        result = subprocess.run(
            [sys.executable, "-m", "salesbot.entrypoints.cli", name, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert name in result.stdout
