"""The conversation's own code paths make the CRM events, on PostgreSQL (the trigger of
revision 0017) and on the in-memory store alike: /start, the prospect's first message, and
the model's goal, hand-off, no or opt-out, each told once. (A failed dialog: the contract
suite, tests/contracts/test_webhook_event_repository.py.)"""

from __future__ import annotations

from datetime import timedelta

from salesbot.domain.webhook import EventKind
from tests.application.conversation_support import World, answer

FAR = timedelta(days=3650)


async def events(world: World) -> list[tuple[int, EventKind, dict]]:
    """Every queued event, walked in order as the deliverer would."""
    seen = []
    while True:
        async with world.uow() as uow:
            due = await uow.webhook_events.due(world.clock.now() + FAR, limit=100)
            if not due:
                return seen
            for event in due:
                seen.append((event.dialog_id, event.kind, event.payload))
                await uow.webhook_events.delivered(event.id, world.clock.now())
            await uow.commit()


async def conversation(world: World, username: str, user_id: int, outcome: str) -> int:
    dialog_id = await world.start(username, user_id)
    world.llm.queue(answer("Понимаю.", outcome=outcome, warmth=60, summary="Итог"))
    await world.write("Здравствуйте, расскажите подробнее", user_id=user_id)
    await world.clock.advance(20)
    await world.incoming.drain()
    return dialog_id


async def each_outcome_is_one_event_after_the_first_reply(world: World) -> None:
    async with world.uow() as uow:
        await uow.webhook_events.enable(True)
        await uow.commit()
    outcomes = {"goal": 5001, "handoff": 5002, "rejected": 5003, "opt_out": 5004}
    dialogs = {
        outcome: await conversation(world, f"lead_{outcome}", user_id, outcome)
        for outcome, user_id in outcomes.items()
    }
    seen = await events(world)
    told = {
        outcome: [kind.value for d, kind, _ in seen if d == dialog_id]
        for outcome, dialog_id in dialogs.items()
    }
    assert told == {
        "goal": ["dialog_started", "first_reply", "goal"],
        "handoff": ["dialog_started", "first_reply", "handoff"],
        "rejected": ["dialog_started", "first_reply", "rejected"],
        "opt_out": ["dialog_started", "first_reply", "opted_out"],
    }
    goal = next(p for d, k, p in seen if k is EventKind.GOAL)
    assert (goal["username"], goal["warmth"], goal["summary"]) == ("lead_goal", 60, "Итог")
    assert goal["user_id"] == 5001 and goal["campaign_id"] is None


async def test_each_outcome_of_a_conversation_is_one_event_after_its_first_reply(world):
    await each_outcome_is_one_event_after_the_first_reply(world)


async def test_each_outcome_of_a_conversation_is_one_event_on_postgresql(pg_world):
    await each_outcome_is_one_event_after_the_first_reply(pg_world)
