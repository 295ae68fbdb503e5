"""/stats of all time stays what the messages say, whatever wrote them.

A generated mix of what the flows do — incoming messages (Telegram delivering some twice),
queued replies, openers and follow-ups, claims, sends, sends found after a crash, returns to
pending, failures, cancellations, rewrites, messages stored already sent, dialogs closed from
a stale read, openers moved to another account, transactions rolled back — and then the
all-time figures per account must equal a plain recount of the stored messages and dialogs,
and the figures of a period spanning everything.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from salesbot.adapters.persistence.queries import SqlStatsQuery
from salesbot.application.admin.queries import AccountStats
from salesbot.application.ports import UnitOfWork, UnitOfWorkFactory
from salesbot.domain.dialog import Dialog, DialogStatus, Outcome
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from tests.contracts.seeding import (
    add_account,
    at,
    claim,
    every_dialog,
    every_message,
    outgoing,
)

_numbers = itertools.count(1)
EVER = (datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))


def _unique() -> int:
    """Unique in this run, and apart from a parallel run's (usernames, phones, Telegram ids
    stay unique across the examples sharing a database)."""
    return next(_numbers) * 1000 + os.getpid() % 1000


_pick = st.integers(0, 100)
_kinds = st.sampled_from(list(OutKind))
_deliveries = st.sampled_from([*Delivery, None])
OPERATIONS = st.one_of(
    st.tuples(st.just("dialog"), _pick),
    st.tuples(st.just("incoming"), _pick, st.integers(1, 6), st.booleans()),
    st.tuples(st.just("queue"), _pick, _kinds, st.booleans()),
    st.tuples(st.just("claim"), _pick),
    st.tuples(st.just("send"), _pick),
    st.tuples(st.just("settle"), _pick, st.sampled_from(["sent", "pending", "failed"])),
    st.tuples(st.just("send_again"), _pick),
    st.tuples(st.just("cancel"), _pick),
    st.tuples(st.just("rewrite"), _pick, _deliveries, _kinds),
    st.tuples(st.just("store_sent"), _pick, _kinds),
    st.tuples(st.just("store_incoming"), _pick),
    st.tuples(st.just("close"), _pick, st.sampled_from(list(DialogStatus)), st.booleans()),
    st.tuples(st.just("move"), _pick, _pick),
)
TRANSACTIONS = st.lists(
    st.tuples(st.lists(OPERATIONS, min_size=1, max_size=8), st.booleans()),
    min_size=1,
    max_size=8,
)


def _choose(items: list, pick: int):
    return items[pick % len(items)] if items else None


class Scenario:
    """Plays operations through the ports, as the use-cases would."""

    def __init__(self, uow: UnitOfWork, accounts: list[int], dialogs: list[Dialog]) -> None:
        self.uow, self.accounts, self.dialogs = uow, accounts, dialogs
        self.minute = 0.0

    def now(self) -> datetime:
        self.minute += 1
        return at(self.minute)

    async def messages(self, delivery: Delivery | None = None) -> list[Message]:
        found = []
        for dialog in self.dialogs:
            found += await self.uow.messages.list_for_dialog(dialog.id)
        return [m for m in found if delivery is None or m.delivery is delivery]

    async def record_sent(self, message: Message) -> None:
        """Outbox.record_sent."""
        message.delivery, message.sent_at = Delivery.SENT, self.now()
        message.telegram_message_id = -_unique()
        await self.uow.messages.update(message, dialog_activity_at=message.sent_at)

    async def play(self, operation: tuple) -> None:
        name, pick, *rest = operation
        dialog = _choose(self.dialogs, pick)
        if name == "dialog":
            account_id = _choose(self.accounts, pick)
            self.dialogs.append(
                await self.uow.dialogs.add(
                    Dialog(account_id=account_id, target_username=f"p_{_unique()}")
                )
            )
        elif dialog is None:
            return
        elif name == "incoming":
            # Telegram ids repeat per account: some arrive twice and are stored once.
            telegram_id = dialog.id * 10 + rest[0]
            # As IncomingMessages stores it: cancelling the replies it makes obsolete.
            cancelling = [OutKind.REPLY, OutKind.FOLLOW_UP] if rest[1] else []
            await self.uow.messages.add_incoming(
                Message.incoming(dialog.id, dialog.account_id, "hi", self.now(), telegram_id),
                cancel_pending=cancelling,
            )
        elif name == "store_incoming":
            message = Message.incoming(dialog.id, dialog.account_id, "hi", self.now(), -_unique())
            message.account_id = None  # takes its dialog's
            await self.uow.messages.add(message)
        elif name == "queue":  # with its dialog's new state, as a reply is queued
            with_dialog = await self.uow.dialogs.get(dialog.id) if rest[1] else None
            await self.uow.messages.add(
                outgoing(dialog, "x", kind=rest[0], send_after=self.now()), dialog=with_dialog
            )
        elif name == "store_sent":
            message = outgoing(dialog, "imported", kind=rest[0], send_after=self.now())
            message.delivery, message.sent_at = Delivery.SENT, message.timestamp
            await self.uow.messages.add(message)
        elif name == "claim":  # and then a crash: the message stays `sending`
            await claim(self.uow, _choose(self.accounts, pick), at(10_000))
        elif name == "send":  # the Dispatcher: claim, send, Outbox.record_sent
            account_id = _choose(self.accounts, pick)
            message = await claim(self.uow, account_id, at(10_000))
            if message is not None:
                await self.record_sent(message)
        elif name == "settle":  # InterruptedSends: found in the chat, or not, or unreachable
            message = _choose(await self.messages(Delivery.SENDING), pick)
            if message is None:
                return
            if rest[0] == "sent":
                await self.record_sent(message)
            else:
                message.delivery = Delivery(rest[0])
                await self.uow.messages.update(message)
        elif name == "send_again":  # recorded sent twice: counted once
            message = _choose(await self.messages(Delivery.SENT), pick)
            if message is not None:
                await self.record_sent(message)
        elif name == "cancel":
            await self.uow.messages.cancel_pending(dialog.id)
        elif name == "rewrite":  # any update of any message, sent again included
            message = _choose(await self.messages(), pick)
            if message is None:
                return
            message.delivery, message.kind = rest
            touched = self.now() if pick % 2 else None
            await self.uow.messages.update(message, dialog_activity_at=touched)
        elif name == "close":  # from a read older than the messages stored since
            status, goal = rest
            stale = await self.uow.dialogs.get(dialog.id)
            await self.uow.messages.add_incoming(
                Message.incoming(dialog.id, dialog.account_id, "bye", self.now(), -_unique())
            )
            stale.status = status
            if goal:
                stale.outcome = Outcome.GOAL
            await self.uow.dialogs.update(stale)
        elif name == "move":
            # SpamLimits moves an opener's dialog before anything was said in it; here only
            # while all its messages are queued, so that no message left with the first
            # account (a cancelled one) can be rewritten as sent later.
            held = [
                m
                for m in await self.uow.messages.list_for_dialog(dialog.id)
                if m.delivery is not Delivery.PENDING
            ]
            target = _choose(self.accounts, rest[0])
            if not held and target != dialog.account_id:
                await self.uow.dialogs.reassign(dialog.id, target)
                self.dialogs[self.dialogs.index(dialog)] = await self.uow.dialogs.get(dialog.id)


async def recount(uow: UnitOfWork, engine: AsyncEngine) -> list[AccountStats]:
    """The figures from the stored rows, counted one by one."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    replied: dict[int, set[int]] = defaultdict(set)
    for m in await every_message(engine):
        mine = counts[m.account_id]
        if m.direction is Direction.IN:
            mine["received"] += 1
            replied[m.account_id].add(m.dialog_id)
        elif m.delivery is Delivery.SENT:
            mine["sent"] += 1
            mine["openers"] += m.kind is OutKind.OPENER
    for dialog in await every_dialog(engine):
        counts[dialog.account_id]["goals"] += dialog.outcome is Outcome.GOAL
        counts[dialog.account_id]["opt_outs"] += dialog.status is DialogStatus.OPTED_OUT
    return [
        AccountStats(
            account_id=account.id,
            phone=account.phone,
            openers_sent=counts[account.id]["openers"],
            messages_sent=counts[account.id]["sent"],
            messages_received=counts[account.id]["received"],
            dialogs_replied=len(replied[account.id]),
            goals=counts[account.id]["goals"],
            opt_outs=counts[account.id]["opt_outs"],
        )
        for account in await uow.accounts.every()
    ]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(transactions=TRANSACTIONS)
async def test_all_time_figures_equal_a_recount_of_the_messages(
    new_uow: UnitOfWorkFactory,
    engine: AsyncEngine,
    stats: SqlStatsQuery,
    transactions: list[tuple[list[tuple], bool]],
) -> None:
    # Rows of earlier examples stay in the database; each example has accounts of its own.
    async with new_uow() as uow:
        accounts = [(await add_account(uow, f"+7{_unique():010d}")).id for _ in range(2)]
        await uow.commit()
    dialogs: list[Dialog] = []
    for operations, commit in transactions:
        async with new_uow() as uow:
            scenario = Scenario(uow, accounts, list(dialogs))
            for operation in operations:
                await scenario.play(operation)
            if commit:
                await uow.commit()
                dialogs = scenario.dialogs
    async with new_uow() as uow:
        expected = [s for s in await recount(uow, engine) if s.account_id in accounts]
        all_time = await stats.per_account()
        assert [s for s in all_time if s.account_id in accounts] == expected
        ever = await stats.per_account(since=EVER[0], until=EVER[1])
        assert [s for s in ever if s.account_id in accounts] == expected
        assert (await stats.all_time()).per_account == all_time
