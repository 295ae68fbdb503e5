"""PeerRepository: what each account resolved, so no username is resolved twice."""

from __future__ import annotations

import pytest

from salesbot.application.errors import RecordNotFound
from salesbot.domain.peer import Peer
from tests.contracts.seeding import add_account

BIG_HASH = -(2**63)  # access hashes are signed 64-bit


async def test_a_peer_is_found_by_username_and_by_user_id(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        peer = Peer(account.id, "alice_smith", 5_000_000_001, BIG_HASH)
        await uow.peers.put(peer)
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.peers.get(account.id, "alice_smith") == peer
        assert await uow.peers.get_by_user_id(account.id, 5_000_000_001) == peer
        assert await uow.peers.get(account.id, "bob_jones") is None
        assert await uow.peers.get_by_user_id(account.id, 1) is None


async def test_peers_belong_to_the_account_that_resolved_them(new_uow):
    async with new_uow() as uow:
        first = await add_account(uow, "+79001111111")
        second = await add_account(uow, "+79002222222")
        await uow.peers.put(Peer(first.id, "alice_smith", 42, 1))
        assert await uow.peers.get(second.id, "alice_smith") is None
        assert await uow.peers.get_by_user_id(second.id, 42) is None
        assert await uow.peers.list_for_account(second.id) == []


async def test_put_replaces_the_accounts_entry_for_a_username(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        await uow.peers.put(Peer(account.id, "alice_smith", 42, 1))
        await uow.commit()
    async with new_uow() as uow:
        await uow.peers.put(Peer(account.id, "alice_smith", 43, 2))
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.peers.list_for_account(account.id) == [
            Peer(account.id, "alice_smith", 43, 2)
        ]


async def test_a_renamed_prospect_is_found_under_either_name_by_id(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        await uow.peers.put(Peer(account.id, "user_b", 42, 1))
        await uow.peers.put(Peer(account.id, "user_a_c", 42, 1))
        await uow.peers.put(Peer(account.id, "userab", 42, 1))
        found = await uow.peers.get_by_user_id(account.id, 42)
        # The first by username in byte order ("_" before letters), on every backend.
        assert found == Peer(account.id, "user_a_c", 42, 1)


async def test_an_accounts_peers_are_listed_by_username(new_uow):
    async with new_uow() as uow:
        account = await add_account(uow)
        for name in ("charlie_c", "alice_smith", "alicesmith", "alice_b", "bob_jones"):
            await uow.peers.put(Peer(account.id, name, len(name), 7))
        listed = await uow.peers.list_for_account(account.id)
    assert [p.username for p in listed] == [
        "alice_b",
        "alice_smith",
        "alicesmith",
        "bob_jones",
        "charlie_c",
    ]


async def test_a_peer_needs_a_stored_account(new_uow):
    async with new_uow() as uow:
        with pytest.raises(RecordNotFound):
            await uow.peers.put(Peer(987654, "alice_smith", 42, 1))
