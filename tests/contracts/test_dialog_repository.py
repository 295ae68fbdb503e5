"""DialogRepository: one open dialog per prospect, lookups, the admin's list, follow-ups."""

from __future__ import annotations

import pytest

from salesbot.application.errors import DialogAlreadyOpen, RecordNotFound
from salesbot.domain.dialog import Dialog, DialogStatus, Outcome, Stage
from salesbot.domain.message import Delivery, OutKind
from tests.contracts.seeding import (
    T0,
    account_and_dialog,
    add_account,
    add_dialog,
    at,
    claim,
    incoming,
    outgoing,
)


async def test_every_field_of_a_dialog_is_kept(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        added = await uow.dialogs.add(
            Dialog(
                account_id=account.id,
                target_username="alice_smith",
                target_user_id=5_000_000_001,
                notes="met at the fair; wants a demo",
                created_at=T0,
                last_activity_at=at(5),
                stage=Stage.OBJECTIONS,
                warmth=70,
                outcome=Outcome.HANDOFF,
                summary="asked for prices",
                status_reason="",
                follow_ups_sent=1,
                prompt_tokens=1200,
                completion_tokens=300,
                cached_tokens=900,
                cost_usd=0.0125,
                review=True,
            )
        )
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.dialogs.get(added.id) == added
    assert added.id is not None
    assert (added.stage, added.warmth, added.cost_usd) == (Stage.OBJECTIONS, 70, 0.0125)
    assert added.cached_tokens == 900


async def test_a_new_dialog_starts_its_activity_at_creation(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await add_dialog(uow, account.id)
    assert dialog.created_at == T0
    assert dialog.last_activity_at == T0


async def test_without_created_at_the_store_stamps_it(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        dialog = await uow.dialogs.add(Dialog(account_id=account.id, target_username="bob_jones"))
    assert dialog.created_at is not None
    assert dialog.last_activity_at == dialog.created_at


async def test_unknown_dialogs_are_none(new_uow):
    async with new_uow() as uow:
        assert await uow.dialogs.get(987654) is None


async def test_a_dialog_needs_a_stored_account(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.dialogs.add(Dialog(account_id=987654, target_username="alice_smith"))


@pytest.mark.parametrize("status", [DialogStatus.ACTIVE, DialogStatus.PAUSED])
async def test_a_prospect_in_an_open_dialog_cannot_get_a_second_one(new_uow, status):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        await add_dialog(uow, first.id, status=status)
        with pytest.raises(DialogAlreadyOpen) as refused:
            await add_dialog(uow, second.id)
        assert refused.value.username == "alice_smith"
        # The refusal leaves the unit of work usable.
        other = await add_dialog(uow, second.id, "bob_jones")
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.dialogs.find_open_by_username("alice_smith") is not None
        assert await uow.dialogs.get(other.id) == other


@pytest.mark.parametrize(
    "closed",
    [DialogStatus.STOPPED, DialogStatus.FINISHED, DialogStatus.OPTED_OUT, DialogStatus.FAILED],
)
async def test_closed_dialogs_never_block_a_new_one(new_uow, closed):
    async with new_uow() as uow:
        account = await add_account(uow)
        added = [
            await add_dialog(uow, account.id, status=closed),
            await add_dialog(uow, account.id, status=closed),
            await add_dialog(uow, account.id),
            await add_dialog(uow, account.id, status=closed),  # beside an open one: fine too
        ]
        assert len({dialog.id for dialog in added}) == 4


async def test_update_writes_every_field_but_the_account_and_creation(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        other = await add_account(uow, "+79009999999")
        await uow.commit()
    dialog.pause("operator took over")
    dialog.record_progress(Stage.VALUE, 55)
    dialog.record_usage(100, 20, 0.001, cached_tokens=64)
    dialog.summary = "likes the product"
    dialog.target_user_id = 777
    dialog.last_activity_at = at(30)
    dialog.follow_ups_sent = 1
    dialog.context = "new context"
    expected = dialog.copy()
    dialog.account_id = other.id  # ignored: a dialog keeps its account
    dialog.created_at = at(99)  # ignored too
    async with new_uow() as uow:
        await uow.dialogs.update(dialog)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.dialogs.get(dialog.id) == expected


async def test_updating_a_dialog_never_stored_is_an_error(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        with pytest.raises(RecordNotFound):
            await uow.dialogs.update(
                Dialog(account_id=account.id, target_username="alice_smith", id=987654)
            )


async def test_an_update_that_would_open_a_second_dialog_is_refused(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        old = await add_dialog(uow, account.id, status=DialogStatus.STOPPED)
        await add_dialog(uow, account.id)
        old.status = DialogStatus.ACTIVE  # past the domain's rules, as a bug would
        with pytest.raises(DialogAlreadyOpen):
            await uow.dialogs.update(old)


async def test_the_open_dialog_of_a_prospect_is_found_from_any_account(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        await add_dialog(uow, first.id, status=DialogStatus.FINISHED)
        paused = await add_dialog(uow, second.id, status=DialogStatus.PAUSED)
        await add_dialog(uow, first.id, "bob_jones", status=DialogStatus.STOPPED)
        assert await uow.dialogs.find_open_by_username("alice_smith") == paused
        assert await uow.dialogs.find_open_by_username("bob_jones") is None
        assert await uow.dialogs.find_open_by_username("nobody_here") is None


async def test_the_newest_dialog_of_each_name_in_a_list_is_found_from_any_account(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow)
        second = await add_account(uow, phone="+79007654321")
        await add_dialog(uow, first.id, status=DialogStatus.FINISHED)
        alice_now = await add_dialog(uow, second.id, status=DialogStatus.PAUSED)
        bob = await add_dialog(uow, first.id, "bob_jones", status=DialogStatus.OPTED_OUT)
        await add_dialog(uow, first.id, "carol_white")
        await uow.commit()
    async with new_uow() as uow:
        numbers = uow.dialogs.numbers_by_username
        wanted = ["alice_smith", "bob_jones", "nobody_here", "alice_smith"]
        assert await numbers(wanted) == {"alice_smith": alice_now.id, "bob_jones": bob.id}
        assert await numbers([]) == {}
        many = [f"lead_{i:05d}" for i in range(10_000)] + ["carol_white"]
        assert list(await numbers(many)) == ["carol_white"]


async def test_an_incoming_message_finds_the_newest_dialog_of_that_account_and_user(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        await add_dialog(uow, first.id, target_user_id=42, status=DialogStatus.FINISHED)
        newest = await add_dialog(uow, first.id, target_user_id=42, status=DialogStatus.STOPPED)
        elsewhere = await add_dialog(uow, second.id, "bob_jones", target_user_id=42)
        assert await uow.dialogs.find_for_incoming(first.id, 42) == newest
        assert await uow.dialogs.find_for_incoming(second.id, 42) == elsewhere
        assert await uow.dialogs.find_for_incoming(first.id, 43) is None


async def test_a_dialog_without_a_user_id_is_found_by_its_username(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        adopted = await add_dialog(uow, first.id, "carol_white", target_user_id=None)
        await add_dialog(
            uow, second.id, "carol_white", target_user_id=None, status=DialogStatus.STOPPED
        )
        known = await add_dialog(uow, first.id, "dave_brown", target_user_id=77)
        found = await uow.dialogs.find_for_incoming(first.id, 55, username="carol_white")
        assert found == adopted
        # A user id, once known, wins; a known user id is never taken over by a username.
        assert await uow.dialogs.find_for_incoming(first.id, 77, username="carol_white") == known
        assert await uow.dialogs.find_for_incoming(first.id, 55, username="dave_brown") is None
        assert await uow.dialogs.find_for_incoming(first.id, 55) is None


# --- reassign -------------------------------------------------------------------------------


async def test_reassigning_moves_the_dialog_and_only_its_pending_messages(new_uow):
    async with new_uow() as uow:
        limited = await add_account(uow, "+79001111111")
        fresh = await add_account(uow, "+79002222222")
        dialog = await add_dialog(uow, limited.id, target_user_id=42)
        other = await add_dialog(uow, limited.id, "bob_jones")
        opener = await uow.messages.add(outgoing(dialog, "hi", kind=OutKind.OPENER))
        going = outgoing(dialog, "already going")
        going.delivery = Delivery.SENDING
        going = await uow.messages.add(going)
        heard = await uow.messages.add(incoming(dialog, "hello", 1))
        untouched = await uow.messages.add(outgoing(other, "stays"))
        await uow.commit()
    async with new_uow() as uow:
        await uow.dialogs.reassign(dialog.id, fresh.id)
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.dialogs.get(dialog.id)).account_id == fresh.id
        assert (await uow.dialogs.get(other.id)).account_id == limited.id
        assert (await uow.messages.get(opener.id)).account_id == fresh.id
        assert (await uow.messages.get(going.id)).account_id == limited.id
        assert (await uow.messages.get(heard.id)).account_id == limited.id
        assert (await uow.messages.get(untouched.id)).account_id == limited.id
        assert (await uow.dialogs.find_for_incoming(fresh.id, 42)).id == dialog.id
        claimed = await claim(uow, fresh.id, at(100))
        assert claimed is not None and claimed.id == opener.id


async def test_reassigning_needs_a_stored_dialog_and_account(new_uow):
    account, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.dialogs.reassign(987654, account.id)
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.dialogs.reassign(dialog.id, 987654)


async def test_a_dialog_comes_with_its_newest_message_the_prospect_saw_or_will_see(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        assert await uow.dialogs.get_with_newest_message(dialog.id) == (dialog, None)
        assert await uow.dialogs.get_with_newest_message(987654) is None
        first = await uow.messages.add(incoming(dialog, "hello", 1, at(1)))
        assert await uow.dialogs.get_with_newest_message(dialog.id) == (dialog, first.id)
        queued = await uow.messages.add(outgoing(dialog, "hi there", send_after=at(2)))
        assert await uow.dialogs.get_with_newest_message(dialog.id) == (dialog, queued.id)
        for delivery in (Delivery.CANCELLED, Delivery.FAILED):
            dropped = outgoing(dialog, "never seen", send_after=at(3))
            dropped.delivery = delivery
            await uow.messages.add(dropped)
        assert await uow.dialogs.get_with_newest_message(dialog.id) == (dialog, queued.id)
        # Same timestamp: the higher id is the newer.
        again = await uow.messages.add(incoming(dialog, "and?", 2, at(2)))
        assert await uow.dialogs.get_with_newest_message(dialog.id) == (dialog, again.id)
