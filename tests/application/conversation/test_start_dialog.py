"""`/start @user <notes>`: the opener is written and queued from the best account."""

import asyncio
from datetime import timedelta

import pytest

from salesbot.application.conversation.start_dialog import (
    DISCLOSURE_EN,
    DISCLOSURE_RU,
    StartDialog,
)
from salesbot.application.errors import (
    AlreadyInDialog,
    LlmRejected,
    LlmUnavailable,
    NoAccountAvailable,
    OnDoNotContact,
    RecipientUnreachable,
)
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.errors import InvalidUsername
from salesbot.domain.message import Delivery, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.script_language import script_language
from tests.application.conversation_support import World, answer
from tests.fakes import FakeUnitOfWork


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


async def test_the_opener_is_queued_pending_and_nothing_is_sent(world):
    account = await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте! Удобно пару минут?", stage="introduction", warmth=5))

    started = await world.conversation.start_dialog(
        StartDialog("@Salon_Owner", "Owner of two salons in Kazan")
    )

    assert started.username == "salon_owner"
    assert started.account_id == account.id
    assert started.opener == "Здравствуйте! Удобно пару минут?"
    [opener] = world.messages(started.dialog_id)
    assert (opener.kind, opener.delivery) == (OutKind.OPENER, Delivery.PENDING)
    assert opener.content == started.opener
    assert world.telegram.sent == []
    dialog = world.dialog(started.dialog_id)
    assert dialog.target_user_id == 5001
    assert dialog.notes == "Owner of two salons in Kazan"
    assert dialog.warmth == 5
    assert (dialog.prompt_tokens, dialog.completion_tokens) == (10, 5)
    request = world.llm.requests[0]
    assert request.json_mode
    assert "Owner of two salons in Kazan" in request.system


async def test_the_account_with_the_most_quota_left_is_chosen(world):
    today = world.clock.now().date()
    await world.add_account("+79990000001", daily_messages=15, quota_day=today)  # 5 left
    free = await world.add_account("+79990000002", daily_messages=5, quota_day=today)  # 15
    queued = await world.add_account("+79990000003")  # 20 left, but 18 already queued
    async with FakeUnitOfWork(world.store) as uow:
        holder = await uow.dialogs.add(Dialog(account_id=queued.id, target_username="holder"))
        for _ in range(18):
            await uow.messages.add(
                Message.outgoing(holder.id, queued.id, "x", world.clock.now(), OutKind.OPENER)
            )
        await uow.commit()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert started.account_id == free.id


async def test_a_new_account_in_warm_up_has_less_room(tmp_path):
    world = World(tmp_path, warmup_days=7)
    await world.add_account("+79990000001", daily_messages=12, quota_day=world.clock.now().date())
    fresh = await world.add_account("+79990000002")
    world.store.tables.accounts[fresh.id].created_at = world.clock.now()  # day 1 of warm-up
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert started.account_id != fresh.id  # 8 left beats the fresh account's 3


async def test_a_disconnected_or_disabled_account_is_never_chosen(world):
    account = await world.add_account()
    await world.telegram.disconnect(account.id)
    with pytest.raises(NoAccountAvailable):
        await world.conversation.start_dialog(StartDialog("salon_owner"))
    assert world.llm.calls == []


async def test_an_account_waiting_out_a_flood_wait_is_not_chosen_until_it_ends(world):
    waiting = await world.add_account(
        "+79990000001", flood_wait_until=world.clock.now() + timedelta(hours=1)
    )
    today = world.clock.now().date()
    other = await world.add_account("+79990000002", daily_messages=19, quota_day=today)
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert started.account_id == other.id, "one slot left beats a wait of an hour"
    await world.clock.advance(hours=1)
    world.telegram.add_user("second_owner", 5002)
    world.llm.queue(answer("Добрый день!"))
    again = await world.conversation.start_dialog(StartDialog("second_owner"))
    assert again.account_id == waiting.id, "the wait is over: the most room again"


