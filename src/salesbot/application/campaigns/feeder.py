"""The campaign feeder: starts the leads of active campaigns lazily, as accounts have room.

A lead is started only when an account may send an opener now: it is connected and may
send (`Account.can_send`: active, no FloodWait running), no lead of it is in flight, its
allowance (SendQuota: the daily cap with the warm-up ramp, the minimum delay) has a slot
now once the messages it has queued are counted ahead of the new one (`next_start_at`,
domain/campaign.py: the pacing rule), it may resolve a username now (`ResolvePace`), and
now is inside the working hours and days. So an opener is written only when it can go at
once, never hours before; outside the working hours the feeder sleeps until they open.

Order: the oldest active campaign first (the lowest id), its queued leads in the file's
order; a younger campaign's leads are started once the older has none queued (a campaign
is a list the operator wants worked through, and one at a time keeps its results apart in
time). Each account with a free slot takes the next lead; the accounts with the most room
go first. Paused and stopped campaigns cost nothing: no claim, no model call, no resolve.
With nothing to do the feeder sleeps (`idle_seconds`, or until the earliest moment an
account has a slot, or until `wake()`: e.g. a campaign was created or resumed).

Restart safety: a lead is claimed (queued -> starting, claimed_at) in its own transaction
(FOR UPDATE SKIP LOCKED), and its dialog, opener and `started` are stored in ONE unit of
work by StartDialogHandler.start_lead, under that claim. A crash between the two leaves
the lead `starting` without a dialog: at the feeder's start every claim made before it,
and later every claim older than `lease`, goes back to `queued` (or to `started` when a
dialog of its campaign for its username exists). No lead is started twice nor lost.

Outcomes: a refusal (on the do-not-contact list, already in a dialog, the username invalid
or unknown, privacy) makes the lead `skipped` with its reason (`SkipReason`); a transient
failure (the model down, the account offline, a FloodWait, the database) puts it back to
`queued` and the feeder backs off (the account, or everything when the model is down). A
FloodWait on the resolve is stored on the account (`Account.wait_flood`), so neither the
feeder nor the dispatcher uses it before it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from salesbot.application.accounts.flood_wait import store_flood_wait
from salesbot.application.campaigns.news import CampaignNews
from salesbot.application.conversation.sales_script import SalesScriptUnavailable
from salesbot.application.conversation.start_dialog import (
    LeadNotStarted,
    LeadStart,
    StartDialogHandler,
)
from salesbot.application.errors import (
    AlreadyInDialog,
    LlmError,
    LlmUnavailable,
    OnDoNotContact,
    OpenerRefused,
    RateLimited,
    RecipientUnreachable,
)
from salesbot.application.ports import (
    AccountConnections,
    AdminNotifier,
    Clock,
    UnitOfWorkFactory,
)
from salesbot.domain.account import Account
from salesbot.domain.campaign import (
    Campaign,
    Lead,
    LeadStatus,
    SkipReason,
    next_start_at,
    next_variant,
)
from salesbot.domain.errors import InvalidUsername
from salesbot.domain.events import CampaignPaused
from salesbot.domain.quota import SendQuota
from salesbot.domain.working_hours import ALWAYS, WorkingHours

log = logging.getLogger(__name__)

# contacts.resolveUsername is the call Telegram punishes hardest: accounts that resolve
# many names in a row get FloodWaits of hours (Telegram publishes no figure; operators of
# outreach tools report trouble from a few dozen quick resolves a day on young accounts).
# These cautious figures keep a campaign's resolves spread: at most one per account a
# minute, and at most 50 per account a day — above what MAX_DAILY_MESSAGES lets a warm
# account start anyway, so they rarely bind except against bursts.
RESOLVE_INTERVAL = timedelta(seconds=60)
DAILY_RESOLVES = 50

LEASE = timedelta(minutes=15)
"""A claim older than this is taken as lost (its process died) and given back; writing an
opener takes the model seconds, a minute or two at worst."""
RECOVER_EVERY = timedelta(minutes=5)
# A lead whose opener the output guard refuses (twice: the writer retries once with a
# correction) is skipped; so many in a row say the campaign's script or variants ask for
# what the guard refuses, and the campaign is paused rather than spend the model on every
# lead of the list.
REFUSALS_TO_PAUSE = 3


class ResolvePace:
    """How often each account may resolve a username: RESOLVE_INTERVAL apart and at most
    DAILY_RESOLVES a calendar day (in the quota's time zone). Kept in memory: one feeder
    runs per database (in `salesbot run`); a restart counts the day afresh but waits one
    interval before an account's first resolve, so a crash loop cannot burst."""

    def __init__(
        self,
        quota: SendQuota,
        *,
        interval: timedelta = RESOLVE_INTERVAL,
        daily: int = DAILY_RESOLVES,
        started_at: datetime | None = None,
    ) -> None:
        self._quota = quota
        self._interval = interval
        self._daily = daily
        self._started_at = started_at
        self._last: dict[int, datetime] = {}
        self._today: dict[int, tuple[date, int]] = {}

    def next_allowed(self, account_id: int, now: datetime) -> datetime:
        """The earliest moment at or after `now` when the account may resolve again."""
        last = self._last.get(account_id, self._started_at)
        earliest = now if last is None else max(now, last + self._interval)
        day, count = self._today.get(account_id, (None, 0))
        if day == self._quota.day_of(earliest) and count >= self._daily:
            return self._quota.start_of_next_day(earliest)
        return earliest

    def note(self, account_id: int, now: datetime) -> None:
        """The account resolves a username now."""
        self._last[account_id] = now
        today = self._quota.day_of(now)
        day, count = self._today.get(account_id, (today, 0))
        self._today[account_id] = (today, count + 1 if day == today else 1)


@dataclass(frozen=True)
class FeedRound:
    """What one round did, and when the next one should look."""

    started: int = 0
    skipped: int = 0
    requeued: int = 0
    wake_at: datetime | None = None
    """None: at once (a lead was taken: there may be more)."""


_STARTED, _SKIPPED, _REQUEUED = "started", "skipped", "requeued"


class Feeder:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        connections: AccountConnections,
        starter: StartDialogHandler,
        quota: SendQuota,
        clock: Clock,
        *,
        working_hours: WorkingHours = ALWAYS,
        notifier: AdminNotifier | None = None,
        idle_seconds: float = 60.0,
        backoff_seconds: float = 60.0,
        lease: timedelta = LEASE,
        pace: ResolvePace | None = None,
        resolve_interval: float = RESOLVE_INTERVAL.total_seconds(),
        accounts_ready: Callable[[], Awaitable[None]] | None = None,
        news: CampaignNews | None = None,
    ) -> None:
        self._uow = uow_factory
        self._connections = connections
        self._starter = starter
        self._quota = quota
        self._clock = clock
        self._hours = working_hours
        self._notifier = notifier
        self._idle = timedelta(seconds=idle_seconds)
        self._backoff = timedelta(seconds=backoff_seconds)
        self._lease = lease
        self._pace = pace or ResolvePace(
            quota, interval=timedelta(seconds=resolve_interval), started_at=clock.now()
        )
        self._accounts_ready = accounts_ready
        self._wakeup = asyncio.Event()
        self._resting: dict[int, datetime] = {}
        """Accounts backed off after a transient failure, until when."""
        self._model_back: datetime | None = None
        """When the model failed: no lead is started before then."""
        self._variants: dict[int, dict[int, int]] = {}
        """Per campaign, the leads started (or being started) with each variant."""
        self._recovered_at: datetime | None = None
        self._refused: dict[int, int] = {}
        """Per campaign, the leads in a row whose opener the guard refused."""
        if news is not None:
            news.listen(self.wake)

    # --- public --------------------------------------------------------------------------

    def wake(self) -> None:
        """Look for work now (a campaign was created or resumed, an account came back)."""
        self._wakeup.set()

    async def recover(self, claimed_before: datetime | None = None) -> int:
        """Give back the claims made before `claimed_before` (default: older than the
        lease): a lead with a dialog of its campaign becomes `started`, else `queued`."""
        now = self._clock.now()
        before = claimed_before if claimed_before is not None else now - self._lease
        async with self._uow() as uow:
            recovered = await uow.leads.recover_claims(before)
            await uow.commit()
        self._recovered_at = now
        if recovered:
            log.warning("feeder: %d lead(s) left starting by a lost claim recovered", recovered)
            self._variants.clear()  # some may have become started: counted afresh
        return recovered

    async def run_forever(self) -> None:
        if self._accounts_ready is not None:
            await self._accounts_ready()
        # Every claim made before this start belongs to a process that is gone.
        await self.recover(claimed_before=self._clock.now())
        while True:
            self._wakeup.clear()
            try:
                fed = await self.feed_once()
                wake = fed.wake_at
            except Exception:
                log.exception("feeder: a round failed")
                wake = self._clock.now() + self._backoff
            if wake is None:
                continue
            await self._sleep((wake - self._clock.now()).total_seconds())

    async def feed_once(self) -> FeedRound:
        """Start at most one lead for each account that has a free slot now."""
        now = self._clock.now()
        if not self._hours.contains(now):
            return FeedRound(wake_at=self._hours.next_opening(now))
        if self._model_back is not None and now < self._model_back:
            return FeedRound(wake_at=self._model_back)
        if self._recovered_at is None or now - self._recovered_at >= RECOVER_EVERY:
            await self.recover()
        async with self._uow() as uow:
            active = sorted(
                (c for c in await uow.campaigns.every() if c.feeds), key=lambda c: c.id or 0
            )
            if not active:
                return FeedRound(wake_at=now + self._idle)
            accounts = await uow.accounts.every()
            queued = await uow.messages.pending_counts()
            for campaign in active:
                if campaign.variants and campaign.id not in self._variants:
                    assert campaign.id is not None
                    counts = await uow.leads.started_per_variant(campaign.id)
                    self._variants[campaign.id] = counts
        free, wake = self._free_accounts(accounts, queued, now)
        if not free:
            return FeedRound(wake_at=wake)
        campaigns = {c.id: c for c in active}
        ids = [c.id for c in active if c.id is not None]
        starts: list[Awaitable[str]] = []
        for account_id in free:
            async with self._uow() as uow:
                lead = await uow.leads.claim_next(ids, now)
                await uow.commit()
            if lead is None:
                break
            campaign = campaigns[lead.campaign_id]
            starts.append(self._start(account_id, lead, campaign, self._assign(campaign)))
        outcomes = list(await asyncio.gather(*starts))
        fed = FeedRound(
            started=outcomes.count(_STARTED),
            skipped=outcomes.count(_SKIPPED),
            requeued=outcomes.count(_REQUEUED),
        )
        if len(starts) < len(free):  # the campaigns ran out of queued leads
            return FeedRound(fed.started, fed.skipped, fed.requeued, now + self._idle)
        return fed

    # --- choosing ------------------------------------------------------------------------

    def _free_accounts(
        self, accounts: Sequence[Account], queued: dict[int, int], now: datetime
    ) -> tuple[list[int], datetime]:
        """The accounts that may take a lead now, the most room first; and, when none
        may, the earliest moment one might."""
        connected = self._connections.connected()
        wake = now + self._idle
        free: list[tuple[int, int]] = []
        for account in accounts:
            account_id = account.id
            if account_id is None or account_id not in connected:
                continue
            if not account.can_send(now):
                if account.flood_wait_until is not None and account.flood_waiting(now):
                    wake = min(wake, account.flood_wait_until)
                continue
            resting = self._resting.get(account_id)
            if resting is not None and resting > now:
                wake = min(wake, resting)
                continue
            allowance = self._quota.allowance(
                account.quota_state, now, created_at=account.created_at
            )
            pending = queued.get(account_id, 0)
            at = next_start_at(
                allowance.remaining, allowance.next_slot, pending, self._quota.min_delay
            )
            if at is None:  # today's cap is used by what it sent and has queued
                wake = min(wake, self._quota.start_of_next_day(now))
                continue
            at = max(at, self._pace.next_allowed(account_id, now))
            if at > now:
                wake = min(wake, at)
                continue
            free.append((allowance.remaining - pending, account_id))
        free.sort(key=lambda room: (-room[0], room[1]))
        return [account_id for _, account_id in free], wake

    def _assign(self, campaign: Campaign) -> int | None:
        """The lead's variant: the least used so far (counted at once, so the leads of one
        round spread too; given back if the lead is not started)."""
        if not campaign.variants or campaign.id is None:
            return None
        counts = self._variants.setdefault(campaign.id, {})
        variant = next_variant(campaign.variants, counts)
        if variant is not None:
            counts[variant] = counts.get(variant, 0) + 1
        return variant

    def _unassign(self, campaign: Campaign, variant: int | None) -> None:
        if variant is None or campaign.id is None:
            return
        counts = self._variants.get(campaign.id)
        if counts and counts.get(variant, 0) > 0:
            counts[variant] -= 1

    # --- starting ------------------------------------------------------------------------

    async def _start(
        self, account_id: int, lead: Lead, campaign: Campaign, variant: int | None
    ) -> str:
        async def resolving() -> None:
            self._pace.note(account_id, self._clock.now())

        try:
            started = await self._starter.start_lead(
                LeadStart(lead, campaign, variant), account_id=account_id, resolving=resolving
            )
        except OnDoNotContact:
            return await self._skip(lead, campaign, variant, SkipReason.DO_NOT_CONTACT)
        except AlreadyInDialog:
            return await self._skip(lead, campaign, variant, SkipReason.IN_DIALOG)
        except InvalidUsername:
            return await self._skip(lead, campaign, variant, SkipReason.INVALID)
        except RecipientUnreachable as refused:
            return await self._skip(lead, campaign, variant, refused.reason)
        except OpenerRefused as refused:
            skipped = await self._skip(lead, campaign, variant, SkipReason.OPENER_REFUSED)
            await self._count_refusal(campaign, str(refused))
            return skipped
        except LeadNotStarted as gone:
            log.info("feeder: lead %s not started: %s", lead.id, gone)
            return await self._requeue(lead, campaign, variant, str(gone))
        except RateLimited as flood:
            await self._flood_wait(account_id, flood)
            return await self._requeue(lead, campaign, variant, str(flood))
        except (LlmError, SalesScriptUnavailable) as down:
            retry = down.retry_after if isinstance(down, LlmUnavailable) else None
            back = timedelta(seconds=retry) if retry else self._backoff
            self._model_back = self._clock.now() + back
            return await self._requeue(lead, campaign, variant, str(down))
        except Exception as error:  # the account went offline, Telegram, the database
            log.warning("feeder: lead %s from account %s: %s", lead.id, account_id, error)
            self._resting[account_id] = self._clock.now() + self._backoff
            return await self._requeue(lead, campaign, variant, repr(error))
        self._refused.pop(campaign.id or 0, None)
        log.info(
            "feeder: campaign %s lead %s started as dialog %s (variant %s)",
            campaign.id,
            lead.id,
            started.dialog_id,
            variant,
        )
        return _STARTED

    async def _skip(self, lead: Lead, campaign: Campaign, variant: int | None, reason: str) -> str:
        self._unassign(campaign, variant)
        skipped = lead.copy()
        skipped.status, skipped.reason, skipped.variant = LeadStatus.SKIPPED, reason, None
        await self._settle(lead, skipped)
        log.info("feeder: campaign %s lead %s skipped: %s", campaign.id, lead.id, reason)
        return _SKIPPED

    async def _requeue(self, lead: Lead, campaign: Campaign, variant: int | None, why: str) -> str:
        """Back to the queue, in its place; a failure here leaves it `starting`, which the
        lease gives back."""
        self._unassign(campaign, variant)
        back = lead.copy()
        back.status, back.claimed_at, back.variant = LeadStatus.QUEUED, None, None
        try:
            await self._settle(lead, back)
        except Exception:
            log.exception("feeder: lead %s could not be queued again (%s)", lead.id, why)
        return _REQUEUED

    async def _settle(self, claimed: Lead, lead: Lead) -> None:
        assert claimed.claimed_at is not None
        async with self._uow() as uow:
            if await uow.leads.settle_claim(lead, claimed.claimed_at):
                await uow.commit()

    async def _count_refusal(self, campaign: Campaign, reason: str) -> None:
        """One more lead in a row whose opener was refused; at REFUSALS_TO_PAUSE the
        campaign is paused and the admin told (resuming starts the count afresh)."""
        assert campaign.id is not None
        refused = self._refused[campaign.id] = self._refused.get(campaign.id, 0) + 1
        if refused < REFUSALS_TO_PAUSE:
            return
        self._refused.pop(campaign.id)
        async with self._uow() as uow:
            current = await uow.campaigns.get(campaign.id)
            if current is None or not current.feeds:
                return
            current.pause()
            await uow.campaigns.update(current)
            await uow.commit()
        log.warning(
            "feeder: campaign %s paused: %d openers in a row refused (%s)",
            campaign.id,
            refused,
            reason,
        )
        if self._notifier is not None:
            await self._notifier.notify(
                CampaignPaused(campaign.id, campaign.name, refused=refused, reason=reason)
            )

    async def _flood_wait(self, account_id: int, error: RateLimited) -> None:
        """The account's FloodWait, stored (the dispatcher and a restart keep it); the
        admin is told of a long one when it begins."""
        now = self._clock.now()
        _, told = await store_flood_wait(self._uow, account_id, now, error.retry_after)
        log.warning("feeder: account %s: %s on resolving a username", account_id, error)
        if told is not None and self._notifier is not None:
            await self._notifier.notify(told)

    async def _sleep(self, seconds: float) -> None:
        """`seconds` on the clock, or less when `wake()` is called."""
        if seconds <= 0 or self._wakeup.is_set():
            return
        sleeper = asyncio.ensure_future(self._clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)
