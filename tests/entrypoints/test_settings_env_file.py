"""One reading of the env file: every command, `check` and the service's `run` alike, reads
it through `load_settings(env_file=args.env_file)`, and systemd does not read it at all
(tests/deploy/test_service_unit.py). What that one reader makes of the lines systemd's
EnvironmentFile= read differently is pinned here, so `check` judges what `run` will use.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from salesbot.entrypoints.cli import COMMANDS
from salesbot.entrypoints.settings import RUN_REQUIRED, Settings, load_settings
from tests.entrypoints.test_settings import SEED

COMMANDS_DIR = Path(__file__).resolve().parents[2] / "src" / "salesbot" / "entrypoints" / "commands"


@pytest.fixture
def env_file(monkeypatch, tmp_path):
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "salesbot.env"

    def write(*lines: str) -> Path:
        seed = [f"{k}={v}" for k, v in SEED.items()]
        path.write_text("\n".join([*seed, *lines]) + "\n", encoding="utf-8")
        return path

    return write


@pytest.mark.parametrize("module", sorted({module for module, _ in COMMANDS.values()}))
def test_every_command_reads_the_file_the_cli_was_given(module):
    source = (COMMANDS_DIR / f"{module}.py").read_text()
    calls = re.findall(r"load_settings\(([^)]*)\)", source)
    assert calls, f"commands/{module}.py reads no settings"
    for arguments in calls:
        assert "env_file=args.env_file" in arguments, arguments


def test_the_measured_line_keeps_its_hours_and_drops_the_comment(env_file):
    """systemd kept `  # office` in the value and the service refused what `check` passed."""
    path = env_file('WORKING_HOURS="10:00-20:00"  # office', "TIMEZONE=UTC  # the office's")
    settings = load_settings(RUN_REQUIRED, env_file=path)
    assert str(settings.WORKING_HOURS) == "10:00-20:00"
    assert settings.TIMEZONE == "UTC"


def test_quotes_export_and_escapes_read_as_the_reader_documents(env_file):
    path = env_file(
        "export OPENROUTER_MODEL=openai/gpt-4o",
        "OPENROUTER_FALLBACK_MODELS='a/b,c/d'",
        'TRANSCRIBE_MODEL="whisper # large"',
    )
    settings = load_settings(RUN_REQUIRED, env_file=path)
    assert settings.OPENROUTER_MODEL == "openai/gpt-4o"
    assert settings.OPENROUTER_FALLBACK_MODELS == ("a/b", "c/d")
    assert settings.TRANSCRIBE_MODEL == "whisper # large"
