"""The outbox dispatcher on fakes and a fake clock: what goes out, when, and what each
Telegram failure turns into."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.application.errors import (
    AccountDeactivated,
    AccountNotConnected,
    DatabaseUnavailable,
    RateLimited,
    RecipientUnreachable,
    SessionInvalid,
    SpamLimited,
    TelegramUnavailable,
)
from salesbot.application.outbox.dispatch import TypingPace
from salesbot.domain.account import AccountStatus
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import (
    AccountBanned,
    AccountLimited,
    AccountLoggedOut,
    DialogFailed,
    FloodWaitStarted,
    WaitingForQuota,
)
from salesbot.domain.message import Delivery, OutKind
from salesbot.domain.working_days import WorkingDays
from salesbot.domain.working_hours import WorkingHours
from tests.application.telegram_world import START, World
from tests.fakes import FakeClock, FakeTelegram, FakeUnitOfWork, InMemoryStore
from tests.fakes.telegram import SimulatedCrash


async def started(world: World, *account_ids: int) -> None:
    await world.pool.start_all()
    assert world.pool.owned() >= set(account_ids)


# --- the happy path ----------------------------------------------------------------------


async def test_a_pending_opener_is_sent_and_recorded():
    world = World()
    account = await world.add_account()
    dialog_id, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)

    assert await world.dispatcher.dispatch_once(account) is True

    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]
    message = await world.message(message_id)
    assert message.delivery is Delivery.SENT
    assert message.telegram_message_id == world.tg.sent[0].telegram_message_id
    assert message.sent_at == world.clock.now()
    assert (await world.dialog(dialog_id)).last_activity_at == world.clock.now()
    assert (await world.account(account)).daily_messages == 1


async def test_a_reply_marks_the_chat_read_and_types_for_a_time_that_grows_with_the_text():
    world = World(typing=TypingPace(base_seconds=1, chars_per_second=10, jitter=0.2))
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await started(world, account)

    await world.enqueue(dialog_id, "Sure.")
    before = world.clock.now()
    await world.dispatcher.dispatch_once(account)
    short_typing = world.clock.now() - before

    world.clock.advance(60)
    await world.enqueue(dialog_id, "A much longer answer that takes a person a while to type.")
    before = world.clock.now()
    await world.dispatcher.dispatch_once(account)
    long_typing = world.clock.now() - before

    assert world.tg.read == [(account, 501), (account, 501)]
    assert timedelta(0) < short_typing < long_typing <= timedelta(seconds=15)
    assert len(world.tg.typing) >= 3, "typing is repeated while it lasts"


async def test_typing_is_capped_for_very_long_texts():
    world = World(typing=TypingPace(max_seconds=8))
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await started(world, account)
    await world.enqueue(dialog_id, "word " * 2000)
    before = world.clock.now()
    await world.dispatcher.dispatch_once(account)
    assert world.clock.now() - before == timedelta(seconds=8)


async def test_a_missing_peer_is_resolved_once_by_the_account_and_stored():
    world = World()
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, resolve=False)
    await started(world, account)

    await world.dispatcher.dispatch_once(account)
    world.clock.advance(60)
    await world.enqueue(dialog_id, "one more")
    await world.dispatcher.dispatch_once(account)

    assert world.tg.resolves == [(account, "prospect_one")]
    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop.", "one more"]


async def test_a_message_of_a_closed_dialog_is_cancelled_not_sent():
    world = World()
    account = await world.add_account()
    dialog_id, message_id = await world.open_dialog(account, "prospect_one", 501)
    async with world.uow() as uow:
        dialog = await uow.dialogs.get(dialog_id)
        assert dialog is not None
        dialog.stop("operator")
        await uow.dialogs.update(dialog)
        await uow.commit()
    await started(world, account)

    assert await world.dispatcher.dispatch_once(account) is True
    assert (await world.message(message_id)).delivery is Delivery.CANCELLED
    assert world.tg.sent == []
    assert (await world.account(account)).daily_messages == 0


# --- quota -------------------------------------------------------------------------------


async def test_two_sends_of_one_account_are_never_closer_than_the_minimum_delay():
    world = World(min_delay=30)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(3):
        await world.enqueue(dialog_id, f"message {n}")
    await started(world, account)

    assert await world.dispatcher.dispatch_once(account)
    assert not await world.dispatcher.dispatch_once(account), "too soon"
    world.clock.advance(29)
    assert not await world.dispatcher.dispatch_once(account), "still too soon"
    world.clock.advance(1)
    assert await world.dispatcher.dispatch_once(account)
    assert world.dispatcher.next_wake(account) == world.clock.now() + timedelta(seconds=30)


async def test_the_minimum_delay_counts_from_the_send_for_whoever_claims_next():
    """The slot is taken when the message is claimed, the message goes after the typing
    pause (here 12 s). A dispatcher that takes the account over (a restart, another
    process) must still wait the delay from the send itself, not from the claim."""
    typing = TypingPace(base_seconds=12, chars_per_second=1e9, jitter=0, max_seconds=15)
    world = World(min_delay=30, typing=typing)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(2):
        await world.enqueue(dialog_id, f"message {n}")
    await started(world, account)
    claimed = world.clock.now()
    assert await world.dispatcher.dispatch_once(account)
    [first] = await world.sent_messages()
    assert first.sent_at == claimed + timedelta(seconds=12)

    taker = await world.restart()
    await taker.pool.start_all()
    world.clock.set(claimed + timedelta(seconds=31))  # the delay since the claim, not the send
    assert not await taker.dispatcher.dispatch_once(account)
    world.clock.set(first.sent_at + timedelta(seconds=30))
    assert await taker.dispatcher.dispatch_once(account)
    moments = sorted(m.sent_at for m in await world.sent_messages() if m.sent_at)
    assert moments[1] - moments[0] >= timedelta(seconds=30)


async def test_the_running_loop_keeps_the_minimum_delay_between_many_sends():
    world = World(min_delay=45, typing=TypingPace())
    account = await world.add_account()
    other = await world.add_account("+79000000002")
    dialogs = [await world.open_dialog(account, f"prospect_{n:02d}", 600 + n) for n in range(6)]
    dialogs += [await world.open_dialog(other, f"prospect_{n:02d}", 600 + n) for n in range(6, 10)]
    await started(world, account, other)

    await world.run_until(lambda: len(world.tg.sent) == 10, fake_seconds=3600)

    sent = await world.sent_messages()
    assert len(sent) == 10
    for owner in (account, other):
        moments = sorted(m.sent_at for m in sent if m.account_id == owner and m.sent_at)
        gaps = [b - a for a, b in itertools.pairwise(moments)]
        assert gaps and min(gaps) >= timedelta(seconds=45)


async def test_the_daily_limit_holds_even_across_a_restart():
    world = World(max_daily=3, min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(6):
        await world.enqueue(dialog_id, f"message {n}")
    await started(world, account)

    assert await world.drain(account) == 3
    restarted = await world.restart()
    await restarted.pool.start_all()
    assert await restarted.drain(account) == 0
    assert len(world.tg.sent) == 3

    world.clock.set(datetime(2026, 1, 6, 0, 0, 1, tzinfo=timezone.utc))
    assert await restarted.drain(account) == 3
    assert len(world.tg.sent) == 6


async def test_the_calendar_day_is_the_one_of_the_configured_time_zone():
    moscow = ZoneInfo("Europe/Moscow")
    world = World(max_daily=1, min_delay=0, tz=moscow)
    world.clock.set(datetime(2026, 1, 5, 20, 30, tzinfo=timezone.utc))  # 23:30 in Moscow
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await world.enqueue(dialog_id, "first")
    await world.enqueue(dialog_id, "second")
    await started(world, account)

    assert await world.drain(account) == 1
    world.clock.set(datetime(2026, 1, 5, 21, 0, 1, tzinfo=timezone.utc))  # 00:00 in Moscow
    assert await world.drain(account) == 1


async def test_a_new_account_warms_up_with_a_lower_daily_limit():
    world = World(max_daily=20, min_delay=0, warmup_days=7)
    account = await world.add_account(created_at=world.clock.now())
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(10):
        await world.enqueue(dialog_id, f"message {n}")
    await started(world, account)
    assert await world.drain(account) == 3  # ceil(20 * 1/8) on its first day


async def test_replies_go_before_openers_when_quota_is_scarce():
    world = World(max_daily=1, min_delay=0)
    account = await world.add_account()
    _, opener = await world.open_dialog(account, "cold_prospect", 501)
    world.clock.advance(60)
    live, _ = await world.open_dialog(account, "warm_prospect", 502, opener=None)
    await world.receive(live, "Interesting, tell me more")
    reply = await world.enqueue(live, "Gladly: here is how it works.")
    await started(world, account)

    assert await world.drain(account) == 1
    assert (await world.message(reply)).delivery is Delivery.SENT
    assert (await world.message(opener)).delivery is Delivery.PENDING


async def test_when_the_quota_is_spent_the_admin_is_told_once_when_the_message_will_go():
    world = World(max_daily=1, min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await world.enqueue(dialog_id, "first")
    await world.enqueue(dialog_id, "second")
    await started(world, account)

    await world.drain(account)
    await world.dispatcher.dispatch_once(account)
    world.clock.advance(600)
    await world.dispatcher.dispatch_once(account)

    waiting = world.notifier.of_type(WaitingForQuota)
    assert waiting == [
        WaitingForQuota(
            dialog_id=dialog_id,
            username="prospect_one",
            next_at=datetime(2026, 1, 6, tzinfo=timezone.utc),
        )
    ]
    # The AI's message waits for the next day, but the worker still looks every idle
    # period (5 s): the operator's messages pass a used cap.
    assert world.dispatcher.next_wake(account) == world.clock.now() + timedelta(seconds=5)


# --- the operator's messages and a used cap -----------------------------------------------


async def _cap_used(world: World, account: int) -> int:
    """Send the day's cap (2) of AI replies in one dialog, a third waiting behind them;
    the dialog's number."""
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    for n in range(3):
        await world.enqueue(dialog_id, f"ai {n}")
    await started(world, account)
    assert await world.dispatcher.dispatch_once(account)
    world.clock.advance(30)
    assert await world.dispatcher.dispatch_once(account)
    return dialog_id


