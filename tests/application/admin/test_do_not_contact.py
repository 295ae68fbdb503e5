"""The operator's do-not-contact list on the in-memory store: who an entry added by hand
names, and what taking one off removes."""

import pytest

from salesbot.application.admin.do_not_contact import (
    AddToDoNotContact,
    DoNotContactList,
    RemoveFromDoNotContact,
)
from salesbot.application.errors import NotOnDoNotContact
from salesbot.domain.account import Account
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.errors import InvalidUsername
from salesbot.domain.peer import Peer
from tests.fakes import FakeClock, FakeUnitOfWork, InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(clock=FakeClock())


@pytest.fixture
def listing(store) -> DoNotContactList:
    return DoNotContactList(lambda: FakeUnitOfWork(store), FakeClock(), page_size=2)


async def accounts_knowing(store, username, *user_ids) -> None:
    """One account per user id, each having resolved `username` to it."""
    async with FakeUnitOfWork(store) as uow:
        for n, user_id in enumerate(user_ids):
            account = await uow.accounts.add(
                Account(phone=f"+7900123456{n}", session_string="", created_at=FakeClock().now())
            )
            assert account.id is not None
            await uow.peers.put(Peer(account.id, username, user_id, 1))
        await uow.commit()


async def test_a_username_two_people_held_is_listed_by_the_username_alone(store, listing):
    await accounts_knowing(store, "anna_salon", 5002, 6006)

    added = await listing.add(AddToDoNotContact("@Anna_Salon", "  asked  "))

    assert (added.username, added.user_id, added.added) == ("anna_salon", None, True)
    [entry] = store.tables.do_not_contact
    assert (entry.username, entry.user_id, entry.reason) == ("anna_salon", None, "asked")


async def test_a_prospect_listed_under_their_user_id_is_not_added_twice(store, listing):
    await accounts_knowing(store, "anna_salon", 5002)
    store.tables.do_not_contact.append(
        DoNotContact("anna_old_name", 5002, "opted out", FakeClock().now())
    )

    added = await listing.add(AddToDoNotContact("anna_salon"))

    assert not added.added
    assert len(store.tables.do_not_contact) == 1


async def test_removing_a_username_takes_the_entries_of_its_user_id_and_nothing_else(
    store, listing
):
    await accounts_knowing(store, "anna_salon", 5002)
    now = FakeClock().now()
    store.tables.do_not_contact += [
        DoNotContact("anna_old_name", 5002, "opted out", now),
        DoNotContact("bob_jones", 77, "opted out", now),
    ]
    assert await listing.is_listed(RemoveFromDoNotContact(username="anna_salon"))

    assert await listing.remove(RemoveFromDoNotContact(username="anna_salon")) == 1

    assert [e.username for e in store.tables.do_not_contact] == ["bob_jones"]
    with pytest.raises(NotOnDoNotContact):
        await listing.remove(RemoveFromDoNotContact(username="anna_salon"))
    assert not await listing.is_listed(RemoveFromDoNotContact(user_id=5002))


async def test_a_page_past_the_end_is_the_last_and_a_bad_username_is_refused(store, listing):
    for name in ("lead_one", "lead_two", "lead_three"):
        await listing.add(AddToDoNotContact(name))

    page = await listing.page(9)

    assert (page.page, page.pages, page.total) == (2, 2, 3)
    assert [e.username for e in page.rows] == ["lead_one"]
    with pytest.raises(InvalidUsername):
        await listing.add(AddToDoNotContact("@ab"))
