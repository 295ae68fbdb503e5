"""The campaign feeder: leads are started lazily, one per account with a free send slot
inside the working hours, with the campaign's script and evenly assigned opener variants;
a paused campaign costs nothing; a restart or a crash never starts a lead twice nor loses
one. On fake time (the world's stepping clock); the feeder is the container's."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from salesbot.adapters.persistence.models import dialog_from_row
from salesbot.adapters.persistence.models import dialogs as dialog_table
from salesbot.application.campaigns.feeder import REFUSALS_TO_PAUSE, Feeder
from salesbot.application.conversation.review_drafts import RegenerateDraft
from salesbot.application.errors import LlmUnavailable, RateLimited
from salesbot.domain.account import Account
from salesbot.domain.campaign import Campaign, CampaignStatus, Lead, LeadStatus
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.events import CampaignPaused
from salesbot.domain.message import Delivery, OutKind
from tests.application.conversation_support import World, answer, settle

OPENER = "Здравствуйте! Удобно пару минут?"
TULIPS = (
    "# Sales script: Tulip Farm\n"
    "You write for Tulip Farm, a grower that delivers fresh Dutch tulips to flower shops "
    "twice a week. Goal: agree on a trial delivery of one box."
)
PACE = 61  # seconds: past the minimum delay (30 s) and the resolve interval (60 s)


@pytest.fixture
async def world(tmp_path):
    w = World(tmp_path)
    w.llm.default = answer(OPENER, stage="introduction", warmth=0)
    yield w
    await w.incoming.aclose()


def feeder_of(world: World) -> Feeder:
    feeder = world.container.feeder()
    assert isinstance(feeder, Feeder)
    return feeder


async def add_campaign(
    world: World, usernames: list[str], *, first_user_id: int = 7000, **fields: object
) -> Campaign:
    async with world.uow() as uow:
        campaign = await uow.campaigns.add(
            Campaign(name="Весна", created_at=world.clock.now(), **fields)  # type: ignore[arg-type]
        )
        await uow.leads.add_many(
            [
                Lead(campaign.id, name, position=i, fields={"company": f"Shop {i}"})
                for i, name in enumerate(usernames, 1)
            ]
        )
        await uow.commit()
    for i, name in enumerate(usernames):
        world.telegram.add_user(name, first_user_id + i)
    return campaign


async def leads(world: World, campaign: Campaign) -> list[Lead]:
    async with world.uow() as uow:
        return await uow.leads.for_campaign(campaign.id)


async def dialogs(world: World) -> list[Dialog]:
    """Every dialog, in the store or the database."""
    if world.engine is None:
        found = [d.copy() for d in world.store.tables.dialogs.values()]
    else:
        async with world.engine.connect() as connection:
            rows = await connection.execute(select(dialog_table))
            found = [dialog_from_row(row) for row in rows]
    return sorted(found, key=lambda d: d.id or 0)


async def send_pending(world: World) -> int:
    """Stand in for the dispatcher: every pending message goes now, counted on its account's
    quota as a real send is."""
    sent = 0
    now = world.clock.now()
    async with world.uow() as uow:
        for message in await uow.messages.list_by_delivery(Delivery.PENDING):
            message.delivery, message.sent_at = Delivery.SENT, now
            await uow.messages.update(message)
            account = await uow.accounts.get(message.account_id)
            request = world.quota.slot_request(now, created_at=account.created_at)
            assert await uow.accounts.reserve_send_slot(account.id, request)
            sent += 1
        await uow.commit()
    return sent


async def feed_day(world: World, feeder: Feeder, rounds: int) -> int:
    """`rounds` of: the feeder looks, the openers go, time moves on by PACE."""
    started = 0
    for _ in range(rounds):
        started += (await feeder.feed_once()).started
        await send_pending(world)
        await world.clock.advance(PACE)
    return started


async def ready(world: World, *accounts: dict) -> Feeder:
    for i, fields in enumerate(accounts or ({},)):
        await world.add_account(f"+7999000000{i + 1}", **fields)
    feeder = feeder_of(world)
    await world.clock.advance(PACE)  # a fresh feeder waits one resolve interval first
    return feeder


# --- pacing ------------------------------------------------------------------------------


async def test_a_lead_is_started_only_when_the_account_has_a_free_slot(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w", "dora_k"])

    first = await feeder.feed_once()
    assert first.started == 1
    [opener] = [m for m in world.store.tables.messages.values()]
    assert (opener.kind, opener.delivery) == (OutKind.OPENER, Delivery.PENDING)
    calls, resolves = len(world.llm.requests), list(world.telegram.resolves)

    # The opener has not gone yet: a second one would wait in the outbox. Nothing is written.
    again = await feeder.feed_once()
    assert again.started == 0
    assert again.wake_at is not None and again.wake_at > world.clock.now()
    assert (len(world.llm.requests), world.telegram.resolves) == (calls, resolves)
    assert [lead.status for lead in await leads(world, campaign)] == [
        LeadStatus.STARTED,
        LeadStatus.QUEUED,
        LeadStatus.QUEUED,
    ]

    # Sent; within the minimum delay still nothing; after it the next lead starts.
    await send_pending(world)
    await world.clock.advance(10)
    assert (await feeder.feed_once()).started == 0
    await world.clock.advance(PACE)
    assert (await feeder.feed_once()).started == 1
    assert [lead.username for lead in await leads(world, campaign) if lead.dialog_id] == [
        "anna_flowers",
        "carol_w",
    ]


async def test_the_daily_cap_is_kept_and_the_next_day_goes_on(world):
    today = world.clock.now().date()
    feeder = await ready(world, {"daily_messages": 18, "quota_day": today})
    campaign = await add_campaign(world, [f"lead_{i}" for i in range(5)])

    assert await feed_day(world, feeder, rounds=6) == 2  # 18 + 2 = MAX_DAILY_MESSAGES (20)
    calls = len(world.llm.requests)
    assert await feed_day(world, feeder, rounds=10) == 0
    assert len(world.llm.requests) == calls  # nothing written for tomorrow

    midnight = datetime.combine(today + timedelta(days=1), time.min, tzinfo=timezone.utc)
    await world.clock.advance((midnight - world.clock.now()).total_seconds())
    assert await feed_day(world, feeder, rounds=1) == 1
    assert sum(lead.status is LeadStatus.STARTED for lead in await leads(world, campaign)) == 3


async def test_no_opener_is_written_outside_the_working_hours(tmp_path):
    world = World(tmp_path, working_hours="10:00-18:00")  # the clock starts at 09:00
    world.llm.default = answer(OPENER)
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers"])

    early = await feeder.feed_once()
    assert early.started == 0
    assert early.wake_at == world.clock.now().replace(hour=10, minute=0, second=0)
    assert world.llm.requests == [] and world.telegram.resolves == []

    await world.clock.advance((early.wake_at - world.clock.now()).total_seconds())
    assert (await feeder.feed_once()).started == 1
    [lead] = await leads(world, campaign)
    assert lead.status is LeadStatus.STARTED
    await world.incoming.aclose()


async def test_an_account_still_warming_up_starts_fewer_leads(tmp_path):
    world = World(tmp_path, warmup_days=9)  # day 1 of 10: 20 * 1/10 = 2 a day
    world.llm.default = answer(OPENER)
    async with world.uow() as uow:
        young = await uow.accounts.add(
            Account(phone="+79990000001", session_string="s-young", created_at=world.clock.now())
        )
        await uow.commit()
    await world.telegram.connect(young, [])
    await world.add_account("+79990000002")  # added 30 days ago: warm
    feeder = feeder_of(world)
    await world.clock.advance(PACE)
    await add_campaign(world, [f"lead_{i}" for i in range(30)])

    await feed_day(world, feeder, rounds=8)

    per_account: dict[int, int] = {}
    for dialog in await dialogs(world):
        per_account[dialog.account_id] = per_account.get(dialog.account_id, 0) + 1
    assert per_account.pop(young.id) == 2
    assert list(per_account.values()) == [8]
    await world.incoming.aclose()


# --- pause, resume, stop ----------------------------------------------------------------


async def set_status(world: World, campaign: Campaign, move: str) -> None:
    async with world.uow() as uow:
        stored = await uow.campaigns.get(campaign.id)
        getattr(stored, move)()
        await uow.campaigns.update(stored)
        await uow.commit()


async def test_a_paused_campaign_makes_no_model_call_and_no_resolve(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w"])
    await set_status(world, campaign, "pause")

    for _ in range(5):
        fed = await feeder.feed_once()
        assert fed.started == 0
        await world.clock.advance(PACE)
    assert world.llm.requests == []
    assert world.telegram.resolves == []
    assert all(lead.status is LeadStatus.QUEUED for lead in await leads(world, campaign))

    await set_status(world, campaign, "resume")
    assert (await feeder.feed_once()).started == 1
    assert (await leads(world, campaign))[0].status is LeadStatus.STARTED


async def test_a_stopped_campaign_leaves_its_leads_queued_and_its_dialogs_going(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w", "dora_k"])
    assert await feed_day(world, feeder, rounds=1) == 1
    await set_status(world, campaign, "stop")
    calls = len(world.llm.requests)

    assert await feed_day(world, feeder, rounds=3) == 0
    assert len(world.llm.requests) == calls
    assert [lead.status for lead in await leads(world, campaign)] == [
        LeadStatus.STARTED,
        LeadStatus.QUEUED,
        LeadStatus.QUEUED,
    ]
    [dialog] = await dialogs(world)
    assert dialog.status is DialogStatus.ACTIVE

    # The started dialog goes on: the prospect's answer is answered.
    world.llm.queue(answer("Отлично! Сколько у вас магазинов?"))
    await world.write("Да, слушаю", user_id=7000, account_id=dialog.account_id)
    await world.clock.advance(20)
    await world.incoming.drain()
    assert world.pending(dialog.id) == ["Отлично! Сколько у вас магазинов?"]


async def test_a_campaign_paused_while_its_opener_is_written_stores_nothing(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers"])
    thinking = asyncio.Event()

    async def slow(turns):
        await set_status(world, campaign, "pause")
        thinking.set()
        return answer(OPENER)

    world.llm.queue(slow)
    fed = await feeder.feed_once()
    assert thinking.is_set()
    assert fed.started == 0
    [lead] = await leads(world, campaign)
    assert (lead.status, lead.dialog_id) == (LeadStatus.QUEUED, None)
    assert await dialogs(world) == []


# --- variants and the campaign's script --------------------------------------------------


async def test_variants_are_assigned_evenly_and_recorded_on_the_dialog_and_the_lead(world):
    feeder = await ready(world, {}, {})
    variants = ("Open with a question about Mother's Day.", "Open with the free trial box.")
    campaign = await add_campaign(world, [f"lead_{i}" for i in range(6)], variants=variants)

    assert await feed_day(world, feeder, rounds=3) == 6

    got = await leads(world, campaign)
    by_dialog = {d.id: d for d in await dialogs(world)}
    assert sorted(lead.variant for lead in got) == [0, 0, 0, 1, 1, 1]
    for lead in got:
        dialog = by_dialog[lead.dialog_id]
        assert (dialog.campaign_id, dialog.variant) == (campaign.id, lead.variant)
        assert dialog.notes == f"company: Shop {lead.position}"
    # Each opener was asked for with its own variant's instruction, after the fixed prompt.
    fixed = {request.turns[0].content for request in world.llm.requests}
    assert len(fixed) == 1
    texts = [request.system for request in world.llm.requests]
    assert sum(variants[0] in t for t in texts) == 3
    assert sum(variants[1] in t for t in texts) == 3
    assert not any(variants[0] in t and variants[1] in t for t in texts)


async def test_the_campaigns_script_writes_the_opener_and_the_replies(world):
    feeder = await ready(world)
    await add_campaign(world, ["anna_flowers"], script=TULIPS)

    assert (await feeder.feed_once()).started == 1
    opener_request = world.llm.requests[-1]
    assert "Tulip Farm" in opener_request.system
    assert "Zapis+" not in opener_request.system
    await send_pending(world)

    [dialog] = await dialogs(world)
    world.llm.queue(answer("Сколько коробок вам обычно нужно?"))
    await world.write("А что за тюльпаны?", user_id=7000, account_id=dialog.account_id)
    await world.clock.advance(20)
    await world.incoming.drain()
    reply_request = world.llm.requests[-1]
    assert "Tulip Farm" in reply_request.system
    assert "Zapis+" not in reply_request.system
    assert world.pending(dialog.id) == ["Сколько коробок вам обычно нужно?"]


async def test_a_campaign_without_a_script_follows_the_global_one(world):
    feeder = await ready(world)
    await add_campaign(world, ["anna_flowers"])
    assert (await feeder.feed_once()).started == 1
    assert "Zapis+" in world.llm.requests[-1].system


# --- refusals and failures ----------------------------------------------------------------


async def test_a_lead_put_on_do_not_contact_since_the_import_is_skipped_with_the_reason(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w"])
    async with world.uow() as uow:
        await uow.do_not_contact.add(
            DoNotContact(
                username="anna_flowers", user_id=None, reason="", created_at=world.clock.now()
            )
        )
        await uow.commit()

    fed = await feeder.feed_once()
    assert (fed.skipped, fed.started, fed.wake_at) == (1, 0, None)  # looks again at once
    assert world.llm.requests == []
    assert (await feeder.feed_once()).started == 1
    first, second = await leads(world, campaign)
    assert (first.status, first.reason, first.dialog_id) == (
        LeadStatus.SKIPPED,
        "do_not_contact",
        None,
    )
    assert second.status is LeadStatus.STARTED
    assert [r[1] for r in world.telegram.resolves] == ["carol_w"]


async def test_an_unknown_username_is_skipped_as_not_found(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers"])
    world.telegram.users.pop("anna_flowers")

    assert (await feeder.feed_once()).skipped == 1
    [lead] = await leads(world, campaign)
    assert (lead.status, lead.reason) == (LeadStatus.SKIPPED, "not_found")
    assert world.llm.requests == []


HUMAN_CLAIM = "Здравствуйте! Я живой человек, не бот, честно."


async def test_an_opener_the_guard_refuses_skips_its_lead_and_the_next_goes_on(world):
    """Not an outage: the model answered, but for this lead it twice wrote what may not go
    (a human claim). The lead is skipped; the campaign's next lead is started."""
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w"])
    world.llm.queue(answer(HUMAN_CLAIM))
    world.llm.queue(answer(HUMAN_CLAIM))  # the writer's one retry, with a correction

    fed = await feeder.feed_once()
    assert (fed.skipped, fed.started, fed.wake_at) == (1, 0, None)  # no model back-off
    await world.clock.advance(PACE)  # the account's next resolve
    assert (await feeder.feed_once()).started == 1
    first, second = await leads(world, campaign)
    assert (first.status, first.reason) == (LeadStatus.SKIPPED, "opener_refused")
    assert second.status is LeadStatus.STARTED
    assert world.notifier.of_type(CampaignPaused) == []
    [dialog] = await dialogs(world)
    assert HUMAN_CLAIM not in str(world.messages(dialog.id))