async def test_with_the_cap_used_an_operators_message_goes_a_minimum_delay_later_and_counts():
    world = World(max_daily=2, min_delay=30)
    account = await world.add_account()
    ai_dialog = await _cap_used(world, account)
    last_send = world.clock.now()
    asked, _ = await world.open_dialog(account, "prospect_two", 502, opener=None)
    operator = await world.enqueue(asked, "from the operator", OutKind.MANUAL)

    world.clock.advance(29)
    assert not await world.dispatcher.dispatch_once(account), "the minimum delay still holds"
    assert world.dispatcher.next_wake(account) == last_send + timedelta(seconds=30)
    world.clock.advance(1)
    assert await world.dispatcher.dispatch_once(account)

    assert world.tg.sent_to(502) == ["from the operator"]
    assert (await world.message(operator)).sent_at == last_send + timedelta(seconds=30)
    assert (await world.account(account)).daily_messages == 3, "counted among the day's sends"
    # Only the AI's message was announced as waiting for the quota.
    assert [e.dialog_id for e in world.notifier.of_type(WaitingForQuota)] == [ai_dialog]


async def test_with_the_cap_used_the_ais_message_waits_for_the_next_day():
    world = World(max_daily=2, min_delay=30)
    account = await world.add_account()
    await _cap_used(world, account)
    asked, _ = await world.open_dialog(account, "prospect_two", 502, opener=None)
    await world.enqueue(asked, "from the operator", OutKind.MANUAL)
    world.clock.advance(30)
    assert await world.drain(account) == 1

    world.clock.advance(6 * 3600)
    assert await world.drain(account) == 0
    assert world.tg.sent_to(501) == ["ai 0", "ai 1"]

    world.clock.set(datetime(2026, 1, 6, 0, 0, 1, tzinfo=timezone.utc))
    assert await world.drain(account) == 1
    assert world.tg.sent_to(501) == ["ai 0", "ai 1", "ai 2"]
    assert (await world.account(account)).daily_messages == 1


