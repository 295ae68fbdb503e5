"""CampaignViews on PostgreSQL: the list with progress, the funnel overall and per variant
(counted from the dialogs' outcomes, statuses and replies), every lead for the export."""

from __future__ import annotations

import pytest

from salesbot.adapters.persistence.queries import SqlCampaignViews
from salesbot.application.campaigns.queries import DialogCounts, LeadCounts
from salesbot.domain.campaign import CampaignStatus, LeadStatus
from salesbot.domain.dialog import DialogStatus, Outcome, Stage
from tests.campaign_seed import T0, L, Started, seed_campaign
from tests.contracts.seeding import add_account

VARIANTS = ("Ask about their booking book", "Offer a free month")
LEADS = [
    L(
        "anna_salon",
        {"name": "Anna", "company": "Salon A"},
        Started(
            0,
            replied=True,
            outcome=Outcome.GOAL,
            status=DialogStatus.PAUSED,
            stage=Stage.CLOSE,
            warmth=90,
            summary="wants a demo",
        ),
    ),
    L(
        "boris_salon",
        {"name": "Boris"},
        Started(0, replied=True, outcome=Outcome.REJECTED, status=DialogStatus.FINISHED),
    ),
    L("vera_salon", {"city": "Moscow"}, Started(0)),
    L(
        "gleb_salon",
        {},
        Started(1, replied=True, outcome=Outcome.HANDOFF, status=DialogStatus.PAUSED),
    ),
    L(
        "dina_salon",
        {},
        Started(1, replied=True, outcome=Outcome.OPT_OUT, status=DialogStatus.OPTED_OUT),
    ),
    L("egor_salon", {}, Started(1, status=DialogStatus.FAILED)),
    L(
        "zoya_salon",
        {},
        Started(1, replied=True, outcome=Outcome.NOT_QUALIFIED, status=DialogStatus.FINISHED),
    ),
    L("ilya_salon", {}, skipped="on the do-not-contact list"),
    L("kira_salon", {}, skipped="no such user"),
    L("lev_salon", {}, skipped="no such user"),
    L("mila_salon", {}, starting=True),
    L("nina_salon", {"name": "Nina"}),
    L("oleg_salon", {}),
]


@pytest.fixture
def views(engine) -> SqlCampaignViews:
    return SqlCampaignViews(engine)


async def _account(new_uow) -> int:
    async with new_uow() as uow:
        account = await add_account(uow)
        await uow.commit()
    assert account.id is not None
    return account.id


async def test_the_funnel_counts_every_stage_overall_and_per_variant(new_uow, views):
    account = await _account(new_uow)
    n = await seed_campaign(new_uow, account, LEADS, variants=VARIANTS, script="Our own script")

    funnel = await views.funnel(n)

    assert funnel is not None
    assert (funnel.name, funnel.status, funnel.own_script) == (
        "Salons, Moscow",
        CampaignStatus.ACTIVE,
        True,
    )
    assert funnel.leads == LeadCounts(queued=2, starting=1, started=7, skipped=3)
    assert funnel.dialogs == DialogCounts(
        started=7, replied=5, goal=1, handoff=1, rejected=2, opted_out=1, failed=1
    )
    [first, second] = funnel.variants
    assert (first.index, first.text) == (0, "Ask about their booking book")
    assert first.counts == DialogCounts(started=3, replied=2, goal=1, rejected=1)
    assert first.counts.reply_rate == pytest.approx(2 / 3)
    assert second.counts == DialogCounts(
        started=4, replied=3, handoff=1, rejected=1, opted_out=1, failed=1
    )
    assert second.counts.goal_rate == 0
    assert dict(funnel.skipped) == {"no such user": 2, "on the do-not-contact list": 1}
    assert await views.funnel(n + 1000) is None


async def test_a_campaign_without_variants_or_starts_has_an_empty_funnel(new_uow, views):
    account = await _account(new_uow)
    n = await seed_campaign(new_uow, account, [L("anna_salon"), L("boris_salon")])

    funnel = await views.funnel(n)

    assert funnel is not None
    assert funnel.own_script is False and funnel.variants == []
    assert funnel.leads == LeadCounts(queued=2)
    assert funnel.dialogs == DialogCounts()
    assert funnel.dialogs.reply_rate is None and funnel.dialogs.goal_rate is None


async def test_summaries_come_newest_first_with_their_progress(new_uow, views):
    account = await _account(new_uow)
    older = await seed_campaign(new_uow, account, LEADS, variants=VARIANTS)
    newer = await seed_campaign(
        new_uow,
        account,
        [L("petr_shop")],
        name="Shops",
        status=CampaignStatus.PAUSED,
        created_at=T0,
    )
    empty = await seed_campaign(new_uow, account, [], name="Empty")

    rows = await views.summaries(limit=10, offset=0)

    assert [r.campaign_id for r in rows] == [empty, newer, older]
    assert await views.count() == 3
    last = rows[2]
    assert last.leads == LeadCounts(queued=2, starting=1, started=7, skipped=3)
    assert last.leads.total == len(LEADS)
    assert (last.replied, last.goal) == (5, 1)
    assert (rows[1].name, rows[1].status, rows[1].leads.total) == (
        "Shops",
        CampaignStatus.PAUSED,
        1,
    )
    assert rows[0].leads == LeadCounts() and rows[0].replied == 0
    assert [r.campaign_id for r in await views.summaries(limit=2, offset=1)] == [newer, older]
    assert await views.summaries(limit=0, offset=0) == []


async def test_every_lead_is_exported_in_the_files_order_with_its_dialog(new_uow, views):
    account = await _account(new_uow)
    n = await seed_campaign(new_uow, account, LEADS, variants=VARIANTS)

    first_page = await views.leads(n, offset=0, limit=5)
    rest = await views.leads(n, offset=5, limit=100)

    rows = first_page + rest
    assert [r.username for r in rows] == [lead.username for lead in LEADS]
    anna = rows[0]
    assert anna.fields == {"name": "Anna", "company": "Salon A"}
    assert (anna.status, anna.variant, anna.dialog_status, anna.outcome) == (
        LeadStatus.STARTED,
        0,
        DialogStatus.PAUSED,
        Outcome.GOAL,
    )
    assert (anna.stage, anna.warmth, anna.summary, anna.replied) == (
        Stage.CLOSE,
        90,
        "wants a demo",
        True,
    )
    assert anna.dialog_id is not None and anna.started_at == T0
    assert rows[2].replied is False and rows[2].dialog_id is not None
    kira = rows[8]
    assert (kira.status, kira.reason, kira.dialog_id, kira.outcome) == (
        LeadStatus.SKIPPED,
        "no such user",
        None,
        None,
    )
    assert (rows[11].status, rows[11].replied, rows[11].started_at) == (
        LeadStatus.QUEUED,
        False,
        None,
    )
