"""An in-memory unit of work with the same semantics as the SQL one.

Transactions are serialised by one lock and work on a copy of the store, written back only
on `commit()`: a use-case that forgets to commit loses its changes here exactly as it would
on PostgreSQL. Units of work must not be nested (the SQL one would not deadlock, this one
would, which is how tests catch it).

Like the database it checks references (a dialog's account, a message's dialog, a peer's
account) and raises RecordNotFound for an update of a row that was never stored. The
database stamps `created_at` with its own clock when a new account or dialog has none;
the store does so only when given a clock (real time would make fake-clock tests depend
on the day they run).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from types import TracebackType

from salesbot.application.errors import DialogAlreadyOpen, DuplicateAccount, RecordNotFound
from salesbot.application.ports import AdminUpdate, Clock, UpdateState
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.campaign import Campaign, Lead, LeadStatus
from salesbot.domain.dialog import Dialog
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.message import Delivery, Direction, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.quota import SlotRequest
from salesbot.domain.webhook import (
    DialogFacts,
    WebhookEvent,
    dialog_payload,
    facts_to_events,
)


@dataclass
class _AdminUpdateRow:
    update: AdminUpdate
    received_at: datetime


@dataclass
class _Tables:
    accounts: dict[int, Account] = field(default_factory=dict)
    dialogs: dict[int, Dialog] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    do_not_contact: list[DoNotContact] = field(default_factory=list)
    peers: dict[tuple[int, str], Peer] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    update_states: dict[int, UpdateState] = field(default_factory=dict)
    admin_updates: dict[int, _AdminUpdateRow] = field(default_factory=dict)
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    leads: dict[int, Lead] = field(default_factory=dict)
    webhook_events: dict[int, WebhookEvent] = field(default_factory=dict)


class InMemoryStore:
    """What the fake database holds; share one between units of work (and restarts)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.tables = _Tables()
        self.clock = clock
        self._ids = itertools.count(1)
        self._lock: asyncio.Lock | None = None

    def next_id(self) -> int:
        return next(self._ids)

    def now(self) -> datetime | None:
        """What the database's CURRENT_TIMESTAMP would be, when the store has a clock."""
        return self.clock.now() if self.clock is not None else None

    @property
    def lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock


# Ours, never to be seen by the prospect.
_UNSEEN = (Delivery.CANCELLED, Delivery.DISCARDED, Delivery.FAILED)
_CANCELLABLE = (Delivery.PENDING, Delivery.DRAFT)


def _sort_key(message: Message) -> tuple[datetime, int]:
    return (message.timestamp, message.id or 0)


WEBHOOK_ENABLED = "webhook.enabled"


def _received(tables: _Tables, dialog_id: int | None) -> int:
    """The dialog's `messages_received`, as the database's counters keep it."""
    return sum(
        1
        for m in tables.messages.values()
        if m.dialog_id == dialog_id and m.direction is Direction.IN
    )


def _facts(dialog: Dialog, received: int) -> DialogFacts:
    return DialogFacts(dialog.status.value, dialog.outcome.value, received)


def _queue_events(
    store: InMemoryStore,
    tables: _Tables,
    before: DialogFacts | None,
    dialog: Dialog,
    received: int,
) -> None:
    """What the trigger on `dialogs` does (revision 0017): the change's events, while the
    webhook is enabled."""
    if WEBHOOK_ENABLED not in tables.settings:
        return
    assert dialog.id is not None
    now = store.now() or datetime.now(timezone.utc)
    for kind in facts_to_events(before, _facts(dialog, received)):
        event_id = store.next_id()
        tables.webhook_events[event_id] = WebhookEvent(
            id=event_id,
            dialog_id=dialog.id,
            kind=kind,
            payload=dialog_payload(dialog),
            created_at=now,
        )


