"""PyrogramAccounts against a stand-in client that raises kurigram's real error classes."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from pyrogram import enums, raw, types
from pyrogram import errors as tg

from salesbot.adapters.logging import secret_mask
from salesbot.adapters.telegram import PyrogramAccounts, proxy_dict, session_user_id
from salesbot.adapters.telegram.storage import AccountStorage
from salesbot.application.errors import (
    AccountDeactivated,
    AccountNotConnected,
    CredentialsRejected,
    RateLimited,
    RecipientUnreachable,
    SessionInvalid,
    SpamLimited,
    TelegramError,
    TelegramUnavailable,
)
from salesbot.application.ports import IncomingMessage
from salesbot.domain.account import Account
from salesbot.domain.peer import Peer
from tests.adapters.telegram.client_stand_in import StandInTelegram, make_session_string
from tests.secrets import API_HASH, API_ID

SESSION = make_session_string(5001, marker=b"one")
SESSION_AUTH_KEY = (b"one" + b"TEST-stand-in-auth-key-" + bytes(range(256)))[:256]
ACCOUNT_ID = 1


async def no_sleep(_seconds: float) -> None:
    await asyncio.sleep(0)


def account(session: str = SESSION, account_id: int = ACCOUNT_ID, proxy: str | None = None):
    return Account(phone="+79000000001", session_string=session, id=account_id, proxy=proxy)


@pytest.fixture
def telegram() -> StandInTelegram:
    server = StandInTelegram()
    server.add_user("prospect_one", 42, access_hash=4242)
    return server


@pytest.fixture
def accounts(telegram: StandInTelegram) -> PyrogramAccounts:
    return PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep, resolves_per_minute=60
    )


PEER = Peer(account_id=ACCOUNT_ID, username="prospect_one", user_id=42, access_hash=4242)


# --- connecting --------------------------------------------------------------------------


async def test_a_client_runs_from_the_session_string_in_memory_with_its_proxy(telegram, accounts):
    await accounts.connect(account(proxy="socks5://bob:s%40cret@10.0.0.5:1080"), [PEER])

    client = telegram.client(SESSION)
    assert isinstance(client.storage, AccountStorage)  # kept in memory, nothing on disk
    assert client.storage.in_memory and client.storage.session_string == SESSION
    assert await client.storage.auth_key() == SESSION_AUTH_KEY
    # Updates are not skipped, and handled one at a time, in order.
    assert client.skip_updates is False and client.workers == 1
    assert client.api_id == API_ID and client.api_hash == API_HASH
    assert client.proxy == {
        "scheme": "socks5",
        "hostname": "10.0.0.5",
        "port": 1080,
        "username": "bob",
        "password": "s@cret",
    }
    assert client.is_initialized
    assert accounts.connected() == {ACCOUNT_ID}
    assert SESSION not in secret_mask(f"session {SESSION}")
    assert "s@cret" not in secret_mask("proxy password s@cret")


async def test_known_peers_are_in_the_clients_storage_so_sending_never_resolves(
    telegram, accounts
):
    await accounts.connect(account(), [PEER])

    client = telegram.client(SESSION)
    assert await client.storage.get_peer_by_id(42) == raw.types.InputPeerUser(
        user_id=42, access_hash=4242
    )
    assert (await client.storage.get_peer_by_username("prospect_one")).user_id == 42
    sent = await accounts.send_message(ACCOUNT_ID, PEER, "Hello")
    assert sent.telegram_message_id > 0
    assert telegram.resolve_calls == []


async def test_after_a_restart_a_stored_peer_is_sent_to_without_any_resolve(telegram):
    first = PyrogramAccounts(API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep)
    await first.connect(account(), [])
    peer = await first.resolve_username(ACCOUNT_ID, "@Prospect_One")
    assert telegram.resolve_calls == ["prospect_one"]
    await first.close()

    restarted = PyrogramAccounts(API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep)
    await restarted.connect(account(), [peer])
    await restarted.send_message(ACCOUNT_ID, peer, "After the restart")

    assert telegram.resolve_calls == ["prospect_one"]
    assert telegram.sent[-1] == (SESSION, 42, "After the restart")


async def test_a_peer_resolved_elsewhere_is_loaded_before_it_is_used(telegram, accounts):
    await accounts.connect(account(), [])
    await accounts.send_message(ACCOUNT_ID, PEER, "hi")
    assert telegram.sent == [(SESSION, 42, "hi")]
    assert telegram.resolve_calls == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (tg.AuthKeyUnregistered(), SessionInvalid),
        (tg.SessionRevoked(), SessionInvalid),
        (tg.AuthKeyDuplicated(), SessionInvalid),
        (tg.UserDeactivated(), AccountDeactivated),
        (tg.UserDeactivatedBan(), AccountDeactivated),
        (tg.ApiIdInvalid(), CredentialsRejected),  # the app's API_ID/API_HASH, not the account
        (tg.ApiIdPublishedFlood(), CredentialsRejected),
    ],
)
async def test_a_dead_session_or_account_is_named_when_connecting(
    telegram, accounts, error, expected
):
    telegram.broken_sessions[SESSION] = error
    with pytest.raises(expected):
        await accounts.connect(account(), [])
    assert accounts.connected() == frozenset()


async def test_a_session_string_that_is_not_logged_in_never_reaches_the_console_login(
    telegram, accounts
):
    with pytest.raises(SessionInvalid):
        await accounts.connect(account(session=make_session_string(0)), [])
    with pytest.raises(SessionInvalid):
        await accounts.connect(account(session="not-a-session"), [])
    assert telegram.clients == []


async def test_a_network_drop_while_connecting_is_retried_with_growing_pauses(telegram):
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    accounts = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=sleep, connect_attempts=3,
        reconnect_backoff=2.0,
    )
    telegram.start_failures.extend([OSError("network is unreachable"), TimeoutError()])
    await accounts.connect(account(), [])

    assert pauses == [2.0, 4.0]
    assert accounts.connected() == {ACCOUNT_ID}


async def test_a_network_that_stays_down_is_reported_unavailable(telegram):
    accounts = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep, connect_attempts=2
    )
    telegram.start_failures.extend([ConnectionResetError(), OSError("down")])
    with pytest.raises(TelegramUnavailable):
        await accounts.connect(account(), [])
    assert accounts.connected() == frozenset()


async def test_no_network_at_connect_names_where_it_looked_not_kurigrams_key_error(telegram):
    """kurigram's key exchange on a connection closed unanswered ends in `KeyError: 0`."""
    accounts = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep, connect_attempts=2
    )
    telegram.start_failures.extend([KeyError(0), KeyError(0)])
    with pytest.raises(TelegramUnavailable, match=r"cannot reach .*closed without an answer"):
        await accounts.connect(account(), [])
    telegram.start_failures.extend([KeyError(0), KeyError(0)])
    with pytest.raises(TelegramUnavailable, match=r"the proxy 10\.0\.0\.5:1080"):
        await accounts.connect(account(proxy="socks5://10.0.0.5:1080"), [])
    assert accounts.connected() == frozenset()