async def test_two_operators_messages_past_the_cap_keep_the_minimum_delay_in_the_running_loop():
    world = World(max_daily=2, min_delay=30)
    account = await world.add_account()
    await _cap_used(world, account)
    asked, _ = await world.open_dialog(account, "prospect_two", 502, opener=None)
    # Written while the worker waits on the used cap.
    written_at = world.clock.now() + timedelta(seconds=600)
    for text in ("first words", "second words"):
        await world.enqueue(asked, text, OutKind.MANUAL, send_after=written_at)

    await world.run_until(lambda: len(world.tg.sent_to(502)) == 2, fake_seconds=3600)

    assert world.tg.sent_to(502) == ["first words", "second words"]
    first, second = sorted(
        m.sent_at for m in await world.sent_messages() if m.kind is OutKind.MANUAL and m.sent_at
    )
    assert written_at <= first <= written_at + timedelta(seconds=5), "found within an idle period"
    assert second - first >= timedelta(seconds=30)
    assert world.tg.sent_to(501) == ["ai 0", "ai 1"]
    assert (await world.account(account)).daily_messages == 4


async def test_a_flood_wait_on_an_operators_message_past_the_cap_gives_its_slot_back_once():
    world = World(max_daily=2, min_delay=30)
    account = await world.add_account()
    await _cap_used(world, account)
    asked, _ = await world.open_dialog(account, "prospect_two", 502, opener=None)
    await world.enqueue(asked, "from the operator", OutKind.MANUAL)
    world.clock.advance(30)
    world.tg.fail_next(account, RateLimited(120, "send"), on="send")

    await world.run_until(lambda: bool(world.tg.sent_to(502)), fake_seconds=3600)

    assert world.tg.sent_to(502) == ["from the operator"]
    assert world.tg.sent_to(501) == ["ai 0", "ai 1"], "the AI's still waits for tomorrow"
    assert (await world.account(account)).daily_messages == 3
    assert len(world.notifier.of_type(WaitingForQuota)) == 1


async def test_an_operators_message_behind_the_ais_waiting_one_in_its_dialog_waits_with_it():
    world = World(max_daily=2, min_delay=30)
    account = await world.add_account()
    ai_dialog = await _cap_used(world, account)
    operator = await world.enqueue(ai_dialog, "from the operator", OutKind.MANUAL)
    world.clock.advance(60)

    assert await world.drain(account) == 0, "a dialog's messages go in the order queued"
    assert (await world.message(operator)).delivery is Delivery.PENDING
    world.clock.set(datetime(2026, 1, 6, 0, 0, 1, tzinfo=timezone.utc))
    await world.run_until(lambda: len(world.tg.sent_to(501)) == 4, fake_seconds=600)
    assert world.tg.sent_to(501) == ["ai 0", "ai 1", "ai 2", "from the operator"]


# --- working hours -----------------------------------------------------------------------


