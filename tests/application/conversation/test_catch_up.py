"""What was written while salesbot was away reaches the conversation after it starts.

The service's wiring on real PostgreSQL, Telegram played by the fake: a message is pushed
once, to the client connected then; later only the difference (from a stored update state)
or the chat's history brings it back. Also here: what someone types in the Telegram app on
a sales account, and text PostgreSQL cannot store arriving from Telegram.
"""

from __future__ import annotations

from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import OperatorWrote
from salesbot.domain.message import Delivery, Direction, OutKind
from tests.application.conversation_support import answer
from tests.application.telegram_world import World
from tests.fakes import FakeLanguageModel

REPLY = "Thanks! When would a short call suit you?"
PROSPECTS = [("anna", 5001), ("boris", 5002), ("vera", 5003)]


def replying_model() -> FakeLanguageModel:
    return FakeLanguageModel(default=answer(REPLY))


async def account_with_three_dialogs(world: World) -> tuple[int, dict[str, int]]:
    account = await world.add_account("+79000000001")
    assert await world.pool.start_all() == {account}
    dialogs = {}
    for username, user_id in PROSPECTS:
        dialogs[username], _ = await world.open_dialog(account, username, user_id)
    await world.drain(account)  # the openers go out
    assert len(world.tg.sent) == len(PROSPECTS)
    return account, dialogs


async def settle(world: World, account: int) -> None:
    await world.pool.caught_up()
    await world.container.incoming().drain()
    await world.drain(account)


async def incoming_of(world: World, dialog_id: int) -> list[str]:
    async with world.uow() as uow:
        stored = await uow.messages.list_for_dialog(dialog_id)
    return [m.content for m in stored if m.direction is Direction.IN]


async def test_with_no_stored_state_the_history_of_only_the_chats_with_news_is_read(engine):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)
    # The process dies before it ever stored where the account's updates stand (the first
    # start of this version, or a freshly imported account).
    stopped = await world.restart(llm=replying_model())
    await world.tg.deliver(account, 5001, "How much is it?", username="anna")
    await world.tg.deliver(account, 5002, "Send the price list", username="boris")
    await world.tg.deliver(account, 5002, "and the terms, please", username="boris")

    assert await stopped.pool.start_all() == {account}
    await settle(stopped, account)

    assert await incoming_of(stopped, dialogs["anna"]) == ["How much is it?"]
    assert await incoming_of(stopped, dialogs["boris"]) == [
        "Send the price list",
        "and the terms, please",
    ], "in the order they were written"
    assert await incoming_of(stopped, dialogs["vera"]) == []
    assert stopped.tg.sent_to(5001)[1:] == [REPLY]
    assert stopped.tg.sent_to(5002)[1:] == [REPLY], "one answer to both messages"
    assert stopped.tg.sent_to(5003)[1:] == []
    calls = stopped.tg.calls[account]
    assert calls["difference"] == 0, "no state to ask a difference from"
    assert calls["dialogs"] == 1, "one call tells the newest message of every open chat"
    assert calls["history"] == 2, "only the chats with news are read"
    assert (account, 5003) not in stopped.tg.read

    # A second restart finds nothing new: nothing stored or answered twice.
    again = await stopped.restart(llm=replying_model())
    assert await again.pool.start_all() == {account}
    await settle(again, account)
    assert await incoming_of(again, dialogs["boris"]) == [
        "Send the price list",
        "and the terms, please",
    ]
    assert again.tg.sent_to(5002)[1:] == [REPLY]


async def test_when_telegram_gives_no_difference_from_that_long_ago_the_history_has_it(engine):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)
    await world.container.update_states().flush()
    stopped = await world.restart(llm=replying_model())
    await world.tg.deliver(account, 5003, "Is the offer still on?", username="vera")
    world.tg.forget_history(account)  # DifferenceTooLong: the client skips to now

    assert await stopped.pool.start_all() == {account}
    await settle(stopped, account)

    assert await incoming_of(stopped, dialogs["vera"]) == ["Is the offer still on?"]
    assert stopped.tg.sent_to(5003)[1:] == [REPLY]
    calls = stopped.tg.calls[account]
    assert (calls["difference"], calls["dialogs"], calls["history"]) == (1, 1, 1)