async def test_disconnect_stops_the_client(telegram, accounts):
    await accounts.connect(account(), [])
    await accounts.disconnect(ACCOUNT_ID)
    assert telegram.client(SESSION).stopped == 1
    assert accounts.connected() == frozenset()
    with pytest.raises(AccountNotConnected):
        await accounts.send_message(ACCOUNT_ID, PEER, "hi")


# --- errors at the call that meets them --------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected", "reason"),
    [
        (tg.PeerFlood(), SpamLimited, None),
        (tg.UserPrivacyRestricted(), RecipientUnreachable, RecipientUnreachable.PRIVACY),
        (tg.PeerIdInvalid(), RecipientUnreachable, RecipientUnreachable.INVALID),
        (tg.InputUserDeactivated(), RecipientUnreachable, RecipientUnreachable.DEACTIVATED),
        (tg.UserIsBlocked(), RecipientUnreachable, RecipientUnreachable.BLOCKED),
        (tg.AuthKeyUnregistered(), SessionInvalid, None),
        (tg.SessionRevoked(), SessionInvalid, None),
        (tg.AuthKeyDuplicated(), SessionInvalid, None),
        (tg.UserDeactivated(), AccountDeactivated, None),
        (tg.UserDeactivatedBan(), AccountDeactivated, None),
        (OSError("connection lost"), TelegramUnavailable, None),
        (ConnectionError("Client has not been started yet"), TelegramUnavailable, None),
        (tg.InternalServerError(), TelegramUnavailable, None),
    ],
)
async def test_each_kurigram_error_on_send_becomes_its_port_error(
    telegram, accounts, error, expected, reason
):
    await accounts.connect(account(), [PEER])
    telegram.client(SESSION).fail("send_message", error)

    with pytest.raises(expected) as raised:
        await accounts.send_message(ACCOUNT_ID, PEER, "hi")
    if reason is not None:
        assert raised.value.reason == reason
    assert raised.value.__cause__ is error