async def test_openers_wait_for_working_hours_but_replies_do_not():
    world = World(min_delay=0, working_hours=WorkingHours.parse("09:00-18:00"))
    world.clock.set(datetime(2026, 1, 5, 20, 0, tzinfo=timezone.utc))
    account = await world.add_account()
    _, opener = await world.open_dialog(account, "cold_prospect", 501)
    live, _ = await world.open_dialog(account, "warm_prospect", 502, opener=None)
    reply = await world.enqueue(live, "Answering you now")
    await started(world, account)

    assert await world.drain(account) == 1
    assert (await world.message(reply)).delivery is Delivery.SENT
    assert (await world.message(opener)).delivery is Delivery.PENDING

    world.clock.set(datetime(2026, 1, 6, 8, 59, tzinfo=timezone.utc))
    assert await world.drain(account) == 0
    world.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc))
    assert await world.drain(account) == 1
    assert (await world.message(opener)).delivery is Delivery.SENT


async def test_working_hours_are_read_in_the_configured_time_zone():
    moscow = ZoneInfo("Europe/Moscow")
    world = World(
        min_delay=0, tz=moscow, working_hours=WorkingHours.parse("09:00-18:00", moscow)
    )
    world.clock.set(datetime(2026, 1, 5, 5, 59, tzinfo=timezone.utc))  # 08:59 in Moscow
    account = await world.add_account()
    await world.open_dialog(account, "cold_prospect", 501)
    await started(world, account)
    assert await world.drain(account) == 0
    world.clock.set(datetime(2026, 1, 5, 6, 0, tzinfo=timezone.utc))  # 09:00 in Moscow
    assert await world.drain(account) == 1


async def test_a_follow_up_queued_out_of_hours_waits_for_the_opening():
    world = World(min_delay=0, working_hours=WorkingHours.parse("09:00-18:00"))
    world.clock.set(datetime(2026, 1, 5, 17, 59, tzinfo=timezone.utc))
    account = await world.add_account()
    quiet, _ = await world.open_dialog(account, "quiet_prospect", 501, opener=None)
    follow_up = await world.enqueue(
        quiet,
        "Still interested?",
        OutKind.FOLLOW_UP,
        send_after=datetime(2026, 1, 5, 18, 0, tzinfo=timezone.utc),
    )
    await started(world, account)

    world.clock.set(datetime(2026, 1, 6, 3, 0, tzinfo=timezone.utc))
    assert await world.drain(account) == 0
    assert (await world.message(follow_up)).delivery is Delivery.PENDING
    world.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=timezone.utc))
    assert await world.drain(account) == 1
    assert (await world.message(follow_up)).delivery is Delivery.SENT


async def test_with_working_days_mon_fri_openers_skip_the_weekend_but_answers_do_not():
    hours = WorkingHours.parse("09:00-18:00").on(WorkingDays.parse("mon-fri"))
    world = World(min_delay=0, working_hours=hours)
    world.clock.set(datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc))  # Saturday noon
    account = await world.add_account()
    _, opener = await world.open_dialog(account, "cold_prospect", 501)
    live, _ = await world.open_dialog(account, "warm_prospect", 502, opener=None)
    reply = await world.enqueue(live, "Answering you on a Saturday")
    await started(world, account)

    assert await world.drain(account) == 1
    assert (await world.message(reply)).delivery is Delivery.SENT
    world.clock.set(datetime(2026, 1, 11, 12, 0, tzinfo=timezone.utc))  # Sunday noon
    assert await world.drain(account) == 0
    assert (await world.message(opener)).delivery is Delivery.PENDING
    world.clock.set(datetime(2026, 1, 12, 9, 0, tzinfo=timezone.utc))  # Monday 09:00
    assert await world.drain(account) == 1
    assert (await world.message(opener)).delivery is Delivery.SENT


# --- Telegram's failures -----------------------------------------------------------------


async def test_flood_wait_puts_the_account_to_sleep_exactly_that_long_and_reschedules():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, RateLimited(120, "send"), on="send")
    flood_at = world.clock.now()

    assert await world.dispatcher.dispatch_once(account)
    message = await world.message(message_id)
    assert message.delivery is Delivery.PENDING
    assert message.send_after == flood_at + timedelta(seconds=120)
    assert world.dispatcher.next_wake(account) == flood_at + timedelta(seconds=120)

    world.clock.advance(119)
    assert not await world.dispatcher.dispatch_once(account)
    assert world.tg.sent == []
    world.clock.advance(1)
    assert await world.dispatcher.dispatch_once(account)
    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]


async def test_peer_flood_limits_the_account_and_moves_only_unstarted_openers():
    world = World(min_delay=0, cooldown=timedelta(hours=24))
    flagged = await world.add_account("+79000000001")
    helper = await world.add_account("+79000000002")
    first, first_opener = await world.open_dialog(flagged, "cold_one", 501)
    second, second_opener = await world.open_dialog(flagged, "cold_two", 502)
    live, _ = await world.open_dialog(flagged, "warm_one", 503, opener=None)
    await world.receive(live, "hi")
    live_reply = await world.enqueue(live, "hello again", OutKind.REPLY, send_after=None)
    await started(world, flagged, helper)
    world.tg.fail_next(flagged, SpamLimited("PEER_FLOOD"), on="read")
    flagged_at = world.clock.now()

    assert await world.dispatcher.dispatch_once(flagged)  # the reply goes first and meets it

    account = await world.account(flagged)
    assert account.status is AccountStatus.LIMITED
    assert account.limited_until == flagged_at + timedelta(hours=24)
    assert world.notifier.of_type(AccountLimited) == [
        AccountLimited(account_id=flagged, phone="+79000000001", until=account.limited_until)
    ]
    for dialog_id, message_id in ((first, first_opener), (second, second_opener)):
        assert (await world.dialog(dialog_id)).account_id == helper
        assert (await world.message(message_id)).account_id == helper
    assert (await world.dialog(live)).account_id == flagged
    reply = await world.message(live_reply)
    assert reply.account_id == flagged and reply.delivery is Delivery.PENDING
    assert (helper, "cold_one") in world.tg.resolves and (helper, "cold_two") in world.tg.resolves

    assert await world.drain(helper) == 2
    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]
    assert [s.account_id for s in world.tg.sent] == [helper, helper]
    assert await world.drain(flagged) == 0, "a limited account does not send"


