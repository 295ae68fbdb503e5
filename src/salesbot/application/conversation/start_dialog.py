"""start_dialog: the operator's `/start @user <notes>` — pick an account, write the opener.

Refused when the prospect is on the do-not-contact list or already in an open dialog. The
account is the connected, active one with the most quota left today (SendQuota with the
warm-up ramp, minus the messages it already has queued). The username is resolved through
that account only when its peer cache does not know it yet. The model writes the opener
(outside any transaction); the dialog and the pending opener are stored in one unit of
work. A resolved peer is kept at once, even when the opener then fails. Only the Dispatcher
sends the opener. In review mode the opener is stored as a draft for the admin instead
(nothing is sent before Approve or Edit).

A campaign's lead is started the same way (`start_lead`, called by the feeder with the
account it chose and the lead it claimed): the campaign's script and the lead's opener
variant are the model's, and the dialog, its opener and the lead's `started` (with its
dialog and variant) are stored in the same unit of work, so a crash leaves either all of
them or none (the lead still `starting`, which the feeder's recovery queues again).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from salesbot.application.conversation.apply_outcome import draft_written, record_answer
from salesbot.application.conversation.prompt import Task
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.write_reply import ReplyRefused, ReplyWriter
from salesbot.application.errors import (
    AccountNotConnected,
    AlreadyInDialog,
    DialogAlreadyOpen,
    NoAccountAvailable,
    OnDoNotContact,
    OpenerRefused,
    UseCaseError,
)
from salesbot.application.ports import (
    AdminNotifier,
    Clock,
    ConnectedAccounts,
    UnitOfWork,
    UnitOfWorkFactory,
    UsernameResolver,
)
from salesbot.domain.account import Account
from salesbot.domain.campaign import Campaign, Lead, LeadStatus, lead_notes
from salesbot.domain.dialog import Dialog
from salesbot.domain.message import Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.quota import SendQuota
from salesbot.domain.review import ReviewMode, needs_review
from salesbot.domain.script_language import script_language
from salesbot.domain.username import normalize_username

logger = logging.getLogger(__name__)

DISCLOSURE_RU = "(Это сообщение написал ИИ-ассистент компании.)"
DISCLOSURE_EN = "(This message was written by the company's AI assistant.)"
DISCLOSURES = {"ru": DISCLOSURE_RU, "en": DISCLOSURE_EN}


def disclosure_for(script: str) -> str:
    """The AI note in the sales script's language (its majority alphabet)."""
    return DISCLOSURES[script_language(script)]


def with_disclosure(opener: str, script: str) -> str:
    """The opener with the AI note under it, in the language of the script it was written
    from (AI_DISCLOSURE=opener)."""
    return f"{opener}\n\n{disclosure_for(script)}"


MAX_NOTES_CHARS = 2000


@dataclass(frozen=True)
class StartDialog:
    username: str
    notes: str = ""


@dataclass(frozen=True)
class LeadStart:
    """A claimed lead to start (`start_lead`): the lead as claimed (`starting`, its
    `claimed_at` the claim), its campaign and the opener variant chosen for it."""

    lead: Lead
    campaign: Campaign
    variant: int | None = None


class LeadNotStarted(UseCaseError):
    """The lead's claim was given up meanwhile (recovered as stale) or its campaign no
    longer feeds (paused or stopped while the opener was written): nothing was stored."""


@dataclass(frozen=True)
class DialogStarted:
    dialog_id: int
    account_id: int
    username: str
    opener: str
    draft: bool = False
    """The opener waits for the admin's approval (review mode)."""


