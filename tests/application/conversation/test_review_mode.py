"""Review mode: the AI's messages wait as drafts for the admin, who approves, edits,
regenerates or discards each; a newer message of the prospect supersedes a waiting one."""

from __future__ import annotations

import asyncio

import pytest

from salesbot.application.admin.control_dialog import ReviewDialog
from salesbot.application.conversation.review_drafts import (
    ApproveDraft,
    DiscardDraft,
    DraftReview,
    EditDraft,
    RegenerateDraft,
)
from salesbot.application.errors import DraftHeld, DraftNotRewritten, DraftNotWaiting
from salesbot.domain.dialog import DialogStatus
from salesbot.domain.events import DraftWritten
from salesbot.domain.message import Delivery, OutKind
from tests.application.conversation_support import World, answer

OPENER = "Здравствуйте! Я ИИ-ассистент Запись+. Удобно пару минут?"
REPLY = "Спасибо! Сколько у вас мастеров?"


async def review_world(tmp_path, mode: str, **fields) -> World:
    world = World(tmp_path, review_mode=mode, **fields)
    await world.add_account()
    return world


def review(world: World) -> DraftReview:
    return world.container.draft_review()


async def dispatch(world: World) -> list[str]:
    """The dispatcher's claim, as often as it hands a message out; each claimed one is
    marked sent as the dispatcher would."""
    sent = []
    while True:
        async with world.uow() as uow:
            claimed = await uow.messages.claim_next(world._first_account, world.clock.now())
            if claimed is None:
                return sent
            message, _ = claimed
            message.delivery, message.sent_at = Delivery.SENT, world.clock.now()
            await uow.messages.update(message)
            await uow.commit()
        sent.append(message.content)


async def answered(world: World, text: str = "Здравствуйте, а что это?") -> None:
    await world.write(text)
    await world.clock.advance(world.debounce)
    await world.incoming.drain()


def drafted(world: World) -> list[DraftWritten]:
    return world.notifier.of_type(DraftWritten)  # type: ignore[return-value]


async def test_openers_mode_drafts_the_opener_only(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)

    [draft] = world.drafts(dialog_id)
    assert (draft.content, draft.kind) == (OPENER, OutKind.OPENER)
    [told] = drafted(world)
    assert (told.dialog_id, told.message_id, told.text, told.kind) == (
        dialog_id,
        draft.id,
        OPENER,
        "opener",
    )
    assert world.pending(dialog_id) == []

    await review(world).approve(ApproveDraft(draft.id))
    assert world.pending(dialog_id) == [OPENER]
    await world.deliver_pending()
    world.llm.queue(answer(REPLY))
    await answered(world)
    assert world.pending(dialog_id) == [REPLY]  # replies go as written
    assert len(drafted(world)) == 1


async def test_all_mode_drafts_replies_too(tmp_path):
    world = await review_world(tmp_path, "all")
    dialog_id = await world.start(opener=OPENER)
    await review(world).approve(ApproveDraft(world.drafts(dialog_id)[0].id))
    await world.deliver_pending()
    world.llm.queue(answer("Первая часть.\n\nВторая часть?"))

    await answered(world)

    assert world.pending(dialog_id) == []
    [draft] = world.drafts(dialog_id)
    assert (draft.kind, draft.content) == (OutKind.REPLY, "Первая часть.\n\nВторая часть?")
    assert drafted(world)[-1].kind == "reply"


async def test_a_dialogs_own_review_overrides_the_mode(tmp_path):
    world = await review_world(tmp_path, "off")
    dialog_id = await world.start(opener=OPENER)
    assert world.drafts(dialog_id) == []
    await world.container.dialog_control().review(ReviewDialog(dialog_id, True))
    world.llm.queue(answer(REPLY))

    await answered(world)

    assert [m.content for m in world.drafts(dialog_id)] == [REPLY]
    await world.container.dialog_control().review(ReviewDialog(dialog_id, False))
    world.llm.queue(answer("И ещё вопрос?"))
    await answered(world, "У нас трое")
    assert world.pending(dialog_id) == ["И ещё вопрос?"]


