"""ConversationQueries: the dialogs waiting for an answer and those waiting for a follow-up."""

from __future__ import annotations

from salesbot.domain.dialog import DialogStatus
from salesbot.domain.message import Delivery, OutKind
from tests.contracts.seeding import add_account, add_dialog, at, incoming, outgoing

HOUR_IN = at(60)


async def awaiting(new_uow, queries, silent_since=HOUR_IN, max_follow_ups=1):
    found = await queries.awaiting_follow_up(
        silent_since=silent_since, max_follow_ups=max_follow_ups
    )
    async with new_uow() as uow:
        return [(await uow.dialogs.get(dialog_id)).target_username for dialog_id in found]


async def sent(uow, dialog, when, kind=OutKind.REPLY):
    message = outgoing(dialog, "text", kind=kind, send_after=when)
    message.delivery = Delivery.SENT
    message.sent_at = when
    return await uow.messages.add(message)


async def test_a_dialog_whose_last_word_is_ours_and_old_enough_awaits_a_follow_up(
    new_uow, conversation_queries
):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialogs = {}
        for name in ("waiting_one", "waiting_two", "they_spoke", "too_recent", "silent_yet"):
            dialogs[name] = await add_dialog(uow, account.id, name)
        await sent(uow, dialogs["waiting_one"], at(0), OutKind.OPENER)
        await uow.messages.add(incoming(dialogs["waiting_two"], "hi", 1, at(0)))
        await sent(uow, dialogs["waiting_two"], at(60))  # exactly at silent_since: included
        await sent(uow, dialogs["they_spoke"], at(0))
        await uow.messages.add(incoming(dialogs["they_spoke"], "hmm", 2, at(10)))
        await sent(uow, dialogs["too_recent"], at(61))
        await uow.commit()
    assert await awaiting(new_uow, conversation_queries) == ["waiting_one", "waiting_two"]


async def test_a_dialog_with_something_of_ours_still_queued_waits_for_it(
    new_uow, conversation_queries
):
    async with new_uow() as uow:
        account = await add_account(uow)
        pending = await add_dialog(uow, account.id, "has_pending")
        sending = await add_dialog(uow, account.id, "has_sending")
        for dialog in (pending, sending):
            await sent(uow, dialog, at(0))
        await uow.messages.add(outgoing(pending, "later", send_after=at(500)))
        claimed = outgoing(sending, "going out")
        claimed.delivery = Delivery.SENDING
        await uow.messages.add(claimed)
        await uow.commit()
    assert await awaiting(new_uow, conversation_queries) == []


async def test_cancelled_and_failed_messages_were_never_said(new_uow, conversation_queries):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        await sent(uow, dialog, at(0))
        for delivery in (Delivery.CANCELLED, Delivery.FAILED):
            message = outgoing(dialog, "never went", send_after=at(30))
            message.delivery = delivery
            await uow.messages.add(message)
        await uow.commit()
    assert await awaiting(new_uow, conversation_queries) == ["alice_smith"]


async def test_the_time_ours_was_sent_counts_not_when_it_was_queued(
    new_uow, conversation_queries
):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
        message = outgoing(dialog, "queued long ago", send_after=at(0))
        message.delivery = Delivery.SENT
        message.sent_at = at(90)
        await uow.messages.add(message)
        await uow.commit()
    assert await awaiting(new_uow, conversation_queries, silent_since=at(60)) == []
    assert await awaiting(new_uow, conversation_queries, silent_since=at(90)) == ["alice_smith"]


async def test_follow_ups_stop_at_the_maximum_and_only_active_dialogs_get_them(
    new_uow, conversation_queries
):
    async with new_uow() as uow:
        account = await add_account(uow)
        done = await add_dialog(uow, account.id, "had_enough", follow_ups_sent=2)
        once = await add_dialog(uow, account.id, "had_one", follow_ups_sent=1)
        paused = await add_dialog(uow, account.id, "paused_one", status=DialogStatus.PAUSED)
        await add_dialog(uow, account.id, "no_messages")
        for dialog in (done, once, paused):
            await sent(uow, dialog, at(0))
        await uow.commit()
    queries = conversation_queries
    assert await awaiting(new_uow, queries, max_follow_ups=2) == ["had_one"]
    assert await awaiting(new_uow, queries, max_follow_ups=3) == ["had_enough", "had_one"]
    assert await awaiting(new_uow, queries, max_follow_ups=0) == []


async def test_an_active_dialog_whose_newest_seen_message_is_the_prospects_awaits_an_answer(
    new_uow, conversation_queries
):
    async with new_uow() as uow:
        account = await add_account(uow)
        asked = await add_dialog(uow, account.id, "asked", target_user_id=1)
        answered = await add_dialog(uow, account.id, "answered", target_user_id=2)
        answer_dropped = await add_dialog(uow, account.id, "answer_dropped", target_user_id=3)
        paused = await add_dialog(
            uow, account.id, "paused", target_user_id=4, status=DialogStatus.PAUSED
        )
        unknown_user = await add_dialog(uow, account.id, "seed_adopted")
        for n, dialog in enumerate((asked, answered, answer_dropped, paused, unknown_user)):
            await uow.messages.add(incoming(dialog, "hello?", 10 + n, at(1)))
        await uow.messages.add(outgoing(answered, "queued answer", send_after=at(2)))
        cancelled = outgoing(answer_dropped, "cancelled answer", send_after=at(2))
        cancelled.delivery = Delivery.CANCELLED
        await uow.messages.add(cancelled)
        await uow.commit()
    assert await conversation_queries.awaiting_answer() == [asked.id, answer_dropped.id]
