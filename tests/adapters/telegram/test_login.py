"""PyrogramLogin: the login steps against a stand-in client raising kurigram's errors."""

from __future__ import annotations

import pytest
from pyrogram import enums
from pyrogram import errors as tg

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.telegram import PyrogramLogin, session_user_id
from salesbot.application.errors import (
    CodeExpired,
    CodeInvalid,
    LoginRefused,
    NoLoginInProgress,
    PasswordInvalid,
    PhoneBanned,
    PhoneNumberRejected,
    RateLimited,
    TelegramUnavailable,
)
from tests.adapters.telegram.client_stand_in import LOGIN_CODE, StandInTelegram
from tests.secrets import API_HASH, API_ID, TWO_FA_PASSWORD

PHONE = "+79001234567"
USER_ID = 900100


@pytest.fixture
def telegram() -> StandInTelegram:
    server = StandInTelegram()
    server.account_ids[PHONE] = USER_ID
    return server


@pytest.fixture
def login(telegram: StandInTelegram) -> PyrogramLogin:
    return PyrogramLogin(API_ID, API_HASH, client_factory=telegram.factory)


async def test_a_login_without_2fa_gives_a_session_string_exported_before_disconnect(
    telegram, login
):
    await login.begin_login(PHONE)
    progress = await login.submit_code(PHONE, LOGIN_CODE)

    assert progress.password_required is False
    assert progress.session_string is not None
    assert session_user_id(progress.session_string) == USER_ID
    (client,) = telegram.clients
    assert client.in_memory is True and client.session_string is None
    assert client.is_connected is False, "the login client is closed once done"
    assert progress.session_string not in secret_mask(progress.session_string)


async def test_a_login_with_2fa_asks_for_the_password_and_retries_a_wrong_one(telegram, login):
    telegram.passwords[PHONE] = TWO_FA_PASSWORD
    await login.begin_login(PHONE)

    progress = await login.submit_code(PHONE, LOGIN_CODE)
    assert progress.password_required is True and progress.session_string is None

    with pytest.raises(PasswordInvalid):
        await login.submit_password(PHONE, "wrong password")
    progress = await login.submit_password(PHONE, TWO_FA_PASSWORD)

    assert progress.session_string is not None
    assert session_user_id(progress.session_string) == USER_ID
    assert len(telegram.clients) == 1, "the same client carries every step"
    assert TWO_FA_PASSWORD not in secret_mask(f"password {TWO_FA_PASSWORD}")


async def test_a_wrong_code_then_the_right_one(telegram, login):
    await login.begin_login(PHONE)
    with pytest.raises(CodeInvalid):
        await login.submit_code(PHONE, "54321")
    progress = await login.submit_code(PHONE, LOGIN_CODE)

    assert progress.session_string is not None
    (client,) = telegram.clients
    assert [args[2] for args, _ in client.called("sign_in")] == ["54321", LOGIN_CODE]
    assert len(client.called("send_code")) == 1


@pytest.mark.parametrize("typed", ["1 2 3 4 5", "12-345", "12a345", " 1.2.3.4.5 "])
async def test_a_code_typed_with_separators_is_accepted(telegram, login, typed):
    await login.begin_login(PHONE)
    progress = await login.submit_code(PHONE, typed)
    assert progress.session_string is not None
    (client,) = telegram.clients
    assert client.called("sign_in")[0][0][2] == "12345"


async def test_a_code_without_digits_is_refused_without_asking_telegram(telegram, login):
    await login.begin_login(PHONE)
    with pytest.raises(CodeInvalid):
        await login.submit_code(PHONE, "abc")
    assert telegram.clients[0].called("sign_in") == []


async def test_flood_wait_on_send_code_says_how_long_and_lets_the_admin_begin_again(
    telegram, login
):
    original = telegram.factory

    def flooding(name: str, **kwargs):
        client = original(name, **kwargs)
        if len(telegram.clients) == 1:
            client.fail("send_code", tg.FloodWait(value=120))
        return client

    login = PyrogramLogin(API_ID, API_HASH, client_factory=flooding)
    with pytest.raises(RateLimited) as raised:
        await login.begin_login(PHONE)
    assert raised.value.retry_after == 120
    assert telegram.clients[0].is_connected is False

    await login.begin_login(PHONE)
    assert (await login.submit_code(PHONE, LOGIN_CODE)).session_string is not None


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (tg.PhoneNumberInvalid(), PhoneNumberRejected),
        (tg.PhoneNumberBanned(), PhoneBanned),
        (tg.PhoneNumberFlood(), LoginRefused),
        (OSError("network is unreachable"), TelegramUnavailable),
    ],
)
async def test_send_code_errors_are_clear(telegram, error, expected):
    def failing(name: str, **kwargs):
        client = telegram.factory(name, **kwargs)
        client.fail("send_code", error)
        return client

    login = PyrogramLogin(API_ID, API_HASH, client_factory=failing)
    with pytest.raises(expected):
        await login.begin_login(PHONE)
    assert telegram.clients[0].is_connected is False
    with pytest.raises(NoLoginInProgress):
        await login.submit_code(PHONE, LOGIN_CODE)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        # kurigram's key exchange on a connection closed unanswered, five times over
        (KeyError(0), "closed without an answer"),
        (ConnectionError(), "ConnectionError"),  # no route: its three tries failed
        (TimeoutError(), "TimeoutError"),
    ],
)
async def test_no_network_at_connect_is_telegram_unavailable_naming_the_data_centre(
    telegram, error, detail
):
    def failing(name: str, **kwargs):
        client = telegram.factory(name, **kwargs)
        client.fail("connect", error)
        return client

    login = PyrogramLogin(API_ID, API_HASH, client_factory=failing)
    with pytest.raises(TelegramUnavailable) as raised:
        await login.begin_login(PHONE)
    assert str(raised.value) == (
        f"cannot reach Telegram's data centre at 149.154.167.51:443 ({detail})"
    )
    with pytest.raises(NoLoginInProgress):
        await login.submit_code(PHONE, LOGIN_CODE)


