"""DoNotContactRepository: a prospect who opted out is known by username or by user id."""

from __future__ import annotations

from datetime import timedelta

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


async def test_the_listed_names_of_a_lead_list_are_found_in_one_read(new_uow):
    async with new_uow() as uow:
        await uow.do_not_contact.add(entry("alice_smith", 42))
        await uow.do_not_contact.add(entry("bob_jones"))
        await uow.do_not_contact.add(entry(user_id=77))  # no name: never among names
        await uow.commit()
    async with new_uow() as uow:
        among = uow.do_not_contact.usernames_among
        assert await among(["bob_jones", "carol_white", "alice_smith"]) == {
            "alice_smith",
            "bob_jones",
        }
        assert await among([]) == set()
        many = [f"lead_{i:05d}" for i in range(10_000)] + ["bob_jones"]
        assert await among(many) == {"bob_jones"}


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


async def test_the_list_pages_the_latest_added_first_and_counts_them_all(new_uow):
    async with new_uow() as uow:
        assert await uow.do_not_contact.newest(limit=10) == []
        assert await uow.do_not_contact.count() == 0
        await uow.do_not_contact.add(entry("first_one"))
        await uow.do_not_contact.add(entry("second_one"))  # the same moment: added later
        await uow.do_not_contact.add(
            DoNotContact("latest_one", 42, "asked", T0 + timedelta(minutes=5))
        )
        await uow.do_not_contact.add(entry(user_id=77, reason="no username"))
        await uow.commit()
    async with new_uow() as uow:
        first = await uow.do_not_contact.newest(limit=3)
        rest = await uow.do_not_contact.newest(limit=3, offset=3)
        assert await uow.do_not_contact.count() == 4
    assert [(e.username, e.user_id) for e in first] == [
        ("latest_one", 42),
        (None, 77),
        ("second_one", None),
    ]
    assert first[0] == DoNotContact("latest_one", 42, "asked", T0 + timedelta(minutes=5))
    assert first[1].reason == "no username" and first[1].created_at == T0
    assert [e.username for e in rest] == ["first_one"]


async def test_removing_by_username_or_user_id_takes_every_matching_entry(new_uow):
    async with new_uow() as uow:
        await uow.do_not_contact.add(entry("alice_smith"))
        await uow.do_not_contact.add(entry(user_id=42))  # alice under her user id only
        await uow.do_not_contact.add(entry("bob_jones", 77))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.do_not_contact.remove(username="alice_smith", user_id=42) == 2
        assert await uow.do_not_contact.remove(username="nobody_here") == 0
        assert await uow.do_not_contact.remove() == 0
        await uow.commit()
    async with new_uow() as uow:
        assert not await uow.do_not_contact.contains(username="alice_smith", user_id=42)
        assert await uow.do_not_contact.contains(username="bob_jones")
        assert await uow.do_not_contact.remove(user_id=77) == 1
        # Not committed: bob stays.
    async with new_uow() as uow:
        assert await uow.do_not_contact.contains(username="bob_jones")
        assert await uow.do_not_contact.count() == 1
