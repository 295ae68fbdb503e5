import io
import logging

from loguru import logger

from salesbot.adapters.logging import SecretMask, configure_logging

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SESSION = "BQ" + "x1Y2z3" * 60


def test_known_secrets_and_secret_shapes_are_masked(tmp_path):
    mask = SecretMask()
    out = io.StringIO()
    log_file = tmp_path / "logs" / "salesbot.log"
    configure_logging("DEBUG", log_file, ["hunter2-password"], stream=out, mask=mask)
    logger.info("login with hunter2-password")
    logger.info(f"GET https://api.telegram.org/bot{BOT_TOKEN}/getMe")
    logger.info(f"session {SESSION}")
    logging.getLogger("httpx").warning("key sk-or-v1-0123456789abcdef0123")
    try:
        raise RuntimeError("failed with hunter2-password")
    except RuntimeError:
        logger.exception("boom")
    logger.complete()
    for text in (out.getvalue(), log_file.read_text(encoding="utf-8")):
        assert "hunter2-password" not in text
        assert BOT_TOKEN not in text
        assert SESSION not in text
        assert "sk-or-v1-0123456789abcdef0123" not in text
        assert "RuntimeError: failed with ***" in text
        assert text.count("***") >= 5


def test_secrets_added_at_run_time_are_masked_from_then_on():
    mask = SecretMask()
    out = io.StringIO()
    configure_logging("INFO", None, [], stream=out, mask=mask)
    mask.add("2fa-password-typed-later")
    logger.info("password is 2fa-password-typed-later")
    assert "2fa-password-typed-later" not in out.getvalue()


def test_the_level_filters_lines():
    out = io.StringIO()
    configure_logging("WARNING", None, [], stream=out, mask=SecretMask())
    logger.info("quiet")
    logger.warning("loud")
    assert "quiet" not in out.getvalue()
    assert "loud" in out.getvalue()


def test_standard_library_records_name_the_module_that_logged_them():
    out = io.StringIO()
    configure_logging("INFO", None, [], stream=out, mask=SecretMask())
    log = logging.getLogger(__name__)
    log.warning("plain warning")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("with traceback")
    lines = [line for line in out.getvalue().splitlines() if " - " in line]
    assert len(lines) == 2
    for line in lines:
        assert f"| {__name__}:" in line, line


SHAPES_IN_SHORT_LINES = {
    "bot token": f"token {BOT_TOKEN} rejected",
    "bot token in a URL": f"POST /bot{BOT_TOKEN}/getUpdates: 200",
    "OpenRouter key": "auth with sk-or-v1-0123456789abcdef0123 failed",
    "OpenAI-style key": "auth with sk-proj_0123456789abcdefghij failed",
    "Fernet token": "stored gAAAAABnQx0123456789abcdefghijklmnopqrstuvwxyzAB for account 3",
}


def test_every_secret_shape_is_masked_in_a_short_line_too():
    mask = SecretMask()
    for name, line in SHAPES_IN_SHORT_LINES.items():
        masked = mask(line)
        assert "***" in masked, name
        assert len(masked) < len(line) - 10, name


def test_a_line_with_no_secret_is_left_as_it_is():
    mask = SecretMask()
    mask.add("hunter2-password")
    line = "dialog 12: message 345 sent at 10:15:02, 2300 prompt tokens"
    assert mask(line) == line