async def test_no_network_through_a_proxy_names_the_proxy(telegram):
    def failing(name: str, **kwargs):
        client = telegram.factory(name, **kwargs)
        client.fail("connect", KeyError(0))
        return client

    login = PyrogramLogin(API_ID, API_HASH, client_factory=failing)
    with pytest.raises(TelegramUnavailable, match=r"the proxy 10\.0\.0\.5:1080"):
        await login.begin_login(PHONE, proxy="socks5://10.0.0.5:1080")


async def test_an_expired_code_brings_a_new_one_and_the_admin_retries_the_code(telegram, login):
    await login.begin_login(PHONE)
    (client,) = telegram.clients
    client.fail("sign_in", tg.PhoneCodeExpired())

    with pytest.raises(CodeExpired):
        await login.submit_code(PHONE, LOGIN_CODE)
    assert len(client.called("send_code")) == 2
    progress = await login.submit_code(PHONE, LOGIN_CODE)
    assert progress.session_string is not None


async def test_a_network_error_on_a_step_keeps_the_login_for_a_retry(telegram, login):
    await login.begin_login(PHONE)
    telegram.clients[0].fail("sign_in", ConnectionResetError())
    with pytest.raises(TelegramUnavailable):
        await login.submit_code(PHONE, LOGIN_CODE)
    assert (await login.submit_code(PHONE, LOGIN_CODE)).session_string is not None


async def test_flood_wait_on_the_password_keeps_the_login(telegram, login):
    telegram.passwords[PHONE] = TWO_FA_PASSWORD
    await login.begin_login(PHONE)
    await login.submit_code(PHONE, LOGIN_CODE)
    telegram.clients[0].fail("check_password", tg.FloodWait(value=30))
    with pytest.raises(RateLimited):
        await login.submit_password(PHONE, TWO_FA_PASSWORD)
    assert (await login.submit_password(PHONE, TWO_FA_PASSWORD)).session_string is not None


async def test_a_number_without_a_telegram_account_is_rejected(telegram, login):
    del telegram.account_ids[PHONE]
    await login.begin_login(PHONE)
    with pytest.raises(PhoneNumberRejected):
        await login.submit_code(PHONE, LOGIN_CODE)
    assert telegram.clients[0].is_connected is False


async def test_a_number_that_must_set_up_an_email_first_is_refused_clearly(telegram, login):
    telegram.sent_code_type = enums.SentCodeType.SETUP_EMAIL_REQUIRED
    with pytest.raises(LoginRefused) as raised:
        await login.begin_login(PHONE)
    assert "e-mail" in raised.value.reason


async def test_steps_out_of_order_are_refused(login):
    with pytest.raises(NoLoginInProgress):
        await login.submit_code(PHONE, LOGIN_CODE)
    await login.begin_login(PHONE)
    with pytest.raises(NoLoginInProgress):
        await login.submit_password(PHONE, TWO_FA_PASSWORD)


async def test_cancel_and_begin_again_close_the_previous_client(telegram, login):
    await login.begin_login(PHONE)
    await login.begin_login(PHONE)
    first, second = telegram.clients
    assert first.is_connected is False and second.is_connected is True
    await login.cancel_login(PHONE)
    assert second.is_connected is False
    with pytest.raises(NoLoginInProgress):
        await login.submit_code(PHONE, LOGIN_CODE)


async def test_the_proxy_is_used_for_the_login_too(telegram, login):
    await login.begin_login(PHONE, proxy="socks5://u:p@127.0.0.1:9050")
    assert telegram.clients[0].proxy == {
        "scheme": "socks5",
        "hostname": "127.0.0.1",
        "port": 9050,
        "username": "u",
        "password": "p",
    }
    assert telegram.clients[0].no_updates is True
