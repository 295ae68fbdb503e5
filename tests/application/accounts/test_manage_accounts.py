"""AccountService: logging accounts in step by step, importing, switching, listing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from salesbot.application.accounts.manage_accounts import (
    AccountService,
    AccountSummary,
    LoginResult,
)
from salesbot.application.errors import (
    AccountNeedsLogin,
    CodeInvalid,
    DuplicateAccount,
    InvalidProxy,
    PasswordInvalid,
    PhoneBanned,
    UnknownAccount,
)
from salesbot.domain.account import AccountStatus
from salesbot.domain.errors import InvalidPhone
from salesbot.domain.message import OutKind
from tests.application.telegram_world import World
from tests.secrets import SHORT_SESSION_STRING, TWO_FA_PASSWORD

PHONE = "+79001234567"


def service(world: World, *, with_pool: bool = True) -> AccountService:
    """The container's: the service's own (with the pool), or the CLI's (without)."""
    return world.container.accounts() if with_pool else world.container.offline_accounts()


async def test_a_login_without_2fa_stores_the_account_active_and_starts_it():
    world = World()
    accounts = service(world)

    await accounts.begin_login("+7 (900) 123-45-67")
    result = await accounts.submit_code("+79001234567", "1 2 3 4 5")

    assert result.password_required is False and result.account_id is not None
    account = await world.account(result.account_id)
    assert account.phone == PHONE
    assert account.status is AccountStatus.ACTIVE
    assert account.session_string == f"session-for-{PHONE}"
    assert account.created_at == world.clock.now()
    assert world.pool.owned() == {result.account_id}
    assert world.tg.connected() == {result.account_id}


async def test_a_login_with_2fa_needs_the_password_and_a_wrong_one_can_be_retried():
    world = World()
    world.tg.login_passwords[PHONE] = TWO_FA_PASSWORD
    accounts = service(world)

    await accounts.begin_login(PHONE)
    assert await accounts.submit_code(PHONE, "12345") == LoginResult(password_required=True)
    with pytest.raises(PasswordInvalid):
        await accounts.submit_password(PHONE, "guess")
    result = await accounts.submit_password(PHONE, TWO_FA_PASSWORD)

    assert result.account_id is not None
    assert (await world.account(result.account_id)).status is AccountStatus.ACTIVE


async def test_a_wrong_code_leaves_the_login_open_for_the_right_one():
    world = World()
    accounts = service(world)
    await accounts.begin_login(PHONE)
    with pytest.raises(CodeInvalid):
        await accounts.submit_code(PHONE, "00000")
    assert (await accounts.submit_code(PHONE, "12-345")).account_id is not None


async def test_telegrams_refusals_reach_the_caller_by_name():
    world = World()
    world.tg.banned_phones.add(PHONE)
    with pytest.raises(PhoneBanned):
        await service(world).begin_login(PHONE)


async def test_the_proxy_is_stored_with_the_account():
    world = World()
    accounts = service(world)
    await accounts.begin_login(PHONE, proxy=" socks5://u:p@10.0.0.1:1080 ")
    result = await accounts.submit_code(PHONE, "12345")
    assert result.account_id is not None
    assert (await world.account(result.account_id)).proxy == "socks5://u:p@10.0.0.1:1080"


@pytest.mark.parametrize("proxy", ["10.0.0.1:1080", "ftp://h:21", "socks5://host", "socks5://:1"])
async def test_a_malformed_proxy_is_refused_before_telegram_is_asked(proxy):
    world = World()
    with pytest.raises(InvalidProxy):
        await service(world).begin_login(PHONE, proxy=proxy)


async def test_a_malformed_phone_is_refused():
    with pytest.raises(InvalidPhone):
        await service(World()).begin_login("call me")


async def test_an_account_that_exists_cannot_be_logged_in_twice():
    world = World()
    await world.add_account(PHONE)
    with pytest.raises(DuplicateAccount):
        await service(world).begin_login(PHONE)