class _Accounts:
    def __init__(self, store: InMemoryStore, tables: _Tables) -> None:
        self._store, self._t = store, tables

    async def add(self, account: Account) -> Account:
        if any(a.phone == account.phone for a in self._t.accounts.values()):
            raise DuplicateAccount(account.phone)
        stored = account.copy()
        stored.id = self._store.next_id()
        stored.created_at = account.created_at or self._store.now()
        self._t.accounts[stored.id] = stored
        return stored.copy()

    async def get(self, account_id: int) -> Account | None:
        found = self._t.accounts.get(account_id)
        return found.copy() if found else None

    async def get_by_phone(self, phone: str) -> Account | None:
        for account in self._t.accounts.values():
            if account.phone == phone:
                return account.copy()
        return None

    async def every(self, statuses: Collection[AccountStatus] | None = None) -> list[Account]:
        return [
            a.copy()
            for _, a in sorted(self._t.accounts.items())
            if statuses is None or a.status in statuses
        ]

    async def update(self, account: Account) -> None:
        stored = self._t.accounts.get(account.id)  # type: ignore[arg-type]
        if stored is None:
            raise RecordNotFound(f"no account {account.id}")
        stored.status = account.status
        stored.limited_until = account.limited_until
        stored.flood_wait_until = account.flood_wait_until
        stored.session_string = account.session_string
        stored.proxy = account.proxy

    async def reserve_send_slot(self, account_id: int, request: SlotRequest) -> bool:
        account = self._t.accounts.get(account_id)
        if account is None or account.status is not AccountStatus.ACTIVE:
            return False
        if account.flood_waiting(request.at):
            return False
        sent_today = account.daily_messages if account.quota_day == request.day else 0
        if request.limit is not None and sent_today >= request.limit:
            return False
        if account.last_used is not None and account.last_used > request.last_send_by:
            return False
        account.daily_messages = sent_today + 1
        account.quota_day = request.day
        account.last_used = request.at
        return True

    async def mark_sent(self, account_id: int, at: datetime) -> None:
        account = self._t.accounts.get(account_id)
        if account is not None and (account.last_used is None or account.last_used < at):
            account.last_used = at

    async def release_send_slot(self, account_id: int, *, today: date) -> bool:
        account = self._t.accounts.get(account_id)
        if account is None or account.quota_day != today or account.daily_messages <= 0:
            return False
        account.daily_messages -= 1
        return True