async def test_flood_wait_tells_exactly_how_long_to_wait(telegram, accounts):
    await accounts.connect(account(), [PEER])
    telegram.client(SESSION).fail("send_message", tg.FloodWait(value=42))
    with pytest.raises(RateLimited) as raised:
        await accounts.send_message(ACCOUNT_ID, PEER, "hi")
    assert raised.value.retry_after == 42


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (tg.UsernameNotOccupied(), RecipientUnreachable.NOT_FOUND),
        (tg.UsernameInvalid(), RecipientUnreachable.INVALID),
    ],
)
async def test_a_username_nobody_has_is_unreachable(telegram, accounts, error, reason):
    await accounts.connect(account(), [])
    telegram.client(SESSION).fail("resolve_peer", error)
    with pytest.raises(RecipientUnreachable) as raised:
        await accounts.resolve_username(ACCOUNT_ID, "ghost_user")
    assert raised.value.reason == reason


async def test_flood_wait_on_resolve_is_rate_limited(telegram, accounts):
    await accounts.connect(account(), [])
    telegram.client(SESSION).fail("resolve_peer", tg.FloodWait(value=300))
    with pytest.raises(RateLimited) as raised:
        await accounts.resolve_username(ACCOUNT_ID, "prospect_one")
    assert raised.value.retry_after == 300


async def test_an_unknown_telegram_refusal_is_still_a_telegram_error(telegram, accounts):
    await accounts.connect(account(), [PEER])
    telegram.client(SESSION).fail("send_message", tg.ChatWriteForbidden())
    with pytest.raises(TelegramError):
        await accounts.send_message(ACCOUNT_ID, PEER, "hi")


async def test_typing_read_and_history_translate_errors_too(telegram, accounts):
    await accounts.connect(account(), [PEER])
    client = telegram.client(SESSION)
    client.fail("send_chat_action", tg.FloodWait(value=5))
    client.fail("read_chat_history", tg.PeerFlood())
    client.fail("get_chat_history", OSError("reset"))
    with pytest.raises(RateLimited):
        await accounts.send_typing(ACCOUNT_ID, PEER)
    with pytest.raises(SpamLimited):
        await accounts.mark_read(ACCOUNT_ID, PEER)
    with pytest.raises(TelegramUnavailable):
        await accounts.recent_messages(ACCOUNT_ID, PEER)


# --- resolving and sending ---------------------------------------------------------------


async def test_resolve_returns_the_id_and_access_hash_this_account_may_use(telegram, accounts):
    await accounts.connect(account(), [])
    peer = await accounts.resolve_username(ACCOUNT_ID, "@Prospect_One")
    assert peer == Peer(
        account_id=ACCOUNT_ID, username="prospect_one", user_id=42, access_hash=4242
    )


async def test_a_channel_username_is_not_a_prospect(telegram, accounts):
    telegram.channels["some_channel"] = 777
    await accounts.connect(account(), [])
    with pytest.raises(RecipientUnreachable) as raised:
        await accounts.resolve_username(ACCOUNT_ID, "some_channel")
    assert raised.value.reason == RecipientUnreachable.INVALID


async def test_resolves_are_rate_limited_per_account(telegram):
    telegram.add_user("prospect_two", 43)
    telegram.add_user("prospect_three", 44)
    accounts = PyrogramAccounts(
        API_ID, API_HASH, client_factory=telegram.factory, sleep=no_sleep, resolves_per_minute=2
    )
    await accounts.connect(account(), [])
    await accounts.resolve_username(ACCOUNT_ID, "prospect_one")
    await accounts.resolve_username(ACCOUNT_ID, "prospect_two")
    third = asyncio.ensure_future(accounts.resolve_username(ACCOUNT_ID, "prospect_three"))
    await asyncio.sleep(0.05)
    assert not third.done(), "a third resolve within the minute must wait"
    third.cancel()
    assert telegram.resolve_calls == ["prospect_one", "prospect_two"]


async def test_text_is_sent_as_typed_not_parsed_as_markdown(telegram, accounts):
    await accounts.connect(account(), [PEER])
    await accounts.send_message(ACCOUNT_ID, PEER, "**50%** off <b>today</b>")
    (_, kwargs), = telegram.client(SESSION).called("send_message")
    assert kwargs["parse_mode"] is enums.ParseMode.DISABLED


