"""AccountStorage under kurigram's own update-state code: `recover_gaps` and start's GetState.

A real `pyrogram.Client` with our storage, never connected: its `invoke` (the one door to
MTProto) answers as Telegram's server would. What is checked is what a restart depends on:
the stored state is what kurigram asks the difference from, the replayed messages reach the
dispatcher, and the state reported back to be stored never passes a message not yet handled.
"""

from __future__ import annotations

from typing import Any

from pyrogram import Client, raw

from salesbot.adapters.telegram.storage import COMMON_BOX, AccountStorage
from salesbot.application.ports import UpdateState
from tests.adapters.telegram.client_stand_in import make_session_string
from tests.secrets import API_HASH, API_ID

PROSPECT = 42
DATE = 1_790_000_000


def new_message(message_id: int, text: str) -> raw.types.Message:
    return raw.types.Message(
        id=message_id,
        peer_id=raw.types.PeerUser(user_id=PROSPECT),
        from_id=raw.types.PeerUser(user_id=PROSPECT),
        date=DATE + message_id,
        message=text,
    )


class Server:
    """Telegram's answers to the calls kurigram makes about update state."""

    def __init__(self, *, pts: int, difference: Any = None) -> None:
        self.pts = pts
        self.difference = difference
        self.calls: list[Any] = []

    async def invoke(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(query)
        if isinstance(query, raw.functions.updates.GetState):
            return raw.types.updates.State(
                pts=self.pts, qts=0, date=DATE + 100, seq=7, unread_count=0
            )
        if isinstance(query, raw.functions.updates.GetDifference):
            answer, self.difference = self.difference, None
            if answer is None:
                return raw.types.updates.DifferenceEmpty(date=DATE + 100, seq=7)
            return answer
        raise AssertionError(f"unexpected call {type(query).__name__}")

    def asked(self, kind: type) -> list[Any]:
        return [call for call in self.calls if isinstance(call, kind)]


async def client_with(
    state: UpdateState | None, server: Server
) -> tuple[Client, list[UpdateState]]:
    reported: list[UpdateState] = []
    storage = AccountStorage("account-1", make_session_string(5001), state, reported.append)
    client = Client(
        "account-1",
        api_id=API_ID,
        api_hash=API_HASH,
        storage_engine=storage,
        skip_updates=False,
        workers=1,
    )
    client.invoke = server.invoke  # type: ignore[method-assign]
    await client.storage.open()
    return client, reported


def queued(client: Client) -> list[Any]:
    updates = []
    while not client.dispatcher.updates_queue.empty():
        update, _users, _chats = client.dispatcher.updates_queue.get_nowait()
        updates.append(update)
    return updates


def live_update(pts: int, message_id: int) -> raw.types.UpdateNewMessage:
    return raw.types.UpdateNewMessage(message=new_message(message_id, "live"), pts=pts, pts_count=1)


async def test_the_stored_state_is_what_the_difference_is_asked_from_and_its_messages_replay():
    difference = raw.types.updates.Difference(
        new_messages=[new_message(11, "written while away"), new_message(12, "and this")],
        new_encrypted_messages=[],
        other_updates=[],
        chats=[],
        users=[],
        state=raw.types.updates.State(pts=12, qts=0, date=DATE + 50, seq=7, unread_count=0),
    )
    server = Server(pts=12, difference=difference)
    stored = UpdateState(pts=10, qts=0, date=DATE, seq=5)
    client, reported = await client_with(stored, server)

    assert await client.recover_gaps() == (2, 0)

    (asked,) = server.asked(raw.functions.updates.GetDifference)
    assert (asked.pts, asked.date) == (10, DATE), "from where the stored state says"
    replayed = queued(client)
    assert [u.message.message for u in replayed] == ["written while away", "and this"]
    # Handling the first replayed message must not report the difference's end: the second
    # would be behind the stored state if the process died now.
    client.storage.handled(replayed[0])
    client.storage.handled(replayed[1])
    assert reported == []
    # The next live update is handled after both (one worker, in order): it reports.
    client.storage.handled(live_update(13, 13))
    assert [state.pts for state in reported] == [13]
    assert reported[0].date >= DATE


async def test_without_a_stored_state_nothing_is_replayed_and_telegrams_state_is_the_baseline():
    server = Server(pts=500)
    client, reported = await client_with(None, server)

    assert await client.storage.get_update_states(COMMON_BOX) == []
    assert await client.recover_gaps() == (0, 0)
    assert server.asked(raw.functions.updates.GetDifference) == []
    # What start() does when the storage has no state: it stores Telegram's current one.
    from pyrogram.storage import UpdateState as KurigramState

    state = await server.invoke(raw.functions.updates.GetState())
    await client.storage.set_update_state(
        KurigramState(COMMON_BOX, state.pts, state.qts, state.date, state.seq)
    )
    assert reported == [UpdateState(pts=500, qts=0, date=DATE + 100, seq=7)]
    # From then on the state moves as messages are handled, never backwards.
    client.storage.handled(live_update(501, 77))
    client.storage.handled(live_update(499, 70))
    assert [state.pts for state in reported] == [500, 501]


async def test_a_state_arriving_before_its_message_is_handled_is_not_reported():
    server = Server(pts=20)
    stored = UpdateState(pts=20, qts=0, date=DATE, seq=5)
    client, reported = await client_with(stored, server)
    from pyrogram.storage import UpdateState as KurigramState

    # kurigram moves its state as an update arrives, before the handlers run.
    await client.storage.set_update_state(KurigramState(COMMON_BOX, 21, None, DATE + 5, None))
    assert reported == []
    assert (await client.storage.get_update_states(COMMON_BOX))[0].pts == 21
    client.storage.stop_reporting()  # the client is being stopped mid-handling
    client.storage.handled(live_update(21, 30))
    assert reported == [], "an update cut short is not handled"


async def test_channel_updates_do_not_move_the_accounts_state():
    server = Server(pts=20)
    client, reported = await client_with(UpdateState(pts=20, qts=0, date=DATE, seq=5), server)
    in_a_channel = raw.types.UpdateNewChannelMessage(
        message=raw.types.Message(
            id=5, peer_id=raw.types.PeerChannel(channel_id=99), date=DATE, message="news"
        ),
        pts=900,
        pts_count=1,
    )
    client.storage.handled(in_a_channel)
    assert reported == []