class _Dialogs:
    def __init__(self, store: InMemoryStore, tables: _Tables) -> None:
        self._store, self._t = store, tables

    async def add(self, dialog: Dialog) -> Dialog:
        if dialog.is_open and any(
            d.target_username == dialog.target_username and d.is_open
            for d in self._t.dialogs.values()
        ):
            raise DialogAlreadyOpen(dialog.target_username)
        if dialog.account_id not in self._t.accounts:
            raise RecordNotFound(f"no account {dialog.account_id}")
        if dialog.campaign_id is not None and dialog.campaign_id not in self._t.campaigns:
            raise RecordNotFound(f"no campaign {dialog.campaign_id}")
        stored = dialog.copy()
        stored.id = self._store.next_id()
        stored.created_at = dialog.created_at or self._store.now()
        # A new dialog's activity starts with it.
        stored.last_activity_at = dialog.last_activity_at or stored.created_at
        self._t.dialogs[stored.id] = stored
        _queue_events(self._store, self._t, None, stored, 0)
        return stored.copy()

    async def get(self, dialog_id: int) -> Dialog | None:
        found = self._t.dialogs.get(dialog_id)
        return found.copy() if found else None

    async def get_with_newest_message(self, dialog_id: int) -> tuple[Dialog, int | None] | None:
        found = self._t.dialogs.get(dialog_id)
        if found is None:
            return None
        seen = [
            m
            for m in self._t.messages.values()
            if m.dialog_id == dialog_id
            and (m.direction is Direction.IN or m.delivery not in _UNSEEN)
        ]
        newest = max(seen, key=_sort_key) if seen else None
        return found.copy(), newest.id if newest else None

    async def update(self, dialog: Dialog) -> None:
        stored = self._t.dialogs.get(dialog.id)  # type: ignore[arg-type]
        if stored is None:
            raise RecordNotFound(f"no dialog {dialog.id}")
        if dialog.is_open and any(
            d.target_username == dialog.target_username and d.is_open and d.id != dialog.id
            for d in self._t.dialogs.values()
        ):
            raise DialogAlreadyOpen(dialog.target_username)
        # The account and the creation time are a dialog's for life.
        written = self._t.dialogs[stored.id] = replace(  # type: ignore[index]
            dialog, account_id=stored.account_id, created_at=stored.created_at
        )
        received = _received(self._t, stored.id)
        _queue_events(self._store, self._t, _facts(stored, received), written, received)

    async def find_open_by_username(self, username: str) -> Dialog | None:
        for dialog in self._t.dialogs.values():
            if dialog.target_username == username and dialog.is_open:
                return dialog.copy()
        return None

    async def numbers_by_username(self, usernames: Collection[str]) -> dict[str, int]:
        wanted = set(usernames)
        newest: dict[str, int] = {}
        for dialog in self._t.dialogs.values():
            name, number = dialog.target_username, dialog.id or 0
            if name in wanted and number > newest.get(name, 0):
                newest[name] = number
        return newest

    async def find_for_incoming(
        self, account_id: int, user_id: int, *, username: str | None = None
    ) -> Dialog | None:
        mine = [d for d in self._t.dialogs.values() if d.account_id == account_id]
        matches = [d for d in mine if d.target_user_id == user_id]
        if not matches and username is not None:
            matches = [
                d for d in mine if d.target_user_id is None and d.target_username == username
            ]
        return max(matches, key=lambda d: d.id or 0).copy() if matches else None

    async def reassign(self, dialog_id: int, account_id: int) -> None:
        dialog = self._t.dialogs.get(dialog_id)
        if dialog is None:
            raise RecordNotFound(f"no dialog {dialog_id}")
        if account_id not in self._t.accounts:
            raise RecordNotFound(f"no account {account_id}")
        dialog.account_id = account_id
        for message in self._t.messages.values():
            if message.dialog_id == dialog_id and message.delivery is Delivery.PENDING:
                message.account_id = account_id