async def test_typing_read_and_history_reach_the_chat(telegram, accounts):
    await accounts.connect(account(), [PEER])
    await accounts.send_message(ACCOUNT_ID, PEER, "first")
    await accounts.send_message(ACCOUNT_ID, PEER, "second")
    await accounts.send_typing(ACCOUNT_ID, PEER)
    await accounts.mark_read(ACCOUNT_ID, PEER)
    history = await accounts.recent_messages(ACCOUNT_ID, PEER, limit=10)

    client = telegram.client(SESSION)
    assert client.called("send_chat_action") == [((42, enums.ChatAction.TYPING), {})]
    assert client.called("read_chat_history") == [((42,), {})]
    assert [item.text for item in history] == ["second", "first"]
    assert all(item.outgoing for item in history)
    assert all(item.date.tzinfo is not None for item in history)
    assert abs(history[0].date - datetime.now(timezone.utc)).total_seconds() < 60


# --- incoming ----------------------------------------------------------------------------


def private_message(
    text: str | None = "Hi, tell me more",
    *,
    user_id: int = 42,
    username: str | None = "Prospect_One",
    chat_type: enums.ChatType = enums.ChatType.PRIVATE,
    is_bot: bool = False,
    outgoing: bool = False,
    is_self: bool = False,
    message_id: int = 7,
) -> types.Message:
    sender = types.User(id=user_id, username=username, is_bot=is_bot, is_self=is_self)
    return types.Message(
        id=message_id,
        from_user=sender,
        chat=types.Chat(
            id=user_id if chat_type is enums.ChatType.PRIVATE else -100, type=chat_type
        ),
        date=datetime(2026, 1, 5, 12, 0),  # noqa: DTZ001 - kurigram's dates are naive
        text=text,
        outgoing=outgoing,
    )


async def test_a_private_text_from_a_person_reaches_every_subscriber(telegram, accounts):
    received: list[IncomingMessage] = []

    async def collect(message: IncomingMessage) -> None:
        received.append(message)

    accounts.subscribe(collect)
    await accounts.connect(account(), [])
    await telegram.client(SESSION).emit(private_message())

    (message,) = received
    assert message.account_id == ACCOUNT_ID
    assert message.user_id == 42
    assert message.username == "prospect_one"
    assert message.text == "Hi, tell me more"
    assert message.telegram_message_id == 7
    assert message.date.tzinfo is not None


@pytest.mark.parametrize(
    "message",
    [
        private_message(chat_type=enums.ChatType.GROUP),
        private_message(chat_type=enums.ChatType.SUPERGROUP),
        private_message(chat_type=enums.ChatType.CHANNEL),
        private_message(is_bot=True, chat_type=enums.ChatType.BOT),
        private_message(is_bot=True),
        private_message(user_id=777000, username=None),
        private_message(outgoing=True),
        private_message(is_self=True),
        private_message(text=None),
    ],
    ids=["group", "supergroup", "channel", "bot-chat", "bot", "telegram", "own", "self", "media"],
)
async def test_messages_that_are_not_a_persons_private_text_are_ignored(
    telegram, accounts, message
):
    received: list[IncomingMessage] = []

    async def collect(incoming: IncomingMessage) -> None:
        received.append(incoming)

    accounts.subscribe(collect)
    await accounts.connect(account(), [])
    await telegram.client(SESSION).emit(message)
    assert received == []


async def test_a_failing_subscriber_is_logged_and_never_stops_the_others(telegram, accounts):
    received: list[IncomingMessage] = []

    async def broken(_message: IncomingMessage) -> None:
        raise RuntimeError("a bug in a handler")

    async def collect(message: IncomingMessage) -> None:
        received.append(message)

    accounts.subscribe(broken)
    accounts.subscribe(collect)
    await accounts.connect(account(), [])
    client = telegram.client(SESSION)
    await client.emit(private_message(message_id=1))
    await client.emit(private_message(message_id=2))

    assert [m.telegram_message_id for m in received] == [1, 2]
    assert accounts.connected() == {ACCOUNT_ID}


# --- small pure pieces -------------------------------------------------------------------


def test_proxy_urls_become_pyrogram_proxy_dicts():
    assert proxy_dict("socks5://10.0.0.1:1080") == {
        "scheme": "socks5",
        "hostname": "10.0.0.1",
        "port": 1080,
    }
    assert proxy_dict("http://u:p@proxy.example:3128")["username"] == "u"
    for bad in ("10.0.0.1:1080", "ftp://h:1", "socks5://host", "socks5://:1080", "socks5://h:x"):
        with pytest.raises(ValueError):
            proxy_dict(bad)


def test_the_session_string_says_who_it_is_logged_in_as():
    assert session_user_id(make_session_string(123456789)) == 123456789
    for bad in ("", "abc", make_session_string(0)):
        with pytest.raises(ValueError):
            session_user_id(bad)
