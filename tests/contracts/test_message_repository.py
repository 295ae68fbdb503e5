"""MessageRepository: history in order, idempotent incoming, the outbox's claims."""

from __future__ import annotations

import pytest

from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.media import Media, MediaKind
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from tests.contracts.seeding import (
    T0,
    account_and_dialog,
    add_account,
    add_dialog,
    at,
    incoming,
    outgoing,
)
from tests.contracts.seeding import (
    claim as claim_at,
)


async def test_every_field_of_a_message_is_kept(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    message = outgoing(dialog, "Здравствуйте! 👋", kind=OutKind.FOLLOW_UP, send_after=at(5))
    message.telegram_message_id = 2**40
    message.delivery = Delivery.FAILED
    message.sent_at = at(6)
    message.attempts = 3
    message.error = "privacy"
    message.last_word = True
    async with new_uow() as uow:
        added = await uow.messages.add(message)
        await uow.commit()
    assert added.id is not None
    async with new_uow() as uow:
        assert await uow.messages.get(added.id) == added
        assert await uow.messages.get(987654) is None
    message.id = added.id
    assert added == message


VOICE = Media(
    MediaKind.VOICE,
    file_id="AwACAgIAAxkBAAIB",
    file_unique_id="AgADxw4AAk",
    duration=14,
    mime_type="audio/ogg",
)
CONTACT = Media(MediaKind.CONTACT, phone="+79001234567", contact_name="Анна 😀")
LOCATION = Media(MediaKind.LOCATION, latitude=55.7558261, longitude=-37.6173)


@pytest.mark.parametrize("media", [VOICE, CONTACT, LOCATION, VOICE.transcribed("перезвоните")])
async def test_a_messages_media_is_kept_with_it(new_uow, media):
    _, dialog = await account_and_dialog(new_uow)
    message = incoming(dialog, media.content("подпись"), 1001)
    message.media = media
    async with new_uow() as uow:
        stored = await uow.messages.add_incoming(message, cancel_pending=["reply"])
        plain = await uow.messages.add_incoming(incoming(dialog, "text", 1002))
        await uow.commit()
    assert stored is not None and stored.media == media and stored.content == message.content
    assert plain is not None and plain.media is None
    async with new_uow() as uow:
        assert (await uow.messages.list_for_dialog(dialog.id)) == [stored, plain]
        # An update leaves it as it is, or changes it.
        stored.media = media.transcribed("новые слова")
        await uow.messages.update(stored)
        assert await uow.messages.get(stored.id) == stored
        plain.media = None
        await uow.messages.update(plain)
        assert (await uow.messages.get(plain.id)).media is None


async def test_an_update_can_move_the_dialogs_activity_in_the_same_write(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        message = await uow.messages.add(outgoing(dialog, "hello", send_after=at(1)))
        await uow.commit()
    message.delivery, message.telegram_message_id, message.sent_at = Delivery.SENT, 77, at(9)
    message.attempts, message.error = 2, ""
    async with new_uow() as uow:
        await uow.messages.update(message, dialog_activity_at=at(9))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.messages.get(message.id) == message
        touched = await uow.dialogs.get(dialog.id)
        assert touched is not None and touched.last_activity_at == at(9)
        missing = outgoing(dialog, "never stored")
        missing.id = 987654
        with pytest.raises(RecordNotFound):
            await uow.messages.update(missing, dialog_activity_at=at(10))
    dialog.last_activity_at = at(9)
    assert touched == dialog


async def test_a_message_without_an_account_takes_its_dialogs(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        added = await uow.messages.add(
            Message(dialog_id=dialog.id, direction=Direction.IN, content="hi", timestamp=T0)
        )
    assert added.account_id == account.id


async def test_a_message_needs_a_stored_dialog(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        orphan = Message.incoming(987654, account.id, "hi", T0, 1)
        with pytest.raises(RecordNotFound):
            await uow.messages.add(orphan)


async def test_an_incoming_message_delivered_twice_is_stored_once(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        first = await uow.messages.add_incoming(incoming(dialog, "hello", 1001))
        again = await uow.messages.add_incoming(incoming(dialog, "hello", 1001))
        await uow.commit()
    assert first is not None and first.id is not None
    assert again is None
    async with new_uow() as uow:
        # A later delivery, in a later transaction, is refused as well.
        assert await uow.messages.add_incoming(incoming(dialog, "hello", 1001)) is None
        assert await uow.messages.list_for_dialog(dialog.id) == [first]


async def test_telegram_ids_are_unique_per_account_only(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_account(uow, "+79002222222")
        other_dialog = await add_dialog(uow, other.id, "bob_jones")
        assert await uow.messages.add_incoming(incoming(dialog, "a", 7)) is not None
        assert await uow.messages.add_incoming(incoming(other_dialog, "b", 7)) is not None
        no_id = Message(
            dialog_id=dialog.id,
            account_id=dialog.account_id,
            direction=Direction.IN,
            content="c",
            timestamp=T0,
        )
        assert await uow.messages.add_incoming(no_id) is not None
        assert await uow.messages.add_incoming(no_id) is not None


async def test_update_writes_delivery_fields_and_keeps_dialog_account_direction(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, await _other_account(uow), "bob_jones")
        message = await uow.messages.add(outgoing(dialog, "draft"))
        await uow.commit()
    message.content = "final"
    message.delivery = Delivery.SENT
    message.sent_at = at(1)
    message.telegram_message_id = 555
    message.attempts = 1
    message.error = ""
    message.kind = OutKind.MANUAL
    message.send_after = at(2)
    message.timestamp = at(1)
    expected = message.copy()
    message.dialog_id = other.id  # a message never moves
    message.direction = Direction.IN
    async with new_uow() as uow:
        await uow.messages.update(message)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.messages.get(message.id) == expected


async def _other_account(uow) -> int:
    return (await add_account(uow, "+79002222222")).id


async def test_updating_a_message_never_stored_is_an_error(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    message = outgoing(dialog, "x")
    message.id = 987654
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.messages.update(message)


async def test_a_dialogs_history_is_in_time_order_then_id(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, dialog.account_id, "bob_jones")
        c = await uow.messages.add(incoming(dialog, "c", 3, at(3)))
        a = await uow.messages.add(incoming(dialog, "a", 1, at(1)))
        b1 = await uow.messages.add(outgoing(dialog, "b1", send_after=at(2)))
        b2 = await uow.messages.add(incoming(dialog, "b2", 2, at(2)))
        await uow.messages.add(incoming(other, "elsewhere", 9, at(0)))
        await uow.commit()
    async with new_uow() as uow:
        history = await uow.messages.list_for_dialog(dialog.id)
        assert [m.content for m in history] == ["a", "b1", "b2", "c"]
        assert history == [a, b1, b2, c]
        newest = await uow.messages.list_for_dialog(dialog.id, last=2)
        assert [m.content for m in newest] == ["b2", "c"]
        assert len(await uow.messages.list_for_dialog(dialog.id, last=10)) == 4
        assert await uow.messages.list_for_dialog(dialog.id, last=0) == []
        assert await uow.messages.list_for_dialog(987654) == []


async def test_streams_give_every_message_in_order_across_batches(new_uow):
    _, first = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        second = await add_dialog(uow, first.account_id, "bob_jones")
        for i in (4, 2, 0, 3, 1):
            await uow.messages.add(incoming(second, f"second {i}", 100 + i, at(i)))
            await uow.messages.add(incoming(first, f"first {i}", 200 + i, at(10 - i)))
        await uow.commit()
    async with new_uow() as uow:
        streamed = [
            m.content async for m in uow.messages.stream_for_dialog(second.id, batch_size=2)
        ]
        assert streamed == [f"second {i}" for i in range(5)]
        listed = await uow.messages.list_for_dialog(first.id)
        assert [m.content for m in listed] == [f"first {i}" for i in (4, 3, 2, 1, 0)]
        assert [m async for m in uow.messages.stream_for_dialog(first.id)] == listed


async def test_a_stream_left_early_does_not_break_the_unit_of_work(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        for i in range(5):
            await uow.messages.add(incoming(dialog, str(i), i + 1, at(i)))
        stream = uow.messages.stream_for_dialog(dialog.id, batch_size=2)
        assert (await stream.__anext__()).content == "0"
        await stream.aclose()
        assert len(await uow.messages.list_for_dialog(dialog.id)) == 5
        await uow.commit()


# --- the outbox ----------------------------------------------------------------------------


LATER = at(100)


async def claim(uow, account_id, now=LATER, include_cold=True):
    return await claim_at(uow, account_id, now, include_cold=include_cold)


async def test_claims_take_replies_then_follow_ups_then_openers_oldest_first(new_uow):
    account, _ = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        queued = [
            (OutKind.OPENER, at(0)),
            (OutKind.FOLLOW_UP, at(1)),
            (OutKind.REPLY, at(5)),
            (OutKind.MANUAL, at(3)),
            (OutKind.REPLY, at(3)),
            (OutKind.FOLLOW_UP, at(0)),
        ]
        ids = []
        for n, (kind, moment) in enumerate(queued):
            # One dialog each: within a dialog the order of queueing rules (below).
            dialog = await add_dialog(uow, account.id, f"prospect_{n}")
            message = outgoing(dialog, f"{kind.value}@{moment:%M}", kind=kind, send_after=moment)
            ids.append((await uow.messages.add(message)).id)
        order = []
        while (message := await claim(uow, account.id)) is not None:
            assert message.delivery is Delivery.SENDING
            order.append(message.id)
    # manual and reply share the top priority: oldest send_after, then id
    assert order == [ids[3], ids[4], ids[2], ids[5], ids[1], ids[0]]


async def test_a_claim_can_bring_the_claimed_messages_dialog_with_it(new_uow):
    account, first = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        second = await add_dialog(uow, account.id, "bob_jones")
        opener = outgoing(first, "hi", kind=OutKind.OPENER, send_after=at(0))
        opener = await uow.messages.add(opener)
        reply = await uow.messages.add(outgoing(second, "sure", send_after=at(1)))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.messages.claim_next(account.id, at(-1)) is None
        message, dialog = await uow.messages.claim_next(
            account.id, LATER, include_cold=False
        )
        assert (message.id, message.delivery) == (reply.id, Delivery.SENDING)
        assert dialog == await uow.dialogs.get(second.id)
        message, dialog = await uow.messages.claim_next(account.id, LATER)
        assert (message.id, dialog) == (opener.id, await uow.dialogs.get(first.id))
        assert await uow.messages.claim_next(account.id, LATER) is None
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.messages.get(reply.id)).delivery is Delivery.SENDING


async def test_a_dialogs_messages_are_claimed_in_the_order_they_were_queued(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        # Queued first, then rescheduled behind the others (a FloodWait, a retry).
        first = await uow.messages.add(outgoing(dialog, "first", send_after=at(90)))
        second = await uow.messages.add(outgoing(dialog, "second", send_after=at(0)))
        await uow.messages.add(outgoing(dialog, "third", send_after=at(0)))
        await uow.commit()
    async with new_uow() as uow:
        assert await claim(uow, dialog.account_id, now=at(89)) is None, "held back by first"
        assert (await claim(uow, dialog.account_id, now=at(90))).id == first.id
        await uow.commit()
    async with new_uow() as uow:
        assert await claim(uow, dialog.account_id) is None, "first is still on its way"
        sent = await uow.messages.get(first.id)
        sent.delivery = Delivery.SENT
        await uow.messages.update(sent)
        assert (await claim(uow, dialog.account_id)).id == second.id
        assert await claim(uow, dialog.account_id) is None
        await uow.rollback()
    async with new_uow() as uow:
        assert await claim(uow, dialog.account_id) is None, "rolled back: first is sending"


async def test_only_an_older_message_on_its_way_holds_a_dialog_back(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, account.id, "bob_jones")
        await uow.messages.add(incoming(dialog, "hi", 1))
        for delivery in (Delivery.SENT, Delivery.FAILED, Delivery.CANCELLED):
            settled = outgoing(dialog, delivery.value)
            settled.delivery = delivery
            await uow.messages.add(settled)
        waiting_elsewhere = await uow.messages.add(outgoing(other, "later", send_after=at(500)))
        mine = await uow.messages.add(outgoing(dialog, "mine"))
        theirs = await uow.messages.add(outgoing(other, "behind later"))
        assert (await claim(uow, account.id)).id == mine.id
        assert await claim(uow, account.id) is None
        assert (await uow.messages.get(theirs.id)).delivery is Delivery.PENDING
        assert (await claim(uow, account.id, now=at(500))).id == waiting_elsewhere.id


async def test_a_claim_is_written_and_never_handed_out_twice(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        queued = await uow.messages.add(outgoing(dialog, "hello"))
        await uow.commit()
    async with new_uow() as uow:
        claimed = await claim(uow, dialog.account_id)
        assert claimed is not None and claimed.id == queued.id
        assert claimed.delivery is Delivery.SENDING
        assert claimed.content == "hello"
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.messages.get(queued.id)).delivery is Delivery.SENDING
        assert await claim(uow, dialog.account_id) is None


async def test_a_claim_rolled_back_is_pending_again(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        queued = await uow.messages.add(outgoing(dialog, "hello"))
        await uow.commit()
    async with new_uow() as uow:
        assert await claim(uow, dialog.account_id) is not None
    async with new_uow() as uow:
        again = await claim(uow, dialog.account_id)
        assert again is not None and again.id == queued.id


async def test_only_due_messages_of_that_account_are_claimed(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, await _other_account(uow), "bob_jones")
        later = await uow.messages.add(outgoing(dialog, "later", send_after=at(101)))
        await uow.messages.add(outgoing(other, "not mine", send_after=at(0)))
        assert await claim(uow, dialog.account_id, now=at(100)) is None
        due = await claim(uow, dialog.account_id, now=at(101))  # send_after == now is due
        assert due is not None and due.id == later.id


async def test_openers_and_follow_ups_can_be_left_out_of_a_claim(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        opener = await uow.messages.add(outgoing(dialog, "hi", kind=OutKind.OPENER))
        assert await claim(uow, account.id, include_cold=False) is None
        quiet = await add_dialog(uow, account.id, "bob_jones")
        follow_up = await uow.messages.add(outgoing(quiet, "still there?", kind=OutKind.FOLLOW_UP))
        assert await claim(uow, account.id, include_cold=False) is None
        live = await add_dialog(uow, account.id, "carol_king")
        reply = await uow.messages.add(outgoing(live, "yes, we do", kind=OutKind.REPLY))
        assert (await claim(uow, account.id, include_cold=False)).id == reply.id
        assert await claim(uow, account.id, include_cold=False) is None
        assert (await claim(uow, account.id)).id == follow_up.id
        assert (await claim(uow, account.id)).id == opener.id


async def test_a_claim_can_take_only_some_kinds_and_still_keeps_each_dialogs_order(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        reply = await uow.messages.add(outgoing(dialog, "the AI's", kind=OutKind.REPLY))
        behind = await uow.messages.add(outgoing(dialog, "operator's", kind=OutKind.MANUAL))
        other = await add_dialog(uow, account.id, "bob_jones")
        opener = await uow.messages.add(outgoing(other, "hi", kind=OutKind.OPENER))
        free = await uow.messages.add(outgoing(other, "hello again", kind=OutKind.MANUAL))
        await uow.commit()
    only = {OutKind.MANUAL}
    async with new_uow() as uow:
        assert await uow.messages.claim_next(account.id, LATER, only=only) is None, (
            "each is held back by an older message of another kind"
        )
    async with new_uow() as uow:
        opener.delivery = Delivery.SENT
        await uow.messages.update(opener)
        message, found = await uow.messages.claim_next(account.id, LATER, only=only)
        assert (message.id, message.delivery, found.id) == (free.id, Delivery.SENDING, other.id)
        assert await uow.messages.claim_next(account.id, LATER, only=only) is None
        assert (await uow.messages.get(reply.id)).delivery is Delivery.PENDING
        assert (await uow.messages.get(behind.id)).delivery is Delivery.PENDING


async def test_incoming_and_settled_messages_are_never_claimed(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        await uow.messages.add(incoming(dialog, "hi", 1))
        settled = (
            Delivery.SENDING,
            Delivery.SENT,
            Delivery.FAILED,
            Delivery.CANCELLED,
            Delivery.DRAFT,
            Delivery.DISCARDED,
        )
        for delivery in settled:
            message = outgoing(dialog, delivery.value)
            message.delivery = delivery
            await uow.messages.add(message)
        assert await claim(uow, dialog.account_id) is None


async def test_the_next_pending_moment_per_account_or_overall(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        assert await uow.messages.next_pending_at() is None
        other = await add_dialog(uow, await _other_account(uow), "bob_jones")
        await uow.messages.add(outgoing(dialog, "b", send_after=at(20)))
        await uow.messages.add(outgoing(dialog, "a", send_after=at(10)))
        await uow.messages.add(outgoing(other, "c", send_after=at(5)))
        settled = outgoing(dialog, "gone", send_after=at(1))
        settled.delivery = Delivery.SENT
        await uow.messages.add(settled)
        assert await uow.messages.next_pending_at(account.id) == at(10)
        assert await uow.messages.next_pending_at(other.account_id) == at(5)
        assert await uow.messages.next_pending_at() == at(5)
        await claim(uow, other.account_id)
        assert await uow.messages.next_pending_at() == at(10)
        assert await uow.messages.next_pending_at(987654) is None


async def test_messages_by_delivery_state_in_id_order(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, await _other_account(uow), "bob_jones")
        first = await uow.messages.add(outgoing(dialog, "1"))
        elsewhere = await uow.messages.add(outgoing(other, "2"))
        second = await uow.messages.add(outgoing(dialog, "3"))
        await uow.messages.add(incoming(dialog, "in", 1))
        pending = await uow.messages.list_by_delivery(Delivery.PENDING)
        assert [m.id for m in pending] == [first.id, elsewhere.id, second.id]
        mine = await uow.messages.list_by_delivery(Delivery.PENDING, account_id=account.id)
        assert [m.id for m in mine] == [first.id, second.id]
        theirs = await uow.messages.list_by_delivery(Delivery.PENDING, dialog_id=other.id)
        assert theirs == [elsewhere]
        assert await uow.messages.list_by_delivery(Delivery.SENDING) == []
        await claim(uow, account.id)
        sending = await uow.messages.list_by_delivery(Delivery.SENDING, account_id=account.id)
        assert [m.id for m in sending] == [first.id]


async def test_cancelling_pending_messages_never_touches_one_being_sent(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, dialog.account_id, "bob_jones")
        being_sent = await uow.messages.add(outgoing(dialog, "going", send_after=at(0)))
        await claim(uow, dialog.account_id)
        reply = await uow.messages.add(outgoing(dialog, "reply", send_after=at(200)))
        follow_up = await uow.messages.add(
            outgoing(dialog, "nudge", kind=OutKind.FOLLOW_UP, send_after=at(200))
        )
        theirs = await uow.messages.add(outgoing(other, "other dialog", send_after=at(200)))
        assert await uow.messages.cancel_pending(dialog.id, kinds=["follow_up"]) == 1
        assert (await uow.messages.get(follow_up.id)).delivery is Delivery.CANCELLED
        assert (await uow.messages.get(reply.id)).delivery is Delivery.PENDING
        assert await uow.messages.cancel_pending(dialog.id) == 1
        assert (await uow.messages.get(reply.id)).delivery is Delivery.CANCELLED
        assert (await uow.messages.get(being_sent.id)).delivery is Delivery.SENDING
        assert (await uow.messages.get(theirs.id)).delivery is Delivery.PENDING
        assert await uow.messages.cancel_pending(dialog.id) == 0


async def test_cancelling_by_kind_takes_enum_members_too(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        for kind in (OutKind.REPLY, OutKind.OPENER, OutKind.MANUAL):
            await uow.messages.add(outgoing(dialog, kind.value, kind=kind))
        cancelled = await uow.messages.cancel_pending(
            dialog.id, kinds={OutKind.REPLY, OutKind.OPENER}
        )
        assert cancelled == 2
        left = await uow.messages.list_by_delivery(Delivery.PENDING)
        assert [m.kind for m in left] == [OutKind.MANUAL]


async def test_a_stored_incoming_message_cancels_its_dialogs_pending_kinds_with_it(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_dialog(uow, dialog.account_id, "bob_jones")
        being_sent = await uow.messages.add(outgoing(dialog, "going", send_after=at(0)))
        await claim(uow, dialog.account_id)
        reply = await uow.messages.add(outgoing(dialog, "reply", send_after=at(200)))
        nudge = await uow.messages.add(
            outgoing(dialog, "nudge", kind=OutKind.FOLLOW_UP, send_after=at(200))
        )
        manual = await uow.messages.add(
            outgoing(dialog, "operator", kind=OutKind.MANUAL, send_after=at(200))
        )
        theirs = await uow.messages.add(outgoing(other, "other dialog", send_after=at(200)))
        stored = await uow.messages.add_incoming(
            incoming(dialog, "hello", 501), cancel_pending=("reply", OutKind.FOLLOW_UP)
        )
        await uow.commit()
    assert stored is not None and stored.content == "hello"
    async with new_uow() as uow:
        mine = {m.id: m.delivery for m in await uow.messages.list_for_dialog(dialog.id)}
        other_dialogs = (await uow.messages.get(theirs.id)).delivery
    assert mine == {
        being_sent.id: Delivery.SENDING,
        reply.id: Delivery.CANCELLED,
        nudge.id: Delivery.CANCELLED,
        manual.id: Delivery.PENDING,
        stored.id: None,
    }
    assert other_dialogs is Delivery.PENDING


async def test_an_incoming_message_delivered_twice_cancels_nothing_the_second_time(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        first = await uow.messages.add_incoming(incoming(dialog, "hello", 1001))
        reply = await uow.messages.add(outgoing(dialog, "the answer to hello"))
        again = await uow.messages.add_incoming(
            incoming(dialog, "hello", 1001), cancel_pending=["reply"]
        )
        await uow.commit()
    assert first is not None and again is None
    async with new_uow() as uow:
        assert (await uow.messages.get(reply.id)).delivery is Delivery.PENDING
        assert len(await uow.messages.list_for_dialog(dialog.id)) == 2


async def test_an_incoming_message_for_no_dialog_cancels_nothing_and_is_an_error(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        orphan = Message.incoming(987654, account.id, "hi", T0, 1)
        with pytest.raises(RecordNotFound):
            await uow.messages.add_incoming(orphan, cancel_pending=["reply"])


async def test_a_message_can_be_queued_with_its_dialogs_new_state(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    dialog.summary, dialog.warmth, dialog.last_activity_at = "wants a call", 70, at(3)
    dialog.record_usage(100, 20, 0.5)
    dialog.pause("goal reached")  # the confirmation pauses the dialog as it is queued
    confirmation = outgoing(dialog, "Call on Thursday?")
    confirmation.last_word = True
    async with new_uow() as uow:
        queued = await uow.messages.add(confirmation, dialog=dialog)
        await uow.commit()
    assert queued.id is not None and queued.delivery is Delivery.PENDING and queued.last_word
    async with new_uow() as uow:
        assert await uow.dialogs.get(dialog.id) == dialog
        assert await uow.messages.list_for_dialog(dialog.id) == [queued]


async def test_a_message_queued_with_a_missing_dialog_is_not_stored(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    gone = Dialog(account_id=dialog.account_id, target_username="ghost", id=987654)
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.messages.add(outgoing(gone, "to nobody"), dialog=gone)
    async with new_uow() as uow:
        assert await uow.messages.list_by_delivery(Delivery.PENDING) == []


async def test_a_message_queued_with_a_dialog_reopened_twice_is_refused(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        dialog.stop("operator")
        await uow.dialogs.update(dialog)
        await add_dialog(uow, dialog.account_id, dialog.target_username)
        await uow.commit()
    dialog.status = DialogStatus.ACTIVE
    async with new_uow() as uow:
        with pytest.raises(DialogAlreadyOpen):
            await uow.messages.add(outgoing(dialog, "hello again"), dialog=dialog)
    async with new_uow() as uow:
        assert await uow.messages.list_for_dialog(dialog.id) == []


async def test_a_draft_is_neither_claimed_nor_counted_nor_due_until_it_is_pending(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        draft = await uow.messages.add(outgoing(dialog, "draft", send_after=at(0)).as_draft())
        await uow.commit()
    assert draft.delivery is Delivery.DRAFT
    async with new_uow() as uow:
        assert await claim(uow, account.id) is None
        assert await uow.messages.next_pending_at() is None
        assert await uow.messages.pending_counts() == {}
        assert await uow.messages.list_by_delivery(Delivery.DRAFT) == [draft]
        # Approved: it is an ordinary pending message.
        draft.delivery = Delivery.PENDING
        await uow.messages.update(draft)
        assert (await claim(uow, account.id)).id == draft.id


async def test_a_newer_incoming_message_supersedes_a_draft_as_it_cancels_pending_ones(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        draft = await uow.messages.add(outgoing(dialog, "draft").as_draft())
        opener = await uow.messages.add(outgoing(dialog, "hi", kind=OutKind.OPENER).as_draft())
        thrown = outgoing(dialog, "thrown away").as_draft()
        thrown.delivery = Delivery.DISCARDED
        thrown = await uow.messages.add(thrown)
        await uow.messages.add_incoming(incoming(dialog, "hello", 501), cancel_pending=["reply"])
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.messages.get(draft.id)).delivery is Delivery.CANCELLED
        assert (await uow.messages.get(opener.id)).delivery is Delivery.DRAFT
        assert (await uow.messages.get(thrown.id)).delivery is Delivery.DISCARDED
        assert await uow.messages.cancel_pending(dialog.id) == 1
        assert (await uow.messages.get(opener.id)).delivery is Delivery.CANCELLED


async def test_a_draft_is_the_newest_message_the_prospect_will_see_a_discarded_one_not(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        asked = await uow.messages.add_incoming(incoming(dialog, "price?", 501))
        draft = await uow.messages.add(outgoing(dialog, "draft", send_after=at(1)).as_draft())
        _, newest = await uow.dialogs.get_with_newest_message(dialog.id)
        assert newest == draft.id
        draft.delivery = Delivery.DISCARDED
        await uow.messages.update(draft)
        _, newest = await uow.dialogs.get_with_newest_message(dialog.id)
        assert newest == asked.id


async def test_a_conditional_update_writes_only_while_the_delivery_is_as_expected(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        draft = await uow.messages.add(outgoing(dialog, "draft").as_draft())
        await uow.commit()
    approved = draft.copy()
    approved.delivery = Delivery.PENDING
    discarded = draft.copy()
    discarded.delivery = Delivery.DISCARDED
    async with new_uow() as uow:
        assert await uow.messages.update_if(approved, delivery=Delivery.DRAFT)
        assert not await uow.messages.update_if(discarded, delivery=Delivery.DRAFT)
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.messages.get(draft.id)).delivery is Delivery.PENDING
        missing = draft.copy()
        missing.id = 987654
        assert not await uow.messages.update_if(missing, delivery=Delivery.DRAFT)