class _Messages:
    def __init__(self, store: InMemoryStore, tables: _Tables) -> None:
        self._store, self._t = store, tables

    async def add(self, message: Message, *, dialog: Dialog | None = None) -> Message:
        if dialog is not None:
            assert dialog.id == message.dialog_id, "a message is written with its own dialog"
            await _Dialogs(self._store, self._t).update(dialog)
        return self._add(message)

    def _add(self, message: Message) -> Message:
        dialog = self._t.dialogs.get(message.dialog_id)
        if dialog is None:
            raise RecordNotFound(f"no dialog {message.dialog_id}")
        stored = message.copy()
        stored.id = self._store.next_id()
        if stored.account_id is None:
            stored.account_id = dialog.account_id
        received = _received(self._t, dialog.id)
        self._t.messages[stored.id] = stored
        if stored.direction is Direction.IN:
            facts = _facts(dialog, received)
            _queue_events(self._store, self._t, facts, dialog, received + 1)
        return stored.copy()

    async def add_incoming(
        self, message: Message, *, cancel_pending: Collection[str] = ()
    ) -> Message | None:
        dialog = self._t.dialogs.get(message.dialog_id)
        account_id = message.account_id or (dialog.account_id if dialog else None)
        if message.telegram_message_id is not None and any(
            m.account_id == account_id and m.telegram_message_id == message.telegram_message_id
            for m in self._t.messages.values()
        ):
            return None
        stored = self._add(message)
        if cancel_pending:
            await self.cancel_pending(message.dialog_id, kinds=cancel_pending)
        return stored

    async def get(self, message_id: int) -> Message | None:
        found = self._t.messages.get(message_id)
        return found.copy() if found else None

    async def update(self, message: Message, *, dialog_activity_at: datetime | None = None) -> None:
        stored = self._t.messages.get(message.id)  # type: ignore[arg-type]
        if stored is None:
            raise RecordNotFound(f"no message {message.id}")
        # Its dialog, account and direction are a message's for life.
        self._t.messages[stored.id] = replace(  # type: ignore[index]
            message,
            dialog_id=stored.dialog_id,
            account_id=stored.account_id,
            direction=stored.direction,
        )
        dialog = self._t.dialogs.get(stored.dialog_id)
        if dialog_activity_at is not None and dialog is not None:
            dialog.last_activity_at = dialog_activity_at

    async def update_if(self, message: Message, *, delivery: Delivery) -> bool:
        stored = self._t.messages.get(message.id)  # type: ignore[arg-type]
        if stored is None or stored.delivery is not delivery:
            return False
        await self.update(message)
        return True

    async def list_for_dialog(self, dialog_id: int, *, last: int | None = None) -> list[Message]:
        ordered = sorted(
            (m for m in self._t.messages.values() if m.dialog_id == dialog_id), key=_sort_key
        )
        if last is not None:
            ordered = ordered[-last:] if last else []
        return [m.copy() for m in ordered]

    async def stream_for_dialog(
        self, dialog_id: int, *, batch_size: int = 1000
    ) -> AsyncIterator[Message]:
        for message in await self.list_for_dialog(dialog_id):
            yield message

    def _claim_next_due(
        self,
        account_id: int,
        now: datetime,
        *,
        include_cold: bool,
        only: Collection[OutKind] | None,
    ) -> Message | None:
        # A dialog's messages go in the order they were queued (id): the oldest one still
        # waiting or on its way holds back the dialog's later ones.
        heads: dict[int, int] = {}
        for m in self._t.messages.values():
            if m.delivery in (Delivery.PENDING, Delivery.SENDING):
                heads[m.dialog_id] = min(heads.get(m.dialog_id, m.id or 0), m.id or 0)
        due = [
            m
            for m in self._t.messages.values()
            if m.account_id == account_id
            and m.delivery is Delivery.PENDING
            and m.id == heads[m.dialog_id]
            and m.send_after is not None
            and m.send_after <= now
            and (include_cold or m.kind is None or not m.kind.is_cold)
            and (only is None or m.kind in only)
        ]
        if not due:
            return None
        chosen = min(
            due, key=lambda m: ((m.kind or OutKind.REPLY).priority, m.send_after, m.id or 0)
        )
        chosen.delivery = Delivery.SENDING
        return chosen.copy()

    async def claim_next(
        self,
        account_id: int,
        now: datetime,
        *,
        include_cold: bool = True,
        only: Collection[OutKind] | None = None,
    ) -> tuple[Message, Dialog | None] | None:
        message = self._claim_next_due(account_id, now, include_cold=include_cold, only=only)
        if message is None:
            return None
        dialog = self._t.dialogs.get(message.dialog_id)
        return message, dialog.copy() if dialog else None

    async def next_pending_at(self, account_id: int | None = None) -> datetime | None:
        moments = [
            m.send_after
            for m in self._t.messages.values()
            if m.delivery is Delivery.PENDING
            and m.send_after is not None
            and (account_id is None or m.account_id == account_id)
        ]
        return min(moments) if moments else None

    async def list_by_delivery(
        self, delivery: Delivery, *, account_id: int | None = None, dialog_id: int | None = None
    ) -> list[Message]:
        return [
            m.copy()
            for m in sorted(self._t.messages.values(), key=lambda m: m.id or 0)
            if m.delivery is delivery
            and (account_id is None or m.account_id == account_id)
            and (dialog_id is None or m.dialog_id == dialog_id)
        ]

    async def pending_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for m in self._t.messages.values():
            if m.delivery is Delivery.PENDING and m.account_id is not None:
                counts[m.account_id] = counts.get(m.account_id, 0) + 1
        return counts

    async def cancel_pending(self, dialog_id: int, *, kinds: Collection[str] | None = None) -> int:
        wanted = None if kinds is None else {OutKind(k) for k in kinds}
        cancelled = 0
        for message in self._t.messages.values():
            if (
                message.dialog_id == dialog_id
                and message.delivery in _CANCELLABLE
                and (wanted is None or message.kind in wanted)
            ):
                message.delivery = Delivery.CANCELLED
                cancelled += 1
        return cancelled