async def test_the_difference_brings_back_what_came_while_stopped_without_reading_history(
    engine,
):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)
    await world.container.update_states().flush()
    stopped = await world.restart(llm=replying_model())
    for username, user_id in PROSPECTS:
        await world.tg.deliver(
            account, user_id, f"{username} here: tell me more", username=username
        )

    assert await stopped.pool.start_all() == {account}
    await settle(stopped, account)

    for username, user_id in PROSPECTS:
        assert await incoming_of(stopped, dialogs[username]) == [f"{username} here: tell me more"]
        assert stopped.tg.sent_to(user_id)[1:] == [REPLY]
    calls = stopped.tg.calls[account]
    assert (calls["difference"], calls["dialogs"], calls["history"]) == (1, 1, 0)


async def test_a_message_typed_in_the_telegram_app_pauses_the_ai_and_tells_the_admin(engine):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)
    # A follow-up the AI had queued would talk over the operator.
    queued = await world.enqueue(dialogs["anna"], "Just checking in!", OutKind.FOLLOW_UP)

    await world.tg.write_from_app(account, 5001, "Anna, I'll call you at 3.", username="anna")
    await world.container.incoming().drain()
    await world.tg.deliver(account, 5001, "OK, thanks", username="anna")
    await settle(world, account)

    dialog = await world.dialog(dialogs["anna"])
    assert dialog.status is DialogStatus.PAUSED
    async with world.uow() as uow:
        stored = await uow.messages.list_for_dialog(dialogs["anna"])
    manual = [m for m in stored if m.kind is OutKind.MANUAL]
    assert [(m.content, m.delivery) for m in manual] == [
        ("Anna, I'll call you at 3.", Delivery.SENT)
    ]
    assert (await world.message(queued)).delivery is Delivery.CANCELLED
    assert [m.content for m in stored if m.direction is Direction.IN] == ["OK, thanks"]
    assert world.tg.sent_to(5001)[1:] == [], "the AI said nothing over the operator"
    (wrote,) = world.notifier.of_type(OperatorWrote)
    assert isinstance(wrote, OperatorWrote)
    assert (wrote.dialog_id, wrote.text, wrote.paused) == (
        dialogs["anna"],
        "Anna, I'll call you at 3.",
        True,
    )
    # Other dialogs go on.
    await world.tg.deliver(account, 5002, "What does it cost?", username="boris")
    await settle(world, account)
    assert world.tg.sent_to(5002)[1:] == [REPLY]


async def test_what_salesbot_itself_sent_is_not_taken_for_the_operator(engine):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)
    await world.container.update_states().flush()
    stopped = await world.restart(llm=replying_model())
    # While stopped the operator writes in one chat; the openers salesbot sent are in every
    # chat's history and in the difference too.
    await world.tg.write_from_app(account, 5002, "Boris, here is the link.", username="boris")
    world.tg.forget_history(account)  # so the history, with the openers in it, is read

    assert await stopped.pool.start_all() == {account}
    await settle(stopped, account)

    for username, _ in PROSPECTS:
        async with stopped.uow() as uow:
            stored = await uow.messages.list_for_dialog(dialogs[username])
        outgoing = [(m.kind, m.content) for m in stored if m.direction is Direction.OUT]
        expected = [(OutKind.OPENER, "Hello! A quick question about your shop.")]
        if username == "boris":
            expected.append((OutKind.MANUAL, "Boris, here is the link."))
        assert outgoing == expected, username
    assert (await stopped.dialog(dialogs["boris"])).status is DialogStatus.PAUSED
    assert (await stopped.dialog(dialogs["anna"])).status is DialogStatus.ACTIVE
    assert len(stopped.notifier.of_type(OperatorWrote)) == 1


async def test_a_nul_in_a_prospects_message_is_stored_without_it_and_answered(engine):
    world = World(engine=engine, llm=replying_model(), min_delay=0)
    account, dialogs = await account_with_three_dialogs(world)

    await world.tg.deliver(account, 5001, "price\x00 please \ud800", username="anna")
    await settle(world, account)

    (stored,) = await incoming_of(world, dialogs["anna"])
    assert "\x00" not in stored and "\ud800" not in stored
    assert stored.startswith("price") and "please" in stored
    assert world.tg.sent_to(5001)[1:] == [REPLY]
