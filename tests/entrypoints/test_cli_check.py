"""`salesbot check` as the operator runs it: a real subprocess, a real environment."""

import os
import subprocess
import sys

from tests.entrypoints.test_check_rules import GOOD
from tests.entrypoints.test_settings import SEED


def run_check(
    env: dict[str, str], tmp_path, *options: str
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SEED}
    return subprocess.run(
        [sys.executable, "-m", "salesbot.entrypoints.cli", "check", *options],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_passes_with_real_looking_values(tmp_path):
    env = {**SEED, **GOOD, "LOG_FILE": str(tmp_path / "log" / "salesbot.log")}
    result = run_check({**env, "DATA_DIR": str(tmp_path / "data")}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Configuration OK" in result.stdout
    for secret in (GOOD["BOT_TOKEN"], GOOD["API_HASH"], GOOD["OPENROUTER_API_KEY"], "pass@"):
        assert secret not in result.stdout + result.stderr


def test_check_lists_every_problem_of_a_config_that_cannot_work(tmp_path):
    (tmp_path / "a-file").write_text("")  # no folder can be made under it, even by root
    env = {
        **SEED,
        "API_HASH": "xyz",
        "BOT_TOKEN": "notatoken",
        "OPENROUTER_API_KEY": "sk-or-v1-replace-me",
        "SALES_PROMPT_FILE": str(tmp_path / "missing.md"),
        "LOG_FILE": str(tmp_path / "a-file" / "salesbot.log"),
        "WORKING_HOURS": "20:00-20:00",
        "DATA_DIR": str(tmp_path / "data"),
    }
    result = run_check(env, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "The configuration has problems:"
    named = [line.strip().split(":", 1)[0] for line in lines[1:]]
    assert sorted(named) == sorted(
        [
            "WORKING_HOURS", "API_ID", "API_HASH", "BOT_TOKEN", "ADMIN_TELEGRAM_ID",
            "OPENROUTER_API_KEY", "SALES_PROMPT_FILE", "LOG_FILE",
        ]
    ), result.stderr
    assert "notatoken" not in result.stderr and "xyz" not in result.stderr


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


def test_run_with_a_log_file_it_cannot_write_says_so_in_one_line_and_is_not_restarted(tmp_path):
    """Measured: a bad LOG_FILE crashed `salesbot run` with a 23-line traceback."""
    (tmp_path / "a-file").write_text("")  # no folder can be made under it, even by root
    env = {
        **SEED,
        **GOOD,
        "LOG_FILE": str(tmp_path / "a-file" / "salesbot.log"),
        "DATA_DIR": str(tmp_path / "data"),
    }
    clean = {k: v for k, v in os.environ.items() if k not in SEED}
    result = subprocess.run(
        [sys.executable, "-m", "salesbot.entrypoints.cli", "run"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2  # the unit's RestartPreventExitStatus
    header, problem = result.stderr.splitlines()  # the OS's reason in brackets
    assert header == "The configuration has problems:"
    assert problem.startswith(f"  LOG_FILE: cannot write {tmp_path / 'a-file' / 'salesbot.log'} (")
    assert problem.endswith("); expected a file in a folder this user may write, or no LOG_FILE")
    assert "Traceback" not in result.stdout + result.stderr