class _DoNotContact:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def add(self, entry: DoNotContact) -> None:
        if entry.dialog_id is not None and entry.dialog_id not in self._t.dialogs:
            raise RecordNotFound(f"no dialog {entry.dialog_id}")
        if await self.contains(username=entry.username, user_id=entry.user_id):
            return
        self._t.do_not_contact.append(entry)

    async def contains(self, *, username: str | None = None, user_id: int | None = None) -> bool:
        return any(
            (username is not None and e.username == username)
            or (user_id is not None and e.user_id == user_id)
            for e in self._t.do_not_contact
        )

    async def usernames_among(self, usernames: Collection[str]) -> set[str]:
        listed = {e.username for e in self._t.do_not_contact if e.username is not None}
        return listed & set(usernames)

    async def newest(self, *, limit: int, offset: int = 0) -> list[DoNotContact]:
        # Reversed first: of entries added at the same moment the later one comes first.
        entries = sorted(reversed(self._t.do_not_contact), key=lambda e: e.created_at, reverse=True)
        return entries[offset : offset + limit]

    async def count(self) -> int:
        return len(self._t.do_not_contact)

    async def remove(self, *, username: str | None = None, user_id: int | None = None) -> int:
        kept = [
            e
            for e in self._t.do_not_contact
            if not (
                (username is not None and e.username == username)
                or (user_id is not None and e.user_id == user_id)
            )
        ]
        removed = len(self._t.do_not_contact) - len(kept)
        self._t.do_not_contact[:] = kept
        return removed


class _Peers:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def get(self, account_id: int, username: str) -> Peer | None:
        return self._t.peers.get((account_id, username))

    async def get_by_user_id(self, account_id: int, user_id: int) -> Peer | None:
        # A renamed prospect may be cached under both names: the first by username.
        for (owner, _), peer in sorted(self._t.peers.items()):
            if owner == account_id and peer.user_id == user_id:
                return peer
        return None

    async def put(self, peer: Peer) -> None:
        if peer.account_id not in self._t.accounts:
            raise RecordNotFound(f"no account {peer.account_id}")
        self._t.peers[(peer.account_id, peer.username)] = peer

    async def list_for_account(self, account_id: int) -> list[Peer]:
        return [p for (owner, _), p in sorted(self._t.peers.items()) if owner == account_id]


class _Settings:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def get(self, key: str) -> str | None:
        return self._t.settings.get(key)

    async def set(self, key: str, value: str) -> None:
        self._t.settings[key] = value


class _UpdateStates:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def get(self, account_id: int) -> UpdateState | None:
        return self._t.update_states.get(account_id)

    async def put(self, account_id: int, state: UpdateState) -> None:
        if account_id not in self._t.accounts:
            raise RecordNotFound(f"no account {account_id}")
        stored = self._t.update_states.get(account_id)
        if stored is None or stored.pts <= state.pts:
            self._t.update_states[account_id] = state


class _AdminUpdates:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def record(
        self, update_id: int, payload: dict[str, object], received_at: datetime
    ) -> bool:
        if update_id in self._t.admin_updates:
            return False
        self._t.admin_updates[update_id] = _AdminUpdateRow(
            AdminUpdate(update_id, "received", copy.deepcopy(payload)), received_at
        )
        return True

    async def start(self, update_id: int, started_at: datetime) -> bool:
        row = self._t.admin_updates.get(update_id)
        if row is None or row.update.state != "received":
            return False
        row.update = replace(row.update, state="started")
        return True

    async def finish(self, update_id: int) -> None:
        row = self._t.admin_updates.get(update_id)
        if row is not None:
            row.update = replace(row.update, state="done", payload=None)

    async def again(self, update_id: int) -> bool:
        row = self._t.admin_updates.get(update_id)
        if row is None or row.update.state != "started":
            return False
        row.update = replace(row.update, state="received")
        return True

    async def unfinished(self) -> list[AdminUpdate]:
        return [
            copy.deepcopy(row.update)
            for _, row in sorted(self._t.admin_updates.items())
            if row.update.state != "done"
        ]

    async def prune(self, received_before: datetime) -> int:
        gone = [
            update_id
            for update_id, row in self._t.admin_updates.items()
            if row.update.state == "done" and row.received_at < received_before
        ]
        for update_id in gone:
            del self._t.admin_updates[update_id]
        return len(gone)