async def test_a_limited_account_talks_again_once_its_cool_down_ends():
    world = World(min_delay=0, cooldown=timedelta(hours=2))
    account = await world.add_account()
    live, _ = await world.open_dialog(account, "warm_one", 503, opener=None)
    await world.receive(live, "hi")
    await world.enqueue(live, "hello")
    await started(world, account)
    world.tg.fail_next(account, SpamLimited("PEER_FLOOD"), on="send")
    await world.dispatcher.dispatch_once(account)

    world.clock.advance(2 * 3600)
    await world.pool.refresh()
    assert (await world.account(account)).status is AccountStatus.ACTIVE
    assert await world.drain(account) == 1


@pytest.mark.parametrize(
    "reason",
    [
        RecipientUnreachable.PRIVACY,
        RecipientUnreachable.NOT_FOUND,
        RecipientUnreachable.DEACTIVATED,
        RecipientUnreachable.BLOCKED,
    ],
)
async def test_an_unreachable_prospect_fails_the_dialog_with_the_reason(reason):
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, message_id = await world.open_dialog(account, "prospect_one", 501)
    follow_up = await world.enqueue(
        dialog_id, "later", OutKind.FOLLOW_UP, send_after=world.clock.now() + timedelta(days=1)
    )
    await started(world, account)
    world.tg.fail_next(account, RecipientUnreachable(reason), on="send")

    await world.dispatcher.dispatch_once(account)

    assert (await world.message(message_id)).delivery is Delivery.FAILED
    assert (await world.message(follow_up)).delivery is Delivery.CANCELLED
    dialog = await world.dialog(dialog_id)
    assert dialog.status is DialogStatus.FAILED and dialog.status_reason == reason
    assert world.notifier.events == [
        DialogFailed(dialog_id=dialog_id, username="prospect_one", reason=reason)
    ]


async def test_a_prospect_whose_username_nobody_has_any_more_fails_at_resolve():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, resolve=False)
    world.tg.users.clear()
    await started(world, account)
    await world.dispatcher.dispatch_once(account)
    assert (await world.dialog(dialog_id)).status_reason == RecipientUnreachable.NOT_FOUND


async def test_a_revoked_session_logs_the_account_out_stops_it_and_keeps_the_message():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, SessionInvalid("AUTH_KEY_UNREGISTERED"), on="send")

    await world.dispatcher.dispatch_once(account)

    assert (await world.account(account)).status is AccountStatus.LOGGED_OUT
    assert world.notifier.events == [AccountLoggedOut(account_id=account, phone="+79000000001")]
    assert world.tg.connected() == frozenset() and world.pool.owned() == frozenset()
    assert world.locks.held() == set()
    assert (await world.message(message_id)).delivery is Delivery.PENDING


async def test_a_deactivated_account_is_banned_and_stopped():
    world = World(min_delay=0)
    account = await world.add_account()
    await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, AccountDeactivated("USER_DEACTIVATED_BAN"), on="send")

    await world.dispatcher.dispatch_once(account)

    assert (await world.account(account)).status is AccountStatus.BANNED
    assert world.notifier.events == [AccountBanned(account_id=account, phone="+79000000001")]
    assert world.tg.connected() == frozenset()


async def test_telegram_unavailable_retries_later_and_sends_once():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, TelegramUnavailable("network down"), on="send")

    await world.dispatcher.dispatch_once(account)
    message = await world.message(message_id)
    assert message.delivery is Delivery.PENDING and message.send_after > world.clock.now()

    world.clock.advance(61)
    assert await world.drain(account) == 1
    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]


async def test_a_lost_answer_is_found_in_the_chat_and_never_sent_twice():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_after_send(account, TelegramUnavailable("timed out waiting for the answer"))

    await world.dispatcher.dispatch_once(account)
    assert (await world.message(message_id)).delivery is Delivery.PENDING
    world.clock.advance(61)
    await world.drain(account)

    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]
    message = await world.message(message_id)
    assert message.delivery is Delivery.SENT
    assert message.telegram_message_id == world.tg.sent[0].telegram_message_id


async def test_an_unexplained_failure_is_retried_then_given_up_loudly():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    for _ in range(5):
        world.tg.fail_next(account, RuntimeError("a bug somewhere"), on="send")

    for _ in range(5):
        await world.dispatcher.dispatch_once(account)
        world.clock.advance(61)

    assert (await world.message(message_id)).delivery is Delivery.FAILED
    assert [type(e) for e in world.notifier.events] == [DialogFailed]
    assert (await world.dialog(dialog_id)).status is DialogStatus.FAILED