async def test_a_cached_peer_is_used_without_resolving(world):
    account = await world.add_account()
    world.store.tables.peers[(account.id, "salon_owner")] = Peer(
        account.id, "salon_owner", 5001, 42
    )
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert world.telegram.resolves == []
    assert world.dialog(started.dialog_id).target_user_id == 5001


async def test_a_resolved_peer_is_stored_for_the_dispatcher(world):
    account = await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert world.telegram.resolves == [(account.id, "salon_owner")]
    peer = world.store.tables.peers[(account.id, "salon_owner")]
    assert peer.user_id == 5001


async def test_do_not_contact_is_refused_before_anything_happens(world):
    await world.add_account()
    world.store.tables.do_not_contact.append(
        DoNotContact("salon_owner", None, "asked to stop", world.clock.now())
    )
    with pytest.raises(OnDoNotContact):
        await world.conversation.start_dialog(StartDialog("salon_owner"))
    assert world.llm.calls == [] and world.telegram.resolves == []


async def test_a_user_on_do_not_contact_under_a_new_username_is_refused(world):
    await world.add_account()
    world.telegram.add_user("renamed_owner", 5001)
    world.store.tables.do_not_contact.append(
        DoNotContact("old_name", 5001, "asked to stop", world.clock.now())
    )
    with pytest.raises(OnDoNotContact):
        await world.conversation.start_dialog(StartDialog("renamed_owner"))
    assert world.llm.calls == []


async def test_an_open_dialog_is_refused(world):
    await world.add_account()
    dialog_id = await world.start()
    with pytest.raises(AlreadyInDialog) as caught:
        await world.conversation.start_dialog(StartDialog("salon_owner"))
    assert caught.value.dialog_id == dialog_id


async def test_invalid_and_unreachable_usernames_are_refused(world):
    await world.add_account()
    with pytest.raises(InvalidUsername):
        await world.conversation.start_dialog(StartDialog("not a name!"))
    with pytest.raises(RecipientUnreachable):
        await world.conversation.start_dialog(StartDialog("nobody_here"))
    assert world.store.tables.dialogs == {}


RUSSIAN_SCRIPT = (
    "# Скрипт продаж: Запись+\n"
    "Вы пишете от имени Запись+, сервиса онлайн-записи для салонов красоты (Zapis+ CRM). "
    "Цель: договориться о 15-минутном демо-звонке.\n"
)


async def test_ai_disclosure_adds_a_short_note_to_the_opener(tmp_path):
    world = World(tmp_path, disclosure=True, script_text=RUSSIAN_SCRIPT)
    await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert started.opener == f"Здравствуйте!\n\n{DISCLOSURE_RU}"
    assert world.pending(started.dialog_id) == [started.opener]


async def test_the_disclosure_follows_the_script_a_dialog_starts_with(tmp_path):
    world = World(tmp_path, disclosure=True)  # an English script
    await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.telegram.add_user("barber_shop", 5002)
    world.llm.queue(answer("Hello!"))

    english = await world.conversation.start_dialog(StartDialog("salon_owner"))
    await world.conversation.script.set(RUSSIAN_SCRIPT)  # /set_prompt
    world.llm.queue(answer("Здравствуйте!"))
    russian = await world.conversation.start_dialog(StartDialog("barber_shop"))

    assert english.opener == f"Hello!\n\n{DISCLOSURE_EN}"
    assert russian.opener == f"Здравствуйте!\n\n{DISCLOSURE_RU}"


@pytest.mark.parametrize(
    "text,language",
    [
        ("You write for Zapis+.", "en"),
        ("Вы пишете от имени Запись+.", "ru"),
        ("Вы пишете для Zapis+ CRM, онлайн-записи.", "ru"),
        ("You write for Zapis+ (Запись+), a booking service.", "en"),
        ("", "ru"),
    ],
)
def test_the_scripts_language_is_its_majority_alphabet(text, language):
    assert script_language(text) == language


async def test_an_unusable_opener_twice_stores_nothing(world):
    await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue("", answer(""))

    with pytest.raises(LlmUnavailable, match="empty twice"):
        await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert world.store.tables.dialogs == {}
    assert len(world.llm.calls) == 2