class _Campaigns:
    def __init__(self, store: InMemoryStore, tables: _Tables) -> None:
        self._store, self._t = store, tables

    async def add(self, campaign: Campaign) -> Campaign:
        stored = campaign.copy()
        stored.id = self._store.next_id()
        stored.created_at = campaign.created_at or self._store.now()
        self._t.campaigns[stored.id] = stored
        return stored.copy()

    async def get(self, campaign_id: int) -> Campaign | None:
        found = self._t.campaigns.get(campaign_id)
        return found.copy() if found else None

    async def every(self) -> list[Campaign]:
        return [c.copy() for c in sorted(self._t.campaigns.values(), key=lambda c: -(c.id or 0))]

    async def update(self, campaign: Campaign) -> None:
        if campaign.id not in self._t.campaigns:
            raise RecordNotFound(f"no campaign {campaign.id}")
        old = self._t.campaigns[campaign.id]
        self._t.campaigns[campaign.id] = replace(campaign.copy(), created_at=old.created_at)


class _Leads:
    def __init__(self, store: InMemoryStore, tables: _Tables) -> None:
        self._store, self._t = store, tables

    async def add_many(self, leads: Sequence[Lead]) -> int:
        taken = {(lead.campaign_id, lead.username) for lead in self._t.leads.values()}
        stored = 0
        for lead in leads:
            if lead.campaign_id not in self._t.campaigns:
                raise RecordNotFound("no such campaign for these leads")
            if (lead.campaign_id, lead.username) in taken:
                continue
            taken.add((lead.campaign_id, lead.username))
            new = lead.copy()
            new.id = self._store.next_id()
            self._t.leads[new.id] = new
            stored += 1
        return stored

    async def get(self, lead_id: int) -> Lead | None:
        found = self._t.leads.get(lead_id)
        return found.copy() if found else None

    async def for_campaign(self, campaign_id: int) -> list[Lead]:
        leads = [lead for lead in self._t.leads.values() if lead.campaign_id == campaign_id]
        return [lead.copy() for lead in sorted(leads, key=lambda x: (x.position, x.id or 0))]

    async def update(self, lead: Lead) -> None:
        old = self._t.leads.get(lead.id or 0)
        if old is None:
            raise RecordNotFound(f"no lead {lead.id}")
        if lead.dialog_id is not None and lead.dialog_id not in self._t.dialogs:
            raise RecordNotFound(f"no dialog {lead.dialog_id} for lead {lead.id}")
        self._t.leads[old.id or 0] = replace(
            lead.copy(), campaign_id=old.campaign_id, position=old.position
        )

    async def claim_next(self, campaign_ids: Sequence[int], now: datetime) -> Lead | None:
        for campaign_id in campaign_ids:
            queued = [
                lead
                for lead in self._t.leads.values()
                if lead.campaign_id == campaign_id and lead.status is LeadStatus.QUEUED
            ]
            if queued:
                first = min(queued, key=lambda x: (x.position, x.id or 0))
                first.status, first.claimed_at = LeadStatus.STARTING, now
                return first.copy()
        return None

    async def settle_claim(self, lead: Lead, claimed_at: datetime) -> bool:
        old = self._t.leads.get(lead.id or 0)
        if old is None or old.status is not LeadStatus.STARTING or old.claimed_at != claimed_at:
            return False
        await self.update(lead)
        return True

    async def recover_claims(self, claimed_before: datetime) -> int:
        recovered = 0
        for lead in self._t.leads.values():
            if lead.status is not LeadStatus.STARTING or lead.claimed_at is None:
                continue
            if lead.claimed_at >= claimed_before:
                continue
            found = [
                d
                for d in self._t.dialogs.values()
                if d.campaign_id == lead.campaign_id and d.target_username == lead.username
            ]
            if found:
                dialog = max(found, key=lambda d: d.id or 0)
                lead.status, lead.dialog_id, lead.variant = (
                    LeadStatus.STARTED,
                    dialog.id,
                    dialog.variant,
                )
            else:
                lead.status, lead.claimed_at = LeadStatus.QUEUED, None
            recovered += 1
        return recovered

    async def started_per_variant(self, campaign_id: int) -> dict[int, int]:
        counts: dict[int, int] = {}
        for lead in self._t.leads.values():
            if (
                lead.campaign_id == campaign_id
                and lead.status is LeadStatus.STARTED
                and lead.variant is not None
            ):
                counts[lead.variant] = counts.get(lead.variant, 0) + 1
        return counts


