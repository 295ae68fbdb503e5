from zoneinfo import ZoneInfo

import pytest

from salesbot.entrypoints.database import describe_database
from salesbot.entrypoints.settings import RUN_REQUIRED, ConfigError, load_settings

SEED = {
    "API_ID": "123456",
    "API_HASH": "0123456789abcdef0123456789abcdef",
    "BOT_TOKEN": "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "ADMIN_TELEGRAM_ID": "111111111",
    "MAX_DAILY_MESSAGES": "20",
    "MIN_MESSAGE_DELAY": "30",
    "OPENROUTER_API_KEY": "sk-or-v1-abcdefabcdefabcdefabcdef",
    "DATABASE_URL": "postgresql://user:pass@localhost:5432/sales_bot",
    "LOG_LEVEL": "INFO",
    "LOG_FILE": "/var/log/sales_bot/bot.log",
}


@pytest.fixture
def env(monkeypatch):
    for name in list(__import__("os").environ):
        if name in SEED or name in ("TIMEZONE", "ADMIN_LANGUAGE", "WORKING_HOURS", "WORKING_DAYS"):
            monkeypatch.delenv(name)

    def set_env(values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def test_the_seed_environment_is_enough(env):
    env(SEED)
    settings = load_settings(RUN_REQUIRED, env_file=None)
    assert settings.API_ID == 123456
    assert settings.ADMIN_TELEGRAM_ID == (111111111,)
    assert settings.DATABASE_URL.get_secret_value() == (
        "postgresql://user:pass@localhost:5432/sales_bot"
    )
    assert settings.TIMEZONE == "UTC"
    assert settings.ADMIN_LANGUAGE == "ru"


def test_several_admins_as_a_comma_list(env):
    env({**SEED, "ADMIN_TELEGRAM_ID": "111, 222,333"})
    assert load_settings(RUN_REQUIRED, env_file=None).ADMIN_TELEGRAM_ID == (111, 222, 333)


def test_every_problem_is_reported_at_once(env):
    env({**{k: v for k, v in SEED.items() if k != "BOT_TOKEN"}, "API_ID": "abc"})
    with pytest.raises(ConfigError) as raised:
        load_settings(RUN_REQUIRED, env_file=None)
    assert raised.value.problems == [
        'API_ID: expected an integer, got "abc"',
        "BOT_TOKEN: is required but not set",
    ]


@pytest.mark.parametrize(
    "name,value,line",
    [
        ("MAX_DAILY_MESSAGES", "lots", 'MAX_DAILY_MESSAGES: expected an integer, got "lots"'),
        ("MIN_MESSAGE_DELAY", "-5", 'MIN_MESSAGE_DELAY: expected a number >= 0, got "-5"'),
        ("ADMIN_TELEGRAM_ID", "@boss", "ADMIN_TELEGRAM_ID: expected a Telegram user id"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: expected an IANA time zone"),
        ("ADMIN_LANGUAGE", "de", "ADMIN_LANGUAGE: expected one of 'ru' or 'en', got \"de\""),
        ("WORKING_HOURS", "9 to 5", 'WORKING_HOURS: expected "always" or HH:MM-HH:MM'),
        ("WORKING_DAYS", "weekdays", "WORKING_DAYS: expected weekdays like mon-fri"),
        ("OPENROUTER_BASE_URL", "localhost:8080", "OPENROUTER_BASE_URL: expected an http(s)://"),
        ("LLM_TIMEOUT_SECONDS", "0", 'LLM_TIMEOUT_SECONDS: expected a number > 0, got "0"'),
        ("LLM_TIMEOUT_SECONDS", "soon", 'LLM_TIMEOUT_SECONDS: expected a number, got "soon"'),
        ("LLM_TIMEOUT_SECONDS", "900", 'LLM_TIMEOUT_SECONDS: expected a number <= 600, got "900"'),
        ("LLM_ATTEMPTS", "0", 'LLM_ATTEMPTS: expected a number >= 1, got "0"'),
        ("LLM_ATTEMPTS", "2.5", 'LLM_ATTEMPTS: expected an integer, got "2.5"'),
        ("LLM_ATTEMPTS", "11", 'LLM_ATTEMPTS: expected a number <= 10, got "11"'),
        ("REVIEW_MODE", "replies", 'REVIEW_MODE: expected off, openers or all, got "replies"'),
        (
            "SALESBOT_ROLE",
            "leader",
            "SALESBOT_ROLE: expected one of 'all' or 'worker', got \"leader\"",
        ),
    ],
)
def test_malformed_values_name_the_variable_and_the_expectation(env, name, value, line):
    env({**SEED, name: value})
    with pytest.raises(ConfigError) as raised:
        load_settings(RUN_REQUIRED, env_file=None)
    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith(line)


def test_review_mode_is_off_unless_set_in_any_case(env):
    env(SEED)
    assert load_settings(RUN_REQUIRED, env_file=None).REVIEW_MODE.value == "off"
    env({**SEED, "REVIEW_MODE": " Openers "})
    assert load_settings(RUN_REQUIRED, env_file=None).REVIEW_MODE.value == "openers"


def test_a_malformed_secret_is_never_echoed(env):
    env({**SEED, "DATABASE_URL": "mysql://root:hunter2@db/x"})
    with pytest.raises(ConfigError) as raised:
        load_settings(RUN_REQUIRED, env_file=None)
    assert "hunter2" not in str(raised.value)
    assert raised.value.problems[0].startswith("DATABASE_URL: expected postgresql://")


def test_without_database_url_the_embedded_server_in_data_dir_is_used(env, tmp_path):
    env({**SEED, "DATA_DIR": str(tmp_path)})
    settings = load_settings(RUN_REQUIRED, env_file=None, DATABASE_URL=None)
    assert settings.DATABASE_URL is None
    assert describe_database(settings) == f"embedded PostgreSQL in {tmp_path}"


def test_a_dotenv_file_is_read(env, tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(f"{k}={v}" for k, v in SEED.items()), encoding="utf-8")
    assert load_settings(RUN_REQUIRED, env_file=dotenv).API_ID == 123456


def test_working_hours_are_read_in_the_time_zone_and_may_cross_midnight(env):
    from datetime import datetime

    env({**SEED, "WORKING_HOURS": "22:00-06:00", "TIMEZONE": "Europe/Moscow"})
    hours = load_settings(RUN_REQUIRED, env_file=None).WORKING_HOURS
    moscow = ZoneInfo("Europe/Moscow")
    assert hours.contains(datetime(2026, 3, 1, 23, 0, tzinfo=moscow))
    assert hours.contains(datetime(2026, 3, 2, 5, 59, tzinfo=moscow))
    assert not hours.contains(datetime(2026, 3, 1, 12, 0, tzinfo=moscow))
    utc = ZoneInfo("UTC")
    assert hours.contains(datetime(2026, 3, 1, 19, 0, tzinfo=utc))  # 22:00 in Moscow
    assert not hours.contains(datetime(2026, 3, 1, 18, 59, tzinfo=utc))  # 21:59


def test_working_days_bound_the_working_hours(env):
    from datetime import datetime

    env({**SEED, "WORKING_HOURS": "09:00-18:00", "WORKING_DAYS": "mon-fri"})
    settings = load_settings(RUN_REQUIRED, env_file=None)
    assert str(settings.WORKING_DAYS) == "mon,tue,wed,thu,fri"
    utc = ZoneInfo("UTC")
    assert settings.WORKING_HOURS.contains(datetime(2026, 3, 6, 10, 0, tzinfo=utc))  # Friday
    assert not settings.WORKING_HOURS.contains(datetime(2026, 3, 7, 10, 0, tzinfo=utc))


def test_a_malformed_working_days_line_names_the_variable_and_what_it_got(env):
    env({**SEED, "WORKING_DAYS": "monday-friday"})
    with pytest.raises(ConfigError) as raised:
        load_settings(RUN_REQUIRED, env_file=None)
    assert raised.value.problems == [
        "WORKING_DAYS: expected weekdays like mon-fri, mon,wed,fri or sat-sun "
        '(mon tue wed thu fri sat sun), got "monday-friday"'
    ]