# --- crash safety ------------------------------------------------------------------------


async def test_a_message_sent_just_before_a_crash_is_recorded_not_sent_again():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_after_send(account, SimulatedCrash())
    with pytest.raises(SimulatedCrash):
        await world.dispatcher.dispatch_once(account)
    assert (await world.message(message_id)).delivery is Delivery.SENDING

    restarted = await world.restart()
    await restarted.pool.start_all()
    assert await restarted.dispatcher.reconcile_interrupted() == 1
    await restarted.drain(account)

    message = await restarted.message(message_id)
    assert message.delivery is Delivery.SENT
    assert message.telegram_message_id == world.tg.sent[0].telegram_message_id
    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]


async def test_a_message_the_crash_stopped_before_sending_goes_back_to_pending_and_once():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, SimulatedCrash(), on="send")  # dies before Telegram has it
    with pytest.raises(SimulatedCrash):
        await world.dispatcher.dispatch_once(account)

    restarted = await world.restart()
    await restarted.pool.start_all()
    await restarted.dispatcher.reconcile_interrupted()
    assert (await restarted.message(message_id)).delivery is Delivery.PENDING
    await restarted.drain(account)
    await restarted.drain(account)

    assert world.tg.sent_to(501) == ["Hello! A quick question about your shop."]


async def test_an_identical_text_already_recorded_does_not_count_as_the_interrupted_one():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await world.enqueue(dialog_id, "Thanks!")
    await started(world, account)
    await world.drain(account)
    second = await world.enqueue(dialog_id, "Thanks!")
    world.tg.fail_next(account, SimulatedCrash(), on="send")
    with pytest.raises(SimulatedCrash):
        await world.dispatcher.dispatch_once(account)

    restarted = await world.restart()
    await restarted.pool.start_all()
    await restarted.dispatcher.reconcile_interrupted()
    assert (await restarted.message(second)).delivery is Delivery.PENDING
    await restarted.drain(account)
    assert world.tg.sent_to(501) == ["Thanks!", "Thanks!"]


async def test_an_account_that_cannot_connect_keeps_its_interrupted_message_until_it_can():
    world = World(min_delay=0)
    account = await world.add_account(session="session-flaky")
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_after_send(account, SimulatedCrash())
    with pytest.raises(SimulatedCrash):
        await world.dispatcher.dispatch_once(account)

    restarted = await world.restart()
    world.tg.unavailable_sessions.add("session-flaky")
    await restarted.pool.start_all()
    assert await restarted.dispatcher.reconcile_interrupted() == 0
    assert (await restarted.message(message_id)).delivery is Delivery.SENDING

    world.tg.unavailable_sessions.clear()
    world.clock.advance(120)
    await restarted.pool.refresh()
    # The account's worker reconciles before it dispatches anything.
    await restarted.run_until(lambda: False, fake_seconds=30)
    assert (await restarted.message(message_id)).delivery is Delivery.SENT
    assert len(world.tg.sent_to(501)) == 1


async def test_after_a_restart_a_resolved_prospect_is_sent_to_without_resolving():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    await world.drain(account)
    assert world.tg.resolves == [(account, "prospect_one")]

    restarted = await world.restart()
    await restarted.pool.start_all()
    assert [p.username for p in world.tg.loaded_peers[account]] == ["prospect_one"]
    await restarted.receive(dialog_id, "who is this?")
    await restarted.enqueue(dialog_id, "We spoke yesterday, I'm from the shop.")
    await restarted.drain(account)

    assert world.tg.resolves == [(account, "prospect_one")]
    assert world.tg.sent_to(501)[-1] == "We spoke yesterday, I'm from the shop."


# --- the loop ----------------------------------------------------------------------------


async def test_an_idle_dispatcher_sleeps_instead_of_spinning():
    world = World()
    account = await world.add_account()
    await started(world, account)
    opened_before = world.uow.opened

    await world.run_until(lambda: False, fake_seconds=600)

    # One look per idle period (5 s), not one per event-loop turn.
    assert world.uow.opened - opened_before <= 600 / 5 + 5


async def test_the_loop_picks_up_a_message_enqueued_while_it_waits():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await started(world, account)
    await world.enqueue(dialog_id, "later", send_after=world.clock.now() + timedelta(seconds=90))

    await world.run_until(lambda: bool(world.tg.sent), fake_seconds=600)

    assert world.tg.sent_to(501) == ["later"]
    (message,) = await world.sent_messages()
    assert message.sent_at is not None
    assert message.sent_at >= message.send_after  # type: ignore[operator]


async def test_an_account_not_running_here_sends_nothing_and_spends_no_quota():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await world.pool.stop(account)

    assert await world.dispatcher.dispatch_once(account) is False
    assert (await world.message(message_id)).delivery is Delivery.PENDING
    assert (await world.account(account)).daily_messages == 0


