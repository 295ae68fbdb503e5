"""What the operator reads, on PostgreSQL: the query ports are SQL."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.adapters.persistence.queries import SqlDialogViews, SqlStatsQuery
from salesbot.application.admin.views import AdminViews
from salesbot.application.errors import UnknownDialog
from salesbot.domain.dialog import DialogStatus, Outcome, Stage
from salesbot.domain.message import Direction, OutKind
from tests.application.admin_seed import Seed
from tests.fakes import FakeClock

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))  # 12:00 in Moscow


@pytest.fixture
def seed(uow_factory, clock) -> Seed:
    return Seed(uow_factory, clock)


def views(engine, clock, page_size=10) -> AdminViews:
    return AdminViews(
        SqlDialogViews(engine), SqlStatsQuery(engine), clock, MOSCOW, page_size=page_size
    )


async def test_open_dialogs_come_newest_activity_first_with_stage_and_warmth(engine, seed, clock):
    account = await seed.account("+79001112233")
    old = await seed.dialog(account, "old_lead", minutes_ago=90)
    new = await seed.dialog(account, "new_lead", minutes_ago=5, stage=Stage.VALUE, warmth=70)
    paused = await seed.dialog(account, "paused_lead", status=DialogStatus.PAUSED, minutes_ago=30)
    await seed.dialog(account, "stopped_lead", status=DialogStatus.STOPPED, minutes_ago=1)

    page = await views(engine, clock).open_dialogs()

    assert [r.dialog_id for r in page.rows] == [new, paused, old]
    assert (page.page, page.pages, page.total) == (1, 1, 3)
    first = page.rows[0]
    assert (first.username, first.stage, first.warmth, first.account_phone) == (
        "new_lead",
        Stage.VALUE,
        70,
        "+79001112233",
    )


async def test_pages_hold_page_size_rows_and_a_page_past_the_end_shows_the_last(
    engine, seed, clock
):
    account = await seed.account()
    ids = [await seed.dialog(account, f"lead_{i:02d}", minutes_ago=i) for i in range(5)]
    v = views(engine, clock, page_size=2)

    assert [r.dialog_id for r in (await v.open_dialogs(1)).rows] == ids[0:2]
    assert [r.dialog_id for r in (await v.open_dialogs(2)).rows] == ids[2:4]
    last = await v.open_dialogs(9)
    assert (last.page, last.pages, [r.dialog_id for r in last.rows]) == (3, 3, ids[4:])
    assert (await v.open_dialogs(0)).page == 1


async def test_a_transcript_holds_every_message_in_order_but_cancelled_ones(engine, seed, clock):
    account = await seed.account()
    dialog = await seed.dialog(account, "ivan_petrov", summary="wants a demo")
    await seed.sent(dialog, account, "Hello", kind=OutKind.OPENER, minutes_ago=10)
    await seed.received(dialog, account, "Hi, who is it?", minutes_ago=8)
    await seed.queued(dialog, account, "We make CRMs")
    async with seed.uow() as uow:
        await uow.messages.cancel_pending(dialog)
        await uow.commit()
    await seed.queued(dialog, account, "We build CRMs")

    transcript = await views(engine, clock).transcript(dialog)

    assert [(m.direction, m.content) for m in transcript.messages] == [
        (Direction.OUT, "Hello"),
        (Direction.IN, "Hi, who is it?"),
        (Direction.OUT, "We build CRMs"),
    ]
    assert transcript.summary == "wants a demo"
    with pytest.raises(UnknownDialog):
        await views(engine, clock).transcript(404)


async def test_stats_count_today_from_local_midnight_and_all_time_per_account(engine, seed, clock):
    first = await seed.account("+79000000001")
    second = await seed.account("+79000000002")
    # Yesterday (Moscow): an opener that got a reply.
    d1 = await seed.dialog(first, "lead_one", minutes_ago=24 * 60)
    await seed.sent(d1, first, "Hi", kind=OutKind.OPENER, minutes_ago=24 * 60)
    await seed.received(d1, first, "Hello", minutes_ago=23 * 60)
    # Today: two openers from the first account, one reply; one opener from the second.
    d2 = await seed.dialog(first, "lead_two", minutes_ago=60)
    await seed.sent(d2, first, "Hi", kind=OutKind.OPENER, minutes_ago=60)
    await seed.received(d2, first, "Yes?", minutes_ago=30)
    d3 = await seed.dialog(first, "lead_three", minutes_ago=50)
    await seed.sent(d3, first, "Hi", kind=OutKind.OPENER, minutes_ago=50)
    d4 = await seed.dialog(second, "lead_four", minutes_ago=40, status=DialogStatus.OPTED_OUT)
    await seed.sent(d4, second, "Hi", kind=OutKind.OPENER, minutes_ago=40)
    async with seed.uow() as uow:
        dialog = await uow.dialogs.get(d2)
        dialog.outcome = Outcome.GOAL
        await uow.dialogs.update(dialog)
        await uow.commit()

    report = await views(engine, clock).stats()

    assert report.today_since == datetime(2026, 1, 5, 0, 0, tzinfo=MOSCOW)
    assert (report.today.total.openers_sent, report.today.total.dialogs_replied) == (3, 1)
    assert (report.all_time.total.openers_sent, report.all_time.total.dialogs_replied) == (4, 2)
    assert report.all_time.reply_rate == 0.5
    assert [(s.phone, s.openers_sent) for s in report.today.per_account] == [
        ("+79000000001", 2),
        ("+79000000002", 1),
    ]
    assert report.all_time.total.goals == 1 and report.all_time.total.opt_outs == 1
    assert report.dialogs_by_status[DialogStatus.ACTIVE] == 3
    assert report.dialogs_by_status[DialogStatus.OPTED_OUT] == 1


async def test_daily_gives_the_last_14_days_in_the_time_zone_zeros_included(engine, seed, clock):
    first = await seed.account("+79000000001")
    second = await seed.account("+79000000002")
    # 00:30 in Moscow today is 21:30 UTC yesterday: it counts today.
    d1 = await seed.dialog(first, "lead_one", minutes_ago=11.5 * 60)
    await seed.sent(d1, first, "Hi", kind=OutKind.OPENER, minutes_ago=11.5 * 60)
    await seed.received(d1, first, "Hello", minutes_ago=60)
    d2 = await seed.dialog(second, "lead_two", minutes_ago=3 * 24 * 60)
    await seed.sent(d2, second, "Hi", kind=OutKind.OPENER, minutes_ago=3 * 24 * 60)
    # 14 days ago is one day too many.
    await seed.sent(d2, second, "Old", minutes_ago=14 * 24 * 60)
    async with seed.uow() as uow:
        dialog = await uow.dialogs.get(d2)
        dialog.outcome = Outcome.GOAL
        await uow.dialogs.update(dialog)
        await uow.commit()

    daily = await views(engine, clock).daily()

    assert len(daily.days) == 14
    assert (daily.days[0].isoformat(), daily.days[-1].isoformat()) == ("2025-12-23", "2026-01-05")
    assert [(d.sent, d.replies, d.goals) for d in daily.total[-4:]] == [
        (1, 0, 1),
        (0, 0, 0),
        (0, 0, 0),
        (1, 1, 0),
    ]
    assert sum(d.sent for d in daily.total) == 2
    assert [(a.phone, sum(d.sent for d in a.days)) for a in daily.per_account] == [
        ("+79000000001", 1),
        ("+79000000002", 1),
    ]
    assert not daily.is_empty


async def test_daily_with_nothing_done_is_empty_but_has_every_day(engine, seed, clock):
    await seed.account("+79000000001")

    daily = await views(engine, clock).daily()

    assert daily.is_empty
    assert len(daily.total) == 14 and len(daily.per_account[0].days) == 14