async def test_a_draft_is_neither_sent_nor_counted_until_approved_then_sent_once(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [draft] = world.drafts(dialog_id)

    assert await dispatch(world) == []
    async with world.uow() as uow:
        # What picks the account with the most room counts queued messages: not drafts.
        assert await uow.messages.pending_counts() == {}
        assert await uow.messages.next_pending_at() is None

    decided = await review(world).approve(ApproveDraft(draft.id))
    assert (decided.dialog_id, decided.text) == (dialog_id, OPENER)
    with pytest.raises(DraftNotWaiting) as twice:
        await review(world).approve(ApproveDraft(draft.id))
    assert twice.value.state == "approved"
    assert await dispatch(world) == [OPENER]

    for action in (
        review(world).approve(ApproveDraft(draft.id)),
        review(world).edit(EditDraft(draft.id, "другое")),
        review(world).discard(DiscardDraft(draft.id)),
        review(world).regenerate(RegenerateDraft(draft.id)),
    ):
        with pytest.raises(DraftNotWaiting):
            await action
    assert await dispatch(world) == []


async def test_edit_sends_the_operators_words_in_place_of_the_draft(tmp_path):
    world = await review_world(tmp_path, "all")
    dialog_id = await world.start(opener=OPENER)
    await review(world).approve(ApproveDraft(world.drafts(dialog_id)[0].id))
    await world.deliver_pending()
    world.llm.queue(answer(REPLY))
    await answered(world)
    [draft] = world.drafts(dialog_id)

    await review(world).edit(EditDraft(draft.id, "  Добрый день! Это Анна, менеджер.  "))

    edited = world.store.tables.messages[draft.id]
    assert (edited.content, edited.kind) == ("Добрый день! Это Анна, менеджер.", OutKind.MANUAL)
    assert await world.deliver_pending() == ["Добрый день! Это Анна, менеджер."]


async def test_an_edited_opener_stays_the_dialogs_opener(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [draft] = world.drafts(dialog_id)
    await review(world).edit(EditDraft(draft.id, "Здравствуйте! Это Анна из Запись+."))
    assert await dispatch(world) == ["Здравствуйте! Это Анна из Запись+."]
    assert world.store.tables.messages[draft.id].kind is OutKind.OPENER


async def test_regenerate_writes_a_new_checked_draft_with_the_operators_instruction(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [old] = world.drafts(dialog_id)
    world.llm.queue(answer("Добрый день! Коротко: 14 дней бесплатно. Интересно?"))

    wish = "короче и  про\n## пробный период"
    new = await review(world).regenerate(RegenerateDraft(old.id, wish))

    assert world.store.tables.messages[old.id].delivery is Delivery.DISCARDED
    [draft] = world.drafts(dialog_id)
    assert draft.id == new.message_id != old.id
    assert (draft.kind, draft.content) == (OutKind.OPENER, new.text)
    assert drafted(world)[-1].message_id == draft.id
    system = world.llm.requests[-1].system
    assert "короче и про пробный период" in system
    assert world.pending(dialog_id) == []


async def test_regenerate_keeps_the_old_draft_when_the_new_text_fails_the_checks(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [old] = world.drafts(dialog_id)
    world.llm.queue(answer("Я живой человек, не бот!"), answer("Я не робот, честно."))

    with pytest.raises(DraftNotRewritten):
        await review(world).regenerate(RegenerateDraft(old.id))

    assert [m.id for m in world.drafts(dialog_id)] == [old.id]
    assert len(drafted(world)) == 1


async def test_discard_sends_nothing_and_a_discarded_opener_stops_the_dialog(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [draft] = world.drafts(dialog_id)

    decided = await review(world).discard(DiscardDraft(draft.id))

    assert decided.dialog_stopped
    assert world.store.tables.messages[draft.id].delivery is Delivery.DISCARDED
    assert world.dialog(dialog_id).status is DialogStatus.STOPPED
    assert await dispatch(world) == []
    with pytest.raises(DraftNotWaiting) as again:
        await review(world).approve(ApproveDraft(draft.id))
    assert again.value.state == "discarded"


async def test_a_reply_draft_discarded_leaves_the_dialog_as_it_was(tmp_path):
    world = await review_world(tmp_path, "all")
    dialog_id = await world.start(opener=OPENER)
    await review(world).approve(ApproveDraft(world.drafts(dialog_id)[0].id))
    await world.deliver_pending()
    world.llm.queue(answer(REPLY))
    await answered(world)
    [draft] = world.drafts(dialog_id)

    assert not (await review(world).discard(DiscardDraft(draft.id))).dialog_stopped

    assert world.dialog(dialog_id).status is DialogStatus.ACTIVE
    assert world.pending(dialog_id) == []


async def test_a_newer_message_supersedes_the_draft_and_a_fresh_one_is_written(tmp_path):
    world = await review_world(tmp_path, "all")
    dialog_id = await world.start(opener=OPENER)
    await review(world).approve(ApproveDraft(world.drafts(dialog_id)[0].id))
    await world.deliver_pending()
    world.llm.queue(answer(REPLY))
    await answered(world, "Здравствуйте")
    [first] = world.drafts(dialog_id)
    world.llm.queue(answer("Понял, трое мастеров. Когда удобно созвониться?"))

    await answered(world, "У нас трое мастеров")

    assert world.store.tables.messages[first.id].delivery is Delivery.CANCELLED
    [fresh] = world.drafts(dialog_id)
    assert fresh.content == "Понял, трое мастеров. Когда удобно созвониться?"
    assert "У нас трое мастеров" in world.llm.requests[-1].text
    assert REPLY not in world.llm.requests[-1].text  # the superseded draft was never said
    with pytest.raises(DraftNotWaiting) as superseded:
        await review(world).approve(ApproveDraft(first.id))
    assert superseded.value.state == "superseded"
    await review(world).approve(ApproveDraft(fresh.id))
    assert await world.deliver_pending() == [fresh.content]


async def test_a_draft_in_a_dialog_paused_by_hand_is_not_approved(tmp_path):
    world = await review_world(tmp_path, "openers")
    dialog_id = await world.start(opener=OPENER)
    [draft] = world.drafts(dialog_id)
    world.store.tables.dialogs[dialog_id].status = DialogStatus.PAUSED

    with pytest.raises(DraftHeld):
        await review(world).approve(ApproveDraft(draft.id))

    assert [m.id for m in world.drafts(dialog_id)] == [draft.id]


async def test_a_waiting_draft_is_not_answered_again_after_a_restart(tmp_path, engine):
    world = World(tmp_path, review_mode="all", engine=engine)
    await world.add_account()
    dialog_id = await world.start(opener=OPENER)
    async with world.uow() as uow:
        [opener] = await uow.messages.list_by_delivery(Delivery.DRAFT)
    await review(world).approve(ApproveDraft(opener.id))
    await world.deliver_pending()
    world.llm.queue(answer(REPLY))
    await answered(world)
    await world.incoming.aclose()

    # A new process on the same database: the draft is still there and still works.
    again = World(tmp_path, review_mode="all", engine=engine, clock=world.clock)
    again.telegram = world.telegram
    assert await again.incoming.answer_unanswered() == 0
    async with again.uow() as uow:
        [draft] = await uow.messages.list_by_delivery(Delivery.DRAFT)
    assert (draft.dialog_id, draft.content) == (dialog_id, REPLY)

    await review(again).approve(ApproveDraft(draft.id))

    assert await again.deliver_pending() == [REPLY]
    with pytest.raises(DraftNotWaiting):
        await review(again).discard(DiscardDraft(draft.id))
    await again.incoming.aclose()


async def test_a_follow_up_is_drafted_once_and_nothing_follows_up_over_it(tmp_path, engine):
    world = World(tmp_path, review_mode="all", engine=engine, max_follow_ups=2)
    await world.add_account()
    dialog_id = await world.start(opener=OPENER)
    async with world.uow() as uow:
        [opener] = await uow.messages.list_by_delivery(Delivery.DRAFT)
    await review(world).approve(ApproveDraft(opener.id))
    await world.deliver_pending()
    world.llm.default = answer("Напомню о себе: 14 дней бесплатно. Интересно?")

    await world.clock.advance(hours=25)
    assert await world.conversation.follow_ups.run_once() == 1
    await world.clock.advance(hours=25)
    assert await world.conversation.follow_ups.run_once() == 0

    async with world.uow() as uow:
        [draft] = await uow.messages.list_by_delivery(Delivery.DRAFT)
        assert await uow.messages.list_by_delivery(Delivery.PENDING) == []
    assert (draft.dialog_id, draft.kind) == (dialog_id, OutKind.FOLLOW_UP)
    await world.incoming.aclose()


async def test_two_decisions_at_once_decide_a_draft_once(tmp_path, engine):
    world = World(tmp_path, review_mode="openers", engine=engine)
    await world.add_account()
    await world.start(opener=OPENER)
    async with world.uow() as uow:
        [draft] = await uow.messages.list_by_delivery(Delivery.DRAFT)

    outcomes = await asyncio.gather(
        review(world).approve(ApproveDraft(draft.id)),
        review(world).discard(DiscardDraft(draft.id)),
        review(world).edit(EditDraft(draft.id, "Добрый день!")),
        return_exceptions=True,
    )

    refused = [o for o in outcomes if isinstance(o, DraftNotWaiting)]
    assert len(refused) == 2, outcomes
    async with world.uow() as uow:
        [message] = await uow.messages.list_for_dialog(draft.dialog_id)
    assert message.delivery in (Delivery.PENDING, Delivery.DISCARDED)
    await world.incoming.aclose()