class _WebhookEvents:
    def __init__(self, tables: _Tables) -> None:
        self._t = tables

    async def enable(self, enabled: bool) -> None:
        if enabled:
            self._t.settings[WEBHOOK_ENABLED] = "1"
        else:
            self._t.settings.pop(WEBHOOK_ENABLED, None)

    async def due(self, now: datetime, *, limit: int) -> list[WebhookEvent]:
        heads: dict[int, WebhookEvent] = {}
        for event in sorted(self._t.webhook_events.values(), key=lambda e: e.id):
            if event.delivered_at is None:
                heads.setdefault(event.dialog_id, event)
        due = [e for e in heads.values() if e.next_attempt_at is None or e.next_attempt_at <= now]
        return sorted(due, key=lambda e: e.id)[:limit]

    async def delivered(self, event_id: int, at: datetime) -> None:
        event = self._t.webhook_events.get(event_id)
        if event is not None:
            self._t.webhook_events[event_id] = replace(event, delivered_at=at, next_attempt_at=None)

    async def failed(self, event_id: int, *, error: str, retry_at: datetime) -> None:
        event = self._t.webhook_events.get(event_id)
        if event is not None and event.delivered_at is None:
            self._t.webhook_events[event_id] = replace(
                event,
                attempts=event.attempts + 1,
                last_error=error[:1000],
                next_attempt_at=retry_at,
            )

    async def undelivered(self) -> int:
        return sum(1 for e in self._t.webhook_events.values() if e.delivered_at is None)

    async def prune(self, delivered_before: datetime) -> int:
        gone = [
            e.id
            for e in self._t.webhook_events.values()
            if e.delivered_at is not None and e.delivered_at < delivered_before
        ]
        for event_id in gone:
            del self._t.webhook_events[event_id]
        return len(gone)


class FakeUnitOfWork:
    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store or InMemoryStore()
        self.commits = 0
        self._work: _Tables | None = None

    @property
    def committed(self) -> bool:
        return self.commits > 0

    def _bind(self, tables: _Tables) -> None:
        self.accounts = _Accounts(self.store, tables)
        self.dialogs = _Dialogs(self.store, tables)
        self.messages = _Messages(self.store, tables)
        self.do_not_contact = _DoNotContact(tables)
        self.peers = _Peers(tables)
        self.settings = _Settings(tables)
        self.update_states = _UpdateStates(tables)
        self.admin_updates = _AdminUpdates(tables)
        self.campaigns = _Campaigns(self.store, tables)
        self.leads = _Leads(self.store, tables)
        self.webhook_events = _WebhookEvents(tables)

    async def __aenter__(self) -> FakeUnitOfWork:
        await self.store.lock.acquire()
        self._work = copy.deepcopy(self.store.tables)
        self._bind(self._work)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._work = None
        self.store.lock.release()

    async def commit(self) -> None:
        assert self._work is not None, "commit() outside `async with`"
        self.store.tables = self._work
        self._work = copy.deepcopy(self._work)
        self._bind(self._work)
        self.commits += 1

    async def rollback(self) -> None:
        assert self._work is not None, "rollback() outside `async with`"
        self._work = copy.deepcopy(self.store.tables)
        self._bind(self._work)


def fake_uow_factory(store: InMemoryStore) -> FakeUnitOfWork:
    """`lambda: FakeUnitOfWork(store)` with a name, for wiring."""
    return FakeUnitOfWork(store)