async def test_a_paused_dialog_carries_the_operators_words_but_not_the_models():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    model_reply = await world.enqueue(dialog_id, "from the model", OutKind.REPLY)
    operator = await world.enqueue(dialog_id, "from the operator", OutKind.MANUAL)
    async with world.uow() as uow:
        dialog = await uow.dialogs.get(dialog_id)
        assert dialog is not None
        dialog.pause("operator took over")
        await uow.dialogs.update(dialog)
        await uow.commit()
    await started(world, account)

    await world.drain(account)

    assert world.tg.sent_to(501) == ["from the operator"]
    assert (await world.message(operator)).delivery is Delivery.SENT
    assert (await world.message(model_reply)).delivery is Delivery.CANCELLED


@pytest.fixture(params=["fake", "postgresql"])
def on_database(request):
    """World settings for the in-memory store or the real repositories on PostgreSQL."""
    if request.param == "fake":
        return {}
    return {"engine": request.getfixturevalue("engine")}


async def test_a_flood_wait_is_stored_and_a_restarted_dispatcher_waits_it_out(on_database):
    world = World(min_delay=0, **on_database)
    account = await world.add_account()
    _, flooded = await world.open_dialog(account, "prospect_one", 501)
    _, other = await world.open_dialog(account, "prospect_two", 502)
    await started(world, account)
    world.tg.fail_next(account, RateLimited(3600, "send"), on="send")
    flood_at = world.clock.now()

    await world.dispatcher.dispatch_once(account)
    assert (await world.account(account)).flood_wait_until == flood_at + timedelta(hours=1)

    world.clock.advance(60)
    restarted = await world.restart()
    await restarted.pool.start_all()
    assert await restarted.drain(account) == 0
    assert world.tg.sent == [], "the other dialog's opener waits too"
    assert restarted.dispatcher.next_wake(account) == flood_at + timedelta(hours=1)

    world.clock.set(flood_at + timedelta(hours=1))
    assert await restarted.drain(account) == 2
    assert (await restarted.message(flooded)).delivery is Delivery.SENT
    assert (await restarted.message(other)).delivery is Delivery.SENT


async def test_a_long_flood_wait_is_told_once_when_it_begins_not_again_after_a_restart():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await _queue_replies(world, dialog_id, 2)
    await started(world, account)
    world.tg.fail_next(account, RateLimited(600, "send"), on="send")
    flood_at = world.clock.now()

    await world.dispatcher.dispatch_once(account)
    await world.dispatcher.dispatch_once(account)
    restarted = await world.restart()
    await restarted.pool.start_all()
    await restarted.drain(account)

    until = flood_at + timedelta(minutes=10)
    told = FloodWaitStarted(account_id=account, phone="+79000000001", until=until)
    assert world.notifier.of_type(FloodWaitStarted) == [told]
    world.clock.set(until)
    assert await restarted.drain(account) == 2
    assert world.notifier.of_type(FloodWaitStarted) == [told]


async def test_a_short_flood_wait_is_only_logged_and_a_new_long_one_is_told_again():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    await _queue_replies(world, dialog_id, 2)
    await started(world, account)
    world.tg.fail_next(account, RateLimited(599, "send"), on="send")
    world.tg.fail_next(account, RateLimited(1200, "send"), on="send")
    world.tg.fail_next(account, RateLimited(1200, "send"), on="send")

    await world.run_until(lambda: len(world.tg.sent) == 2, fake_seconds=4 * 3600)

    assert len(world.tg.sent) == 2
    assert len(world.notifier.of_type(FloodWaitStarted)) == 2, "one per long wait"


# --- the order of a dialog's messages ----------------------------------------------------


async def _queue_replies(world: World, dialog_id: int, count: int) -> list[str]:
    texts = [f"part {n}" for n in range(count)]
    for text in texts:
        await world.enqueue(dialog_id, text)
    return texts


async def test_a_flood_wait_never_lets_a_dialogs_later_replies_overtake_the_flooded_one():
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    texts = await _queue_replies(world, dialog_id, 4)
    await started(world, account)
    world.tg.fail_next(account, RateLimited(120, "send"), on="send")
    world.tg.fail_next(account, RateLimited(30, "send"), on="send")
    world.tg.fail_next(account, RateLimited(5, "send"), on="send")

    await world.run_until(lambda: len(world.tg.sent) == 4, fake_seconds=3600)

    assert world.tg.sent_to(501) == texts