async def test_openers_refused_for_leads_in_a_row_pause_the_campaign_and_tell_the_admin(world):
    """A script that makes the model claim to be human would otherwise cost two model
    calls for every lead of the list: after REFUSALS_TO_PAUSE in a row it is paused."""
    feeder = await ready(world)
    campaign = await add_campaign(world, [f"lead_{i}" for i in range(6)])
    world.llm.default = answer(HUMAN_CLAIM)

    for _ in range(REFUSALS_TO_PAUSE):
        assert (await feeder.feed_once()).skipped == 1
        await world.clock.advance(PACE)
    calls = len(world.llm.requests)
    assert (await feeder.feed_once()).started == 0
    assert len(world.llm.requests) == calls  # paused: nothing more is asked

    async with world.uow() as uow:
        paused = await uow.campaigns.get(campaign.id)
    assert paused.status is CampaignStatus.PAUSED
    statuses = [lead.status for lead in await leads(world, campaign)]
    assert statuses == [LeadStatus.SKIPPED] * REFUSALS_TO_PAUSE + [LeadStatus.QUEUED] * 3
    [told] = world.notifier.of_type(CampaignPaused)
    assert (told.campaign_id, told.refused) == (campaign.id, REFUSALS_TO_PAUSE)


async def test_the_model_down_puts_the_lead_back_and_the_feeder_backs_off(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w"])
    world.llm.queue(LlmUnavailable("timeout"))

    fed = await feeder.feed_once()

    assert (fed.started, fed.requeued) == (0, 1)
    first, second = await leads(world, campaign)
    assert second.status is LeadStatus.QUEUED  # one account: one lead a round
    assert (first.status, first.claimed_at, first.reason) == (LeadStatus.QUEUED, None, "")
    assert await dialogs(world) == []
    calls = len(world.llm.requests)
    backing_off = await feeder.feed_once()  # at once again: it waits
    assert backing_off.started == 0 and len(world.llm.requests) == calls

    await world.clock.advance(PACE)
    assert (await feeder.feed_once()).started == 1
    assert [lead.username for lead in await leads(world, campaign) if lead.dialog_id] == [
        "anna_flowers"
    ]  # the same lead, in its place


async def test_a_flood_wait_on_resolving_keeps_the_lead_and_rests_the_account(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers"])
    [account] = world.store.tables.accounts.values()
    world.telegram.fail_next(account.id, RateLimited(3600, "resolve"), on="resolve")

    fed = await feeder.feed_once()

    assert fed.requeued == 1
    [lead] = await leads(world, campaign)
    assert lead.status is LeadStatus.QUEUED
    stored: Account = world.store.tables.accounts[account.id]
    assert stored.flood_wait_until == world.clock.now() + timedelta(seconds=3600)
    resolves = len(world.telegram.resolves)
    await world.clock.advance(600)
    assert (await feeder.feed_once()).started == 0
    assert len(world.telegram.resolves) == resolves
    await world.clock.advance(3600)
    assert (await feeder.feed_once()).started == 1


async def test_resolves_are_spread_one_per_account_a_minute(world):
    feeder = await ready(world, {}, {})
    await add_campaign(world, [f"lead_{i}" for i in range(6)])

    assert (await feeder.feed_once()).started == 2  # one per account
    await send_pending(world)
    await world.clock.advance(31)  # past the minimum delay, not the resolve interval
    assert (await feeder.feed_once()).started == 0
    await world.clock.advance(30)
    assert (await feeder.feed_once()).started == 2
    per_account = Counter(account_id for account_id, _ in world.telegram.resolves)
    assert sorted(per_account.values()) == [2, 2]


# --- restarts ---------------------------------------------------------------------------


async def test_a_claim_left_by_a_crash_is_queued_again_and_started_once(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers", "carol_w"])
    async with world.uow() as uow:  # a feeder claimed it, then the process died
        await uow.leads.claim_next([campaign.id], world.clock.now())
        await uow.commit()

    assert await feeder.recover(claimed_before=world.clock.now() + timedelta(seconds=1)) == 1
    await feed_day(world, feeder, rounds=3)

    got = await leads(world, campaign)
    assert [lead.status for lead in got] == [LeadStatus.STARTED, LeadStatus.STARTED]
    assert sorted(d.target_username for d in await dialogs(world)) == [
        "anna_flowers",
        "carol_w",
    ]


async def kill_mid_opener(world: World, feeder: Feeder) -> None:
    """The feeder's round is cut where the process would die: the model is writing."""
    writing = asyncio.Event()

    async def never(turns):
        writing.set()
        await asyncio.Event().wait()

    world.llm.queue(never)
    task = asyncio.create_task(feeder.feed_once())
    await writing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_kill_mid_campaign_on_postgresql_starts_no_lead_twice_and_loses_none(
    tmp_path, engine
):
    world = World(tmp_path, engine=engine)
    world.llm.default = answer(OPENER)
    feeder = await ready(world)
    names = [f"lead_{i}" for i in range(4)]
    campaign = await add_campaign(world, names)
    assert await feed_day(world, feeder, rounds=1) == 1

    await kill_mid_opener(world, feeder)
    states = [lead.status for lead in await leads(world, campaign)]
    assert states[:2] == [LeadStatus.STARTED, LeadStatus.STARTING]

    # A new process: its feeder gives back what the dead one had claimed, then goes on.
    await world.clock.advance(5)  # the process comes back a few seconds later
    world.container.feeder.reset()
    restarted = feeder_of(world)
    assert restarted is not feeder
    assert await restarted.recover(claimed_before=world.clock.now()) == 1
    await world.clock.advance(PACE)
    await feed_day(world, restarted, rounds=5)

    got = await leads(world, campaign)
    assert all(lead.status is LeadStatus.STARTED for lead in got)
    found = await dialogs(world)
    assert sorted(d.target_username for d in found) == names  # each exactly once
    assert {lead.dialog_id for lead in got} == {d.id for d in found}
    await world.incoming.aclose()


async def test_a_dialog_stored_for_a_claim_makes_the_lead_started_on_recovery(world):
    feeder = await ready(world)
    campaign = await add_campaign(world, ["anna_flowers"])
    [account] = world.store.tables.accounts.values()
    async with world.uow() as uow:
        await uow.leads.claim_next([campaign.id], world.clock.now())
        await uow.dialogs.add(
            Dialog(
                account_id=account.id,
                target_username="anna_flowers",
                created_at=world.clock.now(),
                campaign_id=campaign.id,
            )
        )
        await uow.commit()

    await feeder.recover(claimed_before=world.clock.now() + timedelta(seconds=1))
    assert (await feeder.feed_once()).started == 0
    [lead] = await leads(world, campaign)
    assert lead.status is LeadStatus.STARTED
    assert len(await dialogs(world)) == 1


async def test_the_running_feeder_starts_leads_and_sleeps_when_there_is_nothing(world):
    await ready(world)
    feeder = feeder_of(world)
    running = asyncio.create_task(feeder.run_forever())
    try:
        await settle()
        assert world.llm.requests == []  # no campaign: asleep
        campaign = await add_campaign(world, ["anna_flowers"])
        feeder.wake()
        await settle()
        [lead] = await leads(world, campaign)
        assert lead.status is LeadStatus.STARTED
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


async def test_a_regenerated_opener_keeps_the_campaigns_script_and_variant(tmp_path):
    world = World(tmp_path, review_mode="openers")
    world.llm.default = answer(OPENER)
    feeder = await ready(world)
    variants = ("Open with the free trial box.", "Open with a question about Mother's Day.")
    await add_campaign(world, ["anna_flowers"], script=TULIPS, variants=variants)
    assert (await feeder.feed_once()).started == 1
    [dialog] = await dialogs(world)
    [draft] = world.drafts(dialog.id)

    world.llm.queue(answer("Добрый день! Пробная коробка тюльпанов — бесплатно. Интересно?"))
    await world.container.draft_review().regenerate(RegenerateDraft(draft.id, "короче"))

    system = world.llm.requests[-1].system
    assert "Tulip Farm" in system and "Zapis+" not in system
    assert variants[0] in system and "короче" in system
    await world.incoming.aclose()


async def test_a_follow_up_of_a_campaigns_dialog_follows_its_script(tmp_path, engine):
    world = World(tmp_path, engine=engine)
    world.llm.default = answer(OPENER)
    feeder = await ready(world)
    await add_campaign(world, ["anna_flowers"], script=TULIPS)
    assert (await feeder.feed_once()).started == 1
    await send_pending(world)

    world.llm.default = answer("Напомню о себе: первая коробка тюльпанов — бесплатно.")
    await world.clock.advance(hours=24)
    assert await world.conversation.follow_ups.run_once() == 1
    system = world.llm.requests[-1].system
    assert "follow-up 1 of 1" in system
    assert "Tulip Farm" in system and "Zapis+" not in system
    await world.incoming.aclose()


async def test_a_campaign_imported_while_the_feeder_sleeps_is_started_at_once(world):
    """The import tells the feeder (CampaignNews): its first lead does not wait for the
    feeder's next idle wake-up."""
    await ready(world)
    feeder = feeder_of(world)
    running = asyncio.create_task(feeder.run_forever())
    try:
        await settle()
        world.telegram.add_user("anna_flowers", 7000)
        await world.container.import_leads().run(
            "leads.txt", b"@anna_flowers tulip shop\n", name="Весна"
        )
        await settle()
        async with world.uow() as uow:
            [campaign] = await uow.campaigns.every()
        [lead] = await leads(world, campaign)
        assert lead.status is LeadStatus.STARTED
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
