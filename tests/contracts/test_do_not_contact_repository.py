"""DoNotContactRepository: a prospect who opted out is known by username or by user id."""

from __future__ import annotations

import pytest

from salesbot.application.errors import RecordNotFound
from salesbot.domain.do_not_contact import DoNotContact
from tests.contracts.seeding import T0, account_and_dialog


def entry(username=None, user_id=None, dialog_id=None, reason="asked to stop"):
    return DoNotContact(
        username=username, user_id=user_id, reason=reason, created_at=T0, dialog_id=dialog_id
    )


async def test_a_prospect_is_found_by_username_or_by_user_id(new_uow):
    _, dialog = await account_and_dialog(new_uow)
    async with new_uow() as uow:
        await uow.do_not_contact.add(entry("alice_smith", 42, dialog.id))
        await uow.do_not_contact.add(entry(username="bob_jones"))
        await uow.do_not_contact.add(entry(user_id=77))
        await uow.commit()
    async with new_uow() as uow:
        contains = uow.do_not_contact.contains
        assert await contains(username="alice_smith")
        assert await contains(user_id=42)
        assert await contains(username="bob_jones")
        assert await contains(user_id=77)
        assert await contains(username="somebody_else", user_id=42)  # either one matches
        assert not await contains(username="somebody_else")
        assert not await contains(user_id=43)
        assert not await contains()


async def test_adding_a_known_prospect_again_changes_nothing(new_uow):
    async with new_uow() as uow:
        await uow.do_not_contact.add(entry("alice_smith"))
        await uow.do_not_contact.add(entry("alice_smith", reason="again"))
        await uow.do_not_contact.add(entry("alice_smith", 42))
        await uow.commit()
    async with new_uow() as uow:
        await uow.do_not_contact.add(entry("alice_smith"))  # in a later transaction too
        await uow.commit()
        assert await uow.do_not_contact.contains(username="alice_smith")
        assert not await uow.do_not_contact.contains(user_id=42)


async def test_an_entry_may_only_name_a_stored_dialog(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.do_not_contact.add(entry("alice_smith", dialog_id=987654))