class StartDialogHandler:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        connections: ConnectedAccounts,
        messenger: UsernameResolver,
        writer: ReplyWriter,
        script: SalesScript,
        clock: Clock,
        quota: SendQuota,
        *,
        disclose: bool = False,
        accounts_ready: Callable[[], Awaitable[None]] | None = None,
        review: ReviewMode = ReviewMode.OFF,
        notifier: AdminNotifier | None = None,
    ) -> None:
        self._review = review
        self._notifier = notifier
        self._uow_factory = uow_factory
        self._connections = connections
        self._messenger = messenger
        self._writer = writer
        self._script = script
        self._clock = clock
        self._quota = quota
        self._disclose = disclose
        self._accounts_ready = accounts_ready

    async def __call__(
        self,
        cmd: StartDialog,
        *,
        account_id: int | None = None,
        writing: Callable[[], Awaitable[None]] | None = None,
    ) -> DialogStarted:
        """Start the dialog; `account_id` names the account instead of choosing the one
        with the most quota left. It must be connected, but its status is not looked at:
        `salesbot rehearse` uses a disabled stand-in account that no real process runs.
        `writing` is awaited once every check has passed, as the model begins the opener
        (which may take minutes), so that the operator hears it is under way."""
        return await self._start(cmd.username, cmd.notes, account_id=account_id, writing=writing)

    async def start_lead(
        self,
        start: LeadStart,
        *,
        account_id: int,
        resolving: Callable[[], Awaitable[None]] | None = None,
    ) -> DialogStarted:
        """Start a campaign's claimed lead from `account_id` (connected; the feeder chose
        it for its free slot). `resolving` is awaited just before the username is resolved
        (not when the account's peer cache knows it): the feeder counts resolves with it.
        Refusals raise as for `/start` (OnDoNotContact, AlreadyInDialog,
        RecipientUnreachable, InvalidUsername); LeadNotStarted when the claim or the
        campaign changed meanwhile. The lead is written only when its dialog is."""
        notes = lead_notes(start.lead.fields)
        return await self._start(
            start.lead.username, notes, account_id=account_id, lead=start, resolving=resolving
        )

    async def _start(
        self,
        username: str,
        notes: str,
        *,
        account_id: int | None,
        writing: Callable[[], Awaitable[None]] | None = None,
        lead: LeadStart | None = None,
        resolving: Callable[[], Awaitable[None]] | None = None,
    ) -> DialogStarted:
        username = normalize_username(username)
        notes = notes.strip()[:MAX_NOTES_CHARS]
        if self._accounts_ready is not None:
            await self._accounts_ready()  # right after a start, the accounts may be connecting
        now = self._clock.now()
        async with self._uow_factory() as uow:
            await self._refuse_if_taken(uow, username)
            if account_id is None:
                account = await self._pick_account(uow, now)
            else:
                account = await self._named_account(uow, account_id)
            assert account.id is not None
            peer = await uow.peers.get(account.id, username)
            if peer is not None and await uow.do_not_contact.contains(user_id=peer.user_id):
                raise OnDoNotContact(username)
            if lead is None:
                script = await self._script.read(uow)
            else:
                script = await self._script.for_campaign(uow, lead.campaign)
        if peer is None:
            if resolving is not None:
                await resolving()
            try:
                peer = await self._messenger.resolve_username(account.id, username)
            except AccountNotConnected:
                raise NoAccountAvailable(
                    "the chosen account went offline a moment ago; try again"
                ) from None
            async with self._uow_factory() as uow:
                if await uow.do_not_contact.contains(user_id=peer.user_id):
                    raise OnDoNotContact(username)
                # Kept at once: an opener the model fails to write must not cost another
                # resolveUsername, which Telegram punishes with long flood waits.
                await uow.peers.put(_peer_for(peer, account.id, username))
                await uow.commit()
        dialog = Dialog(
            account_id=account.id,
            target_username=username,
            target_user_id=peer.user_id,
            notes=notes,
            created_at=now,
            last_activity_at=now,
        )
        variant = ""
        if lead is not None:
            dialog.campaign_id, dialog.variant = lead.campaign.id, lead.variant
            if lead.variant is not None:
                variant = lead.campaign.variants[lead.variant]
        if writing is not None:
            await writing()
        try:
            composed = await self._writer.compose(
                Task.OPENER, script=script, dialog=dialog, variant=variant
            )
        except ReplyRefused as refused:
            raise OpenerRefused(
                f"{refused}: no opener was written; try again, or adjust the sales script"
            ) from None
        opener = with_disclosure(composed.text, script) if self._disclose else composed.text
        now = self._clock.now()
        record_answer(dialog, composed, now)
        async with self._uow_factory() as uow:
            await self._refuse_if_taken(uow, username, user_id=peer.user_id)
            try:
                stored = await uow.dialogs.add(dialog)
            except DialogAlreadyOpen:
                found = await uow.dialogs.find_open_by_username(username)
                raise AlreadyInDialog(username, found.id if found and found.id else 0) from None
            assert stored.id is not None
            message = Message.outgoing(stored.id, account.id, opener, now, OutKind.OPENER)
            drafted = needs_review(self._review, stored.review, OutKind.OPENER)
            queued = await uow.messages.add(message.as_draft() if drafted else message)
            if lead is not None:
                await self._settle_lead(uow, lead, stored.id)
            await uow.commit()
        if drafted and self._notifier is not None:
            await self._notifier.notify(draft_written(stored, queued))
        logger.info(
            "dialog %s started with @%s from account %s (%d+%d tokens, $%.5f)",
            stored.id,
            username,
            account.id,
            composed.usage.prompt_tokens,
            composed.usage.completion_tokens,
            composed.usage.cost_usd,
        )
        return DialogStarted(stored.id, account.id, username, opener, draft=drafted)

    async def _refuse_if_taken(
        self, uow: UnitOfWork, username: str, *, user_id: int | None = None
    ) -> None:
        if await uow.do_not_contact.contains(username=username, user_id=user_id):
            raise OnDoNotContact(username)
        found = await uow.dialogs.find_open_by_username(username)
        if found is not None:
            raise AlreadyInDialog(username, found.id or 0)

    async def _settle_lead(self, uow: UnitOfWork, start: LeadStart, dialog_id: int) -> None:
        """The lead `started` with its dialog and variant, in the dialog's unit of work;
        LeadNotStarted (the unit of work rolls back) when its claim or campaign changed."""
        claimed_at = start.lead.claimed_at
        assert start.campaign.id is not None and claimed_at is not None
        campaign = await uow.campaigns.get(start.campaign.id)
        if campaign is None or not campaign.feeds:
            raise LeadNotStarted(f"campaign {start.campaign.id} is not active any more")
        started = start.lead.copy()
        started.status, started.dialog_id, started.variant = (
            LeadStatus.STARTED,
            dialog_id,
            start.variant,
        )
        started.reason = ""
        if not await uow.leads.settle_claim(started, claimed_at):
            raise LeadNotStarted(f"lead {start.lead.id} was given back meanwhile")

    async def _named_account(self, uow: UnitOfWork, account_id: int) -> Account:
        account = await uow.accounts.get(account_id)
        if account is None or account_id not in self._connections.connected():
            raise NoAccountAvailable(f"account {account_id} is not connected")
        return account

    async def _pick_account(self, uow: UnitOfWork, now: datetime) -> Account:
        connected = self._connections.connected()
        accounts = await uow.accounts.every()
        candidates = [a for a in accounts if a.id in connected and a.can_send(now)]
        if not candidates:
            raise NoAccountAvailable(
                "no connected account that may send now (active, no FloodWait running): add "
                "one with `salesbot account login` or enable one"
            )
        queued = await uow.messages.pending_counts()

        def room(account: Account) -> tuple[int, int]:
            allowance = self._quota.allowance(
                account.quota_state, now, created_at=account.created_at
            )
            return (allowance.remaining - queued.get(account.id or 0, 0), -(account.id or 0))

        return max(candidates, key=room)


def _peer_for(peer: Peer, account_id: int, username: str) -> Peer:
    """The peer as the account resolved it, filed under the name the operator typed."""
    if peer.account_id == account_id and peer.username == username:
        return peer
    return Peer(account_id, username, peer.user_id, peer.access_hash)