@pytest.mark.parametrize(
    ("error", "on"),
    [
        (TelegramUnavailable("network down"), "send"),  # maybe sent: checked in the chat first
        (TelegramUnavailable("network down"), "read"),  # certainly not sent
        (RateLimited(45, "read"), "read"),
        (RuntimeError("a bug somewhere"), "send"),
    ],
    ids=["unavailable-at-send", "unavailable-before-send", "flood-at-read", "unexplained"],
)
async def test_a_retried_message_still_goes_before_the_dialogs_later_ones(error, on):
    world = World(min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    texts = await _queue_replies(world, dialog_id, 3)
    await started(world, account)
    world.tg.fail_next(account, error, on=on)

    # Called again at once, as a second look would: the later parts must still wait.
    await world.dispatcher.dispatch_once(account)
    await world.dispatcher.dispatch_once(account)
    assert world.tg.sent == []
    await world.run_until(lambda: len(world.tg.sent) == 3, fake_seconds=3600)

    assert world.tg.sent_to(501) == texts


async def test_the_parts_of_a_split_reply_go_in_order_while_other_dialogs_go_on():
    world = World(min_delay=0)
    account = await world.add_account()
    split, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    other, _ = await world.open_dialog(account, "prospect_two", 502, opener=None)
    parts = await _queue_replies(world, split, 3)  # one answer, three messages
    await world.enqueue(other, "meanwhile")
    await started(world, account)
    world.tg.fail_next(account, TelegramUnavailable("network down"), on="send")

    await world.dispatcher.dispatch_once(account)  # part 0 fails and waits
    await world.dispatcher.dispatch_once(account)  # the other dialog is not held up

    assert world.tg.sent_to(502) == ["meanwhile"]
    assert world.tg.sent_to(501) == []
    await world.run_until(lambda: len(world.tg.sent) == 4, fake_seconds=3600)
    assert world.tg.sent_to(501) == parts


class _CommitFailsAfterSend(FakeTelegram):
    """Telegram takes the message, then the database goes away before it is recorded."""

    def __init__(self, clock, store) -> None:
        super().__init__(clock)
        self.store = store
        self.break_next_commit = False

    async def send_message(self, account_id, peer, text):
        sent = await super().send_message(account_id, peer, text)
        if len(self.sent) == 1:
            self.break_next_commit = True
        return sent


class _BreakableUow(FakeUnitOfWork):
    def __init__(self, telegram: _CommitFailsAfterSend) -> None:
        super().__init__(telegram.store)
        self._telegram = telegram

    async def commit(self) -> None:
        if self._telegram.break_next_commit:
            self._telegram.break_next_commit = False
            raise DatabaseUnavailable("connection lost")
        await super().commit()


async def test_a_message_left_sending_is_settled_by_the_running_worker_and_the_dialog_goes_on():
    clock, store = FakeClock(START), InMemoryStore()
    telegram = _CommitFailsAfterSend(clock, store)
    world = World(
        clock=clock, store=store, telegram=telegram, min_delay=0,
        sql_uow=lambda: _BreakableUow(telegram),
    )  # fmt: skip
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    texts = await _queue_replies(world, dialog_id, 3)
    await started(world, account)

    await world.run_until(lambda: len(world.tg.sent) == 3, fake_seconds=600)

    assert world.tg.sent_to(501) == texts, "each once, in order, without a restart"
    messages = [m for m in await world.sent_messages() if m.dialog_id == dialog_id]
    assert [m.content for m in messages] == texts
    assert len({m.telegram_message_id for m in messages}) == 3


# --- a refused send costs no quota ---------------------------------------------------------


async def test_flood_waits_give_their_slots_back_so_the_whole_daily_quota_is_sent():
    world = World(max_daily=4, min_delay=0)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    texts = await _queue_replies(world, dialog_id, 4)
    await started(world, account)
    for seconds in (60, 30, 10):
        world.tg.fail_next(account, RateLimited(seconds, "send"), on="send")

    await world.run_until(lambda: len(world.tg.sent) == 4, fake_seconds=3600)

    assert world.tg.sent_to(501) == texts
    assert (await world.account(account)).daily_messages == 4


@pytest.mark.parametrize(
    ("error", "on"),
    [
        (RateLimited(60, "send"), "send"),
        (AccountNotConnected(1), "send"),
        (TelegramUnavailable("network down"), "read"),
        (RecipientUnreachable(RecipientUnreachable.PRIVACY), "send"),
        (SessionInvalid("AUTH_KEY_UNREGISTERED"), "send"),
    ],
    ids=["flood-wait", "not-connected", "unavailable-before-send", "privacy", "logged-out"],
)
async def test_a_send_telegram_certainly_refused_counts_nothing(error, on):
    world = World(min_delay=30)
    account = await world.add_account()
    dialog_id, _ = await world.open_dialog(account, "prospect_one", 501, opener=None)
    message_id = await world.enqueue(dialog_id, "A reply: the chat is marked read first.")
    await started(world, account)
    world.tg.fail_next(account, error, on=on)
    tried_at = world.clock.now()

    await world.dispatcher.dispatch_once(account)

    assert world.tg.sent == []
    stored = await world.account(account)
    assert stored.daily_messages == 0
    assert stored.last_used == tried_at, "the minimum delay still counts from the attempt"
    assert (await world.message(message_id)).delivery is not Delivery.SENT


async def test_a_send_that_may_have_reached_telegram_stays_counted():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_next(account, TelegramUnavailable("timed out"), on="send")

    await world.dispatcher.dispatch_once(account)

    assert (await world.account(account)).daily_messages == 1
    assert (await world.message(message_id)).delivery is Delivery.PENDING


async def test_a_lost_answer_found_in_the_chat_is_counted_once():
    world = World(min_delay=0)
    account = await world.add_account()
    _, message_id = await world.open_dialog(account, "prospect_one", 501)
    await started(world, account)
    world.tg.fail_after_send(account, TelegramUnavailable("timed out waiting for the answer"))

    await world.dispatcher.dispatch_once(account)
    assert (await world.account(account)).daily_messages == 1
    world.clock.advance(61)
    await world.drain(account)

    assert (await world.message(message_id)).delivery is Delivery.SENT
    assert len(world.tg.sent) == 1
    assert (await world.account(account)).daily_messages == 1