async def test_a_logged_out_account_logs_in_again_keeping_its_id_and_proxy():
    world = World()
    account_id = await world.add_account(PHONE, status=AccountStatus.LOGGED_OUT)
    async with world.uow() as uow:
        account = await uow.accounts.get(account_id)
        assert account is not None
        account.proxy = "socks5://10.0.0.9:1080"
        await uow.accounts.update(account)
        await uow.commit()
    accounts = service(world)

    await accounts.begin_login(PHONE)
    result = await accounts.submit_code(PHONE, "12345")

    assert result.account_id == account_id
    account = await world.account(account_id)
    assert account.status is AccountStatus.ACTIVE
    assert account.session_string == f"session-for-{PHONE}"
    assert account.proxy == "socks5://10.0.0.9:1080"
    assert world.pool.owned() == {account_id}


async def test_import_stores_a_session_made_elsewhere_and_starts_it():
    world = World()
    account_id = await service(world).import_session(PHONE, f"  {SHORT_SESSION_STRING}\n")
    account = await world.account(account_id)
    assert account.session_string == SHORT_SESSION_STRING
    assert account.status is AccountStatus.ACTIVE
    assert world.pool.owned() == {account_id}


async def test_import_without_a_pool_only_stores_the_account():
    world = World()
    account_id = await service(world, with_pool=False).import_session(PHONE, SHORT_SESSION_STRING)
    assert (await world.account(account_id)).status is AccountStatus.ACTIVE
    assert world.tg.connects == []


async def test_disable_stops_the_client_and_enable_starts_it_again():
    world = World()
    account_id = await world.add_account(PHONE)
    await world.pool.start_all()
    accounts = service(world)

    await accounts.disable(PHONE)
    assert (await world.account(account_id)).status is AccountStatus.DISABLED
    assert world.tg.connected() == frozenset()

    await accounts.enable(PHONE)
    assert (await world.account(account_id)).status is AccountStatus.ACTIVE
    assert world.tg.connected() == {account_id}


async def test_a_logged_out_account_needs_a_login_not_an_enable():
    world = World()
    await world.add_account(PHONE, status=AccountStatus.LOGGED_OUT)
    with pytest.raises(AccountNeedsLogin):
        await service(world).enable(PHONE)


async def test_an_unknown_phone_is_named():
    with pytest.raises(UnknownAccount):
        await service(World()).disable(PHONE)


async def test_the_list_shows_quota_warm_up_next_slot_and_dialogs(engine):
    world = World(max_daily=20, min_delay=30, warmup_days=7, engine=engine)
    veteran = await world.add_account("+79000000001")
    newcomer = await world.add_account("+79000000002", created_at=world.clock.now())
    resting = await world.add_account(
        "+79000000003",
        status=AccountStatus.LIMITED,
        limited_until=world.clock.now() + timedelta(hours=5),
    )
    dialog_id, _ = await world.open_dialog(veteran, "prospect_one", 501, opener=None)
    await world.open_dialog(veteran, "prospect_two", 502, opener=None)
    await world.enqueue(dialog_id, "hello", OutKind.REPLY)
    await world.pool.start_all()
    await world.dispatcher.dispatch_once(veteran)
    now = world.clock.now()

    summaries = {s.id: s for s in await service(world).list_accounts()}

    assert summaries[veteran] == AccountSummary(
        id=veteran,
        phone="+79000000001",
        status=AccountStatus.ACTIVE,
        sent_today=1,
        daily_limit=20,
        next_free_at=now + timedelta(seconds=30),
        active_dialogs=2,
        limited_until=None,
        proxy_set=False,
    )
    assert summaries[newcomer].daily_limit == 3
    assert summaries[newcomer].next_free_at == now
    assert summaries[resting].next_free_at == datetime(2026, 1, 5, 14, 0, tzinfo=timezone.utc)
    assert summaries[resting].limited_until == summaries[resting].next_free_at