async def test_a_failed_opener_keeps_the_resolved_peer_so_a_retry_resolves_nothing(world):
    account = await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue("", answer(""), answer("Здравствуйте!"))

    with pytest.raises(LlmUnavailable):
        await world.conversation.start_dialog(StartDialog("salon_owner"))
    await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert world.telegram.resolves == [(account.id, "salon_owner")]
    assert len(world.store.tables.dialogs) == 1


async def test_a_model_that_rejects_us_reaches_the_operator_and_the_admin_once(world):
    await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(LlmRejected(LlmRejected.CREDITS, "out of credits (HTTP 402)"))

    with pytest.raises(LlmRejected):
        await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert world.store.tables.dialogs == {}
    [failing] = world.notifier.events
    assert "out of credits" in failing.reason


async def test_the_opener_is_one_message_and_its_outcome_is_ignored(world):
    await world.add_account()
    world.telegram.add_user("salon_owner", 5001)
    long_opener = (
        "Здравствуйте! Я ИИ-ассистент Zapis+, сервиса онлайн-записи для салонов красоты. "
        "Клиенты записываются сами по ссылке или через бота, круглосуточно и без звонков. "
        "Напоминания за сутки и за два часа сокращают неявки почти вдвое. Мастер видит своё "
        "расписание в телефоне, а владелец получает сводку по загрузке за неделю. Первые "
        "четырнадцать дней бесплатно, настройку делаем сами за один день. Подскажите, как "
        "сейчас к вам записываются клиенты?"
    )
    assert len(long_opener) > 320  # longer than a reply may be before it is split
    world.llm.queue(answer(long_opener, outcome="goal"))

    started = await world.conversation.start_dialog(StartDialog("salon_owner"))

    assert len(world.pending(started.dialog_id)) == 1
    assert world.dialog(started.dialog_id).ai_enabled
    assert world.clock.now() - world.dialog(started.dialog_id).created_at < timedelta(seconds=1)


async def test_a_named_account_is_used_whatever_its_quota_or_status(world):
    await world.add_account("+79990000001")
    stand_in = await world.add_account("+79990000002")
    async with FakeUnitOfWork(world.store) as uow:
        account = await uow.accounts.get(stand_in.id)
        account.disable()
        await uow.accounts.update(account)
        await uow.commit()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте!"))

    started = await world.conversation.start_dialog(
        StartDialog("salon_owner"), account_id=stand_in.id
    )

    assert started.account_id == stand_in.id


async def test_a_named_account_must_be_connected(world):
    account = await world.add_account()
    await world.telegram.disconnect(account.id)
    with pytest.raises(NoAccountAvailable):
        await world.conversation.start_dialog(StartDialog("salon_owner"), account_id=account.id)


async def test_a_start_right_after_a_restart_waits_for_the_accounts_first_try(world):
    """Measured: a /start typed (or replayed from the journal) in the first seconds after a
    restart was told there is no account while the accounts were still connecting."""
    async with world.uow() as uow:  # stored, not connected yet: the pool is starting
        account = await uow.accounts.add(
            Account(phone="+79990000001", session_string="s-1", created_at=world.clock.now())
        )
        await uow.commit()
    world.telegram.add_user("salon_owner", 5001)
    world.llm.queue(answer("Здравствуйте! Удобно пару минут?"))
    pool = world.container.pool()
    pool.expect_first_round()  # as `salesbot run` does before its components start

    starting = asyncio.create_task(world.conversation.start_dialog(StartDialog("@salon_owner")))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not starting.done()
    assert await pool.start_all() == {account.id}

    started = await asyncio.wait_for(starting, 5)
    assert started.account_id == account.id


async def test_without_a_start_under_way_no_account_is_said_at_once(world):
    async with world.uow() as uow:
        await uow.accounts.add(Account(phone="+79990000001", session_string="s-1"))
        await uow.commit()
    with pytest.raises(NoAccountAvailable):
        await asyncio.wait_for(world.conversation.start_dialog(StartDialog("@salon_owner")), 5)
