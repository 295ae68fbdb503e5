"""`salesbot check`'s rules (entrypoints/config_rules.py), one case each, on a configuration
that is otherwise good."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from salesbot.entrypoints import config_rules
from salesbot.entrypoints.commands.check import read_configuration
from salesbot.entrypoints.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]

GOOD = {
    "API_ID": "2040",
    "API_HASH": "b18441a1ff607e10a989891a5462e627",
    "BOT_TOKEN": "7123456789:AAEc_fK3qLm-9pXzR2tYvWbN8sHd4uJkQ0o",
    "ADMIN_TELEGRAM_ID": "328754169",
    "OPENROUTER_API_KEY": "sk-or-v1-" + "0f3c" * 16,
    "DATABASE_URL": "postgresql://user:pass@localhost:5432/sales_bot",
}


def good(tmp_path: Path, **values: str) -> dict[str, str]:
    return {**GOOD, "DATA_DIR": str(tmp_path / "data"), **values}


def problems_of(tmp_path: Path, **values: str) -> list[str]:
    settings = load_settings(env_file=None, **good(tmp_path, **values))
    return config_rules.problems(settings)


def test_a_good_configuration_has_no_problem(tmp_path):
    assert problems_of(tmp_path, LOG_FILE=str(tmp_path / "logs" / "salesbot.log")) == []


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("API_ID", "123456", "API_ID: still the example's placeholder"),
        ("API_ID", "-5", "API_ID: expected a positive integer"),
        ("API_ID", "0", "API_ID: expected a positive integer"),
        ("API_HASH", "0123456789abcdef0123456789abcdef", "API_HASH: still the example's"),
        ("API_HASH", "xyz", "API_HASH: expected 32 hexadecimal characters"),
        ("API_HASH", "B18441A1FF607E10A989891A5462E62", "API_HASH: expected 32 hexadecimal"),
        ("BOT_TOKEN", "123456789:replace-with-your-bot-token", "BOT_TOKEN: still the example's"),
        ("BOT_TOKEN", "notatoken", "BOT_TOKEN: expected the token @BotFather gave"),
        ("BOT_TOKEN", "7123456789:AAEc_fK3qLm-9pXzR2tYvWbN8sHd4uJkQ0", "BOT_TOKEN: expected"),
        ("BOT_TOKEN", "bot:AAEc_fK3qLm-9pXzR2tYvWbN8sHd4uJkQ0o", "BOT_TOKEN: expected"),
        ("OPENROUTER_API_KEY", "sk-or-v1-replace-me", "OPENROUTER_API_KEY: still the example's"),
        ("ADMIN_TELEGRAM_ID", "328754169,111111111", "ADMIN_TELEGRAM_ID: still the example's"),
        (
            "DATABASE_URL",
            "postgresql://sales_bot:change-me@localhost:5432/sales_bot",
            "DATABASE_URL: still the example's placeholder",
        ),
        ("OPENROUTER_API_KEY", "sk-or-v1-abcdef", "OPENROUTER_API_KEY: expected an OpenRouter key"),
        ("OPENROUTER_API_KEY", "sk-" + "a" * 48, "OPENROUTER_API_KEY: expected an OpenRouter key"),
    ],
)
def test_placeholders_and_malformed_secrets_are_named(tmp_path, name, value, expected):
    found = problems_of(tmp_path, **{name: value})
    assert len(found) == 1 and found[0].startswith(expected), found
    if name not in ("API_ID", "ADMIN_TELEGRAM_ID"):
        assert value not in found[0]  # a secret's value is never printed


def test_another_openai_compatible_endpoint_may_have_keys_of_its_own_shape(tmp_path):
    found = problems_of(
        tmp_path, OPENROUTER_API_KEY="local-key", OPENROUTER_BASE_URL="http://127.0.0.1:8000/v1"
    )
    assert found == []
    assert config_rules.is_openrouter("https://openrouter.ai/api/v1")
    assert not config_rules.is_openrouter("https://api.openai.com/v1")
    assert not config_rules.is_openrouter("https://openrouter.ai.example.com/v1")


def test_every_placeholder_of_the_example_file_is_known():
    example = (ROOT / "deploy" / "salesbot.env.example").read_text()
    for name, values in config_rules.PLACEHOLDERS.items():
        shipped = re.search(rf"^{name}=(.*)$", example, re.MULTILINE)
        assert shipped is not None and shipped.group(1) in values, name


def test_the_example_file_as_it_ships_fails_on_each_placeholder(tmp_path):
    example = (ROOT / "deploy" / "salesbot.env.example").read_text()
    env_file = tmp_path / "salesbot.env"
    env_file.write_text(example + f"\nDATA_DIR={tmp_path / 'data'}\n")
    _settings, found = read_configuration(argparse.Namespace(env_file=env_file))
    named = {line.split(":", 1)[0] for line in found}
    assert set(config_rules.PLACEHOLDERS) <= named, found


def test_a_missing_prompt_file(tmp_path):
    missing = tmp_path / "nope.md"
    assert problems_of(tmp_path, SALES_PROMPT_FILE=str(missing)) == [
        f"SALES_PROMPT_FILE: expected a readable file, {missing} does not exist"
    ]


def test_a_prompt_file_that_is_a_folder(tmp_path):
    found = problems_of(tmp_path, SALES_PROMPT_FILE=str(tmp_path))
    assert found and found[0].startswith("SALES_PROMPT_FILE: expected a readable file")


def test_a_log_file_whose_folder_cannot_be_made(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    found = problems_of(tmp_path, LOG_FILE=str(blocker / "logs" / "salesbot.log"))
    assert found == [
        f"LOG_FILE: expected a writable folder for it, cannot write in {blocker / 'logs'}"
    ]


def test_a_log_file_that_is_a_folder(tmp_path):
    assert problems_of(tmp_path, LOG_FILE=str(tmp_path)) == [
        f"LOG_FILE: expected a writable file, cannot write {tmp_path}"
    ]


def test_a_read_only_log_file_and_data_dir(tmp_path, monkeypatch):
    log_file = tmp_path / "salesbot.log"
    log_file.write_text("")
    data = tmp_path / "data"
    data.mkdir()
    # Root writes anywhere: what os.access says for this user is what the rules ask.
    monkeypatch.setattr(config_rules.os, "access", lambda path, mode: not mode & 2)
    found = problems_of(tmp_path, LOG_FILE=str(log_file))
    assert found == [
        f"LOG_FILE: expected a writable file, cannot write {log_file}",
        f"DATA_DIR: expected a writable folder, cannot write or create {data}",
    ]


def test_a_data_dir_that_is_a_file_or_cannot_be_made(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert problems_of(tmp_path, DATA_DIR=str(blocker)) == [
        f"DATA_DIR: expected a folder, {blocker} is a file"
    ]
    assert problems_of(tmp_path, DATA_DIR=str(blocker / "salesbot")) == [
        f"DATA_DIR: expected a writable folder, cannot write or create {blocker / 'salesbot'}"
    ]


def test_a_data_dir_not_made_yet_is_fine(tmp_path):
    assert problems_of(tmp_path, DATA_DIR=str(tmp_path / "new" / "salesbot")) == []


@pytest.mark.parametrize("window", ["20:00-20:00", "00:00-00:00"])
def test_an_empty_working_hours_window_is_refused(tmp_path, window):
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, **good(tmp_path, WORKING_HOURS=window))
    assert caught.value.problems == [
        f'WORKING_HOURS: expected a window that opens before it closes, got "{window}": an '
        "empty window sends no opener or follow-up ever"
    ]


@pytest.mark.parametrize(
    "line",
    [
        'WORKING_HOURS="10:00-20:00  # office"',
        "OPENROUTER_MODEL='openai/gpt-4o-mini\t# the cheap one'",
    ],
)
def test_an_inline_comment_in_the_env_file_is_named(tmp_path, line, monkeypatch):
    for name in GOOD:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "salesbot.env"
    lines = [f"{k}={v}" for k, v in good(tmp_path).items()]
    env_file.write_text("\n".join([*lines, "# a comment line is fine", line]) + "\n")
    _settings, found = read_configuration(argparse.Namespace(env_file=env_file))
    name = line.split("=", 1)[0]
    assert found == [
        f"{name}: holds an inline comment (whitespace then #); expected the value alone, "
        "with any comment on a line of its own"
    ]


def test_a_comment_after_an_unquoted_value_is_no_part_of_it(tmp_path, monkeypatch):
    """The one reader (check's and run's) drops it: nothing to tell."""
    for name in GOOD:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "salesbot.env"
    lines = [f"{k}={v}" for k, v in good(tmp_path).items()]
    env_file.write_text("\n".join([*lines, "WORKING_HOURS=10:00-20:00  # office"]) + "\n")
    settings, found = read_configuration(argparse.Namespace(env_file=env_file))
    assert found == [] and settings is not None
    assert str(settings.WORKING_HOURS) == "10:00-20:00"


def test_an_inline_comment_in_the_environment_is_named(tmp_path, monkeypatch):
    for name, value in good(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TIMEZONE", "Europe/Moscow # msk")
    _settings, found = read_configuration(argparse.Namespace(env_file=None))
    assert found == [
        "TIMEZONE: holds an inline comment (whitespace then #); expected the value alone, "
        "with any comment on a line of its own"
    ]


def test_every_problem_is_listed_even_when_loading_fails(tmp_path, monkeypatch):
    for name, value in good(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("API_ID", "abc")
    monkeypatch.setenv("API_HASH", "xyz")
    monkeypatch.setenv("BOT_TOKEN", "notatoken")
    monkeypatch.setenv("SALES_PROMPT_FILE", str(tmp_path / "missing.md"))
    monkeypatch.setenv("WORKING_HOURS", "20:00-20:00")
    settings, found = read_configuration(argparse.Namespace(env_file=None))
    assert settings is None
    assert [line.split(":", 1)[0] for line in found] == [
        "API_ID",
        "WORKING_HOURS",
        "API_HASH",
        "BOT_TOKEN",
        "SALES_PROMPT_FILE",
    ]


WEBHOOK = "https://crm.example.com/rest/1/TESTwebhookKEY/"


def test_a_short_webhook_secret_is_named_without_its_value(tmp_path):
    found = problems_of(tmp_path, WEBHOOK_URL=WEBHOOK, WEBHOOK_SECRET="short-key")
    assert len(found) == 1 and found[0].startswith("WEBHOOK_SECRET: expected at least 16")
    assert "short-key" not in found[0]
    assert problems_of(tmp_path, WEBHOOK_URL=WEBHOOK, WEBHOOK_SECRET="k" * 32) == []


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"WEBHOOK_URL": WEBHOOK}, "WEBHOOK_SECRET: is required when WEBHOOK_URL is set"),
        (
            {
                "WEBHOOK_URL": "http://crm.example.com/rest/1/TESTwebhookKEY/",
                "WEBHOOK_SECRET": "k" * 32,
            },
            "WEBHOOK_URL: expected an https:// URL (plain http:// only to 127.0.0.1",
        ),
        (
            {"WEBHOOK_URL": "crm.example.com/TESTwebhookKEY", "WEBHOOK_SECRET": "k" * 32},
            "WEBHOOK_URL: expected an https:// URL",
        ),
    ],
)
def test_a_webhook_without_its_secret_or_over_plain_http_is_refused(tmp_path, values, expected):
    with pytest.raises(ConfigError) as refused:
        load_settings(env_file=None, **good(tmp_path, **values))
    [problem] = refused.value.problems
    assert problem.startswith(expected) and "TESTwebhookKEY" not in problem


def test_a_webhook_to_this_machine_may_be_plain_http(tmp_path):
    settings = load_settings(
        env_file=None,
        **good(tmp_path, WEBHOOK_URL="http://127.0.0.1:8080/hook", WEBHOOK_SECRET="k" * 32),
    )
    assert settings.WEBHOOK_URL is not None
    assert settings.WEBHOOK_URL.get_secret_value() == "http://127.0.0.1:8080/hook"
    assert "http://127.0.0.1:8080/hook" in settings.secret_values()  # masked in the logs
