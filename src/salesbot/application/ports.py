"""The ports every flow shares: what the use-cases need from the outside, as small Protocols.

The write side: the unit of work and its repositories, which load and save aggregates plus
the atomic operations (claim the next send, reserve and release a send slot). The adapters
implement them (`salesbot.adapters.*`), an in-memory fake implements them for the tests
(`tests/fakes`), and one contract suite per port keeps both honest. What reads across
dialogs (the operator's pages, stats, exports, follow-up candidates) are query ports of
their flows (`admin/queries.py`, `conversation/queries.py`), answered in SQL only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Literal, Protocol

from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.campaign import Campaign, Lead
from salesbot.domain.dialog import Dialog
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.events import Event
from salesbot.domain.media import Media
from salesbot.domain.message import Delivery, Message, OutKind
from salesbot.domain.peer import Peer
from salesbot.domain.quota import SlotRequest
from salesbot.domain.webhook import WebhookEvent

# --- time and secrets --------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SessionCipher(Protocol):
    """Encrypts session strings at rest; `decrypt` raises SessionSecretMismatch on a wrong key."""

    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


# --- persistence -------------------------------------------------------------------------
# Common to every repository: an update of a row that was never stored, or a new row naming
# an account or dialog that does not exist, raises RecordNotFound; a lost database
# connection raises DatabaseUnavailable (the unit of work is lost, a new one may succeed).


class AccountRepository(Protocol):
    async def add(self, account: Account) -> Account:
        """Store a new account and return it with its id; DuplicateAccount on a known phone."""
        ...

    async def get(self, account_id: int) -> Account | None: ...

    async def get_by_phone(self, phone: str) -> Account | None: ...

    async def every(self, statuses: Collection[AccountStatus] | None = None) -> list[Account]:
        """Accounts ordered by id, optionally only those in `statuses`."""
        ...

    async def update(self, account: Account) -> None:
        """Write status, limited_until, flood_wait_until, session_string, proxy (not the
        quota counters)."""
        ...

    async def reserve_send_slot(self, account_id: int, request: SlotRequest) -> bool:
        """Take one send slot atomically, or return False and change nothing.

        Succeeds only when the account is active and not in a FloodWait (`flood_wait_until`
        after `request.at`), fewer than `request.limit` messages were counted for
        `request.day` (a new day starts from zero; no count is too many when the limit is
        None) and the last send is at or before `request.last_send_by`. On success the
        count for that day grows by one (past the limit too) and the last send becomes
        `request.at`. Concurrent callers never exceed the limit.
        (SendQuota computes the request; this only enforces it.)
        """
        ...

    async def mark_sent(self, account_id: int, at: datetime) -> None:
        """A message of the account was handed to Telegram at `at`: its last send becomes
        `at` unless it is later already. The reservation stamps the claim's moment, seconds
        before the typing pause ends and the message goes; stamping the send itself keeps
        `MIN_MESSAGE_DELAY` between two sends whoever claims the next one (another worker, a
        process that took the account over). Nothing when the account is gone."""
        ...

    async def release_send_slot(self, account_id: int, *, today: date) -> bool:
        """Give back one slot of `today` that was taken for a message Telegram certainly
        did not take (it refused before anything was sent); False, changing nothing, when
        the count is not for `today` any more or is zero already.

        One atomic decrement, never below zero. The last send time stays as it is: the
        minimum delay is then measured from the refused attempt, which errs on the safe
        side (and after a FloodWait the wait is longer anyway).
        """
        ...


class DialogRepository(Protocol):
    async def add(self, dialog: Dialog) -> Dialog:
        """Store a new dialog; DialogAlreadyOpen when the prospect has an open one.

        Without `created_at` the database's clock stamps it; without `last_activity_at`
        the dialog's activity starts at its creation."""
        ...

    async def get(self, dialog_id: int) -> Dialog | None: ...

    async def get_with_newest_message(self, dialog_id: int) -> tuple[Dialog, int | None] | None:
        """The dialog and, in the same read, the id of its newest message the prospect saw
        or will see (theirs, and ours unless cancelled or failed; by timestamp then id),
        None when it has none; None when there is no such dialog."""
        ...

    async def update(self, dialog: Dialog) -> None:
        """Write every field but the account and created_at; DialogAlreadyOpen when it would
        give the prospect a second open dialog (the unit of work can only roll back then)."""
        ...

    async def find_open_by_username(self, username: str) -> Dialog | None:
        """The prospect's active or paused dialog, from any account."""
        ...

    async def numbers_by_username(self, usernames: Collection[str]) -> dict[str, int]:
        """For each of `usernames` (canonical) that has a dialog, in any status and from any
        account, the id of its newest one; in one read, however many names."""
        ...

    async def find_for_incoming(
        self, account_id: int, user_id: int, *, username: str | None = None
    ) -> Dialog | None:
        """The newest dialog this account has with this Telegram user, in any status.

        When there is none and `username` (canonical, lower case) is given: the newest dialog
        of this account with that username whose user id was never learned (dialogs adopted
        from the seed's database), so the prospect's first message there is not dropped."""
        ...

    async def reassign(self, dialog_id: int, account_id: int) -> None:
        """Hand the dialog and its pending outgoing messages to another account: an opener
        moves off a spam-limited account while the conversation has not started yet (the
        one change of account `update` never makes)."""
        ...


class MessageRepository(Protocol):
    async def add(self, message: Message, *, dialog: Dialog | None = None) -> Message:
        """Store a message; without `account_id` it takes its dialog's. With `dialog` (the
        message's own), the dialog is written too, as `DialogRepository.update` does, and
        the message only with it (one statement on PostgreSQL): what queuing an answer
        changes in its dialog lands with it or not at all."""
        ...

    async def add_incoming(
        self, message: Message, *, cancel_pending: Collection[str] = ()
    ) -> Message | None:
        """Store a message Telegram delivered (the prospect's, or one written from the
        account in the Telegram app) once: None when this account's Telegram message id is
        already stored (Telegram delivered it twice, or it is one of our own sends). When
        it is stored, its dialog's pending messages of the kinds in `cancel_pending` are
        cancelled with it (one statement on PostgreSQL); a message delivered twice cancels
        nothing."""
        ...

    async def get(self, message_id: int) -> Message | None: ...

    async def update(self, message: Message, *, dialog_activity_at: datetime | None = None) -> None:
        """Write every field but the dialog, the account and the direction; with
        `dialog_activity_at`, the message's dialog's last activity moves to it as well (one
        statement on PostgreSQL)."""
        ...

    async def update_if(self, message: Message, *, delivery: Delivery) -> bool:
        """`update` only while the stored message is still in `delivery`; False when it is
        not (another transaction decided it first: a draft is approved or discarded once)."""
        ...

    async def list_for_dialog(self, dialog_id: int, *, last: int | None = None) -> list[Message]:
        """The dialog's messages in order (timestamp, id); only the newest `last` if given."""
        ...

    def stream_for_dialog(
        self, dialog_id: int, *, batch_size: int = 1000
    ) -> AsyncIterator[Message]:
        """The dialog's messages in order, fetched in batches (bounded memory)."""
        ...

    async def claim_next(
        self,
        account_id: int,
        now: datetime,
        *,
        include_cold: bool = True,
        only: Collection[OutKind] | None = None,
    ) -> tuple[Message, Dialog | None] | None:
        """Mark the account's next due pending message `sending` and return it, with its
        dialog (None when the dialog is gone).

        Due: `send_after <= now`. Replies and manual messages go before follow-ups, which go
        before openers; then oldest `send_after`, then id. A message another transaction is
        claiming is skipped (FOR UPDATE SKIP LOCKED), never returned twice.

        A dialog's messages go in the order they were queued (id): none is claimed while an
        older one of its dialog is still pending (even if due later) or sending.

        `include_cold=False` (outside the working hours) leaves out openers and follow-ups
        (`OutKind.is_cold`): only answers and the operator's messages go then. `only`
        claims messages of those kinds alone (an older message of another kind still
        holds its dialog's later ones back).
        """
        ...

    async def next_pending_at(self, account_id: int | None = None) -> datetime | None:
        """The earliest `send_after` among pending messages (of one account, or all)."""
        ...

    async def list_by_delivery(
        self, delivery: Delivery, *, account_id: int | None = None, dialog_id: int | None = None
    ) -> list[Message]: ...

    async def pending_counts(self) -> dict[int, int]:
        """How many messages each account has queued (accounts with none left out)."""
        ...

    async def cancel_pending(self, dialog_id: int, *, kinds: Collection[str] | None = None) -> int:
        """Mark the dialog's pending outgoing messages `cancelled` (only of `kinds` if given);
        return how many. A message already `sending` is never touched."""
        ...


class DoNotContactRepository(Protocol):
    async def add(self, entry: DoNotContact) -> None:
        """Idempotent: adding a known prospect again changes nothing."""
        ...

    async def contains(
        self, *, username: str | None = None, user_id: int | None = None
    ) -> bool: ...

    async def usernames_among(self, usernames: Collection[str]) -> set[str]:
        """Those of `usernames` (canonical) that are on the list; in one read, however many."""
        ...

    async def newest(self, *, limit: int, offset: int = 0) -> list[DoNotContact]:
        """A page of the entries, the latest added first."""
        ...

    async def count(self) -> int: ...

    async def remove(self, *, username: str | None = None, user_id: int | None = None) -> int:
        """Remove every entry with this username or this user id; return how many."""
        ...


class PeerRepository(Protocol):
    async def get(self, account_id: int, username: str) -> Peer | None: ...

    async def get_by_user_id(self, account_id: int, user_id: int) -> Peer | None:
        """The account's entry for this user (the first by username if they were renamed)."""
        ...

    async def put(self, peer: Peer) -> None:
        """Insert or replace the account's entry for this username."""
        ...

    async def list_for_account(self, account_id: int) -> list[Peer]: ...


class UpdateStateRepository(Protocol):
    """Each account's Telegram update state, kept between runs."""

    async def get(self, account_id: int) -> UpdateState | None: ...

    async def put(self, account_id: int, state: UpdateState) -> None:
        """Store the state unless a later one (a higher pts) is stored already."""
        ...


@dataclass(frozen=True)
class AdminUpdate:
    """An update of the admin bot as recorded before Telegram was told it arrived:
    `received`, then `started` once a handler began it, then `done` (its payload, which may
    hold a login code or a password, is dropped then)."""

    update_id: int
    state: Literal["received", "started", "done"]
    payload: dict[str, object] | None


class AdminUpdateRepository(Protocol):
    async def record(
        self, update_id: int, payload: dict[str, object], received_at: datetime
    ) -> bool:
        """Store a received update; False (nothing changes) when the id is already there."""
        ...

    async def start(self, update_id: int, started_at: datetime) -> bool:
        """Mark a received update started; False when it is not `received` (any more)."""
        ...

    async def finish(self, update_id: int) -> None: ...

    async def again(self, update_id: int) -> bool:
        """Put a started update back to `received`, for a command that is safe to run once
        more; False when it is not `started` (any more)."""
        ...

    async def unfinished(self) -> list[AdminUpdate]:
        """Every update received or started but not done, oldest update id first."""
        ...

    async def prune(self, received_before: datetime) -> int:
        """Forget done updates received before the given time; how many went."""
        ...


class SettingRepository(Protocol):
    """Small operator-editable values that must survive restarts (e.g. the sales script)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class CampaignRepository(Protocol):
    """Campaigns (`domain/campaign.py`); their leads are the LeadRepository's."""

    async def add(self, campaign: Campaign) -> Campaign:
        """Store a new campaign; the stored one has its id and created_at."""
        ...

    async def get(self, campaign_id: int) -> Campaign | None: ...

    async def every(self) -> list[Campaign]:
        """Every campaign, newest first."""
        ...

    async def update(self, campaign: Campaign) -> None:
        """Write its name, script, variants and status; RecordNotFound if it is gone."""
        ...


class LeadRepository(Protocol):
    """The leads of the campaigns, one per username in a campaign."""

    async def add_many(self, leads: Sequence[Lead]) -> int:
        """Store new leads (their campaign must exist); how many were stored. A username the
        campaign already has is left out (the import reports duplicates before)."""
        ...

    async def get(self, lead_id: int) -> Lead | None: ...

    async def for_campaign(self, campaign_id: int) -> list[Lead]:
        """The campaign's leads in the file's order (position, then id)."""
        ...

    async def update(self, lead: Lead) -> None:
        """Write its status, variant, dialog, reason and claim; RecordNotFound if it is gone."""
        ...

    async def claim_next(self, campaign_ids: Sequence[int], now: datetime) -> Lead | None:
        """Take the first queued lead (by position) of the first of `campaign_ids` that has
        one: it becomes `starting`, claimed at `now`. A lead another transaction is taking
        is passed over (FOR UPDATE SKIP LOCKED), never taken twice. None: none queued."""
        ...

    async def settle_claim(self, lead: Lead, claimed_at: datetime) -> bool:
        """Write the lead (started, skipped, or back to queued) only if it is still
        `starting` under the claim made at `claimed_at`; False (nothing written) when that
        claim was given up meanwhile (`recover_claims`)."""
        ...

    async def recover_claims(self, claimed_before: datetime) -> int:
        """Leads left `starting` by a claim made before `claimed_before` (a crash, a lost
        process): `started` when a dialog of their campaign for their username exists
        (with its id and variant), else `queued` again. How many were recovered."""
        ...

    async def started_per_variant(self, campaign_id: int) -> dict[int, int]:
        """How many of the campaign's leads were started with each variant (index: count;
        variants none has are left out)."""
        ...


class WebhookEventRepository(Protocol):
    """The CRM webhook's queue. Events are written by the store itself, with the change of
    the dialog they tell of, while the webhook is enabled (`domain/webhook.py`'s rule)."""

    async def enable(self, enabled: bool) -> None:
        """Start (True) or stop (False) making events for the dialogs' changes."""
        ...

    async def due(self, now: datetime, *, limit: int) -> list[WebhookEvent]:
        """Undelivered events due at `now` (never tried, or their retry time reached) that
        are the oldest undelivered one of their dialog, oldest first, at most `limit`."""
        ...

    async def delivered(self, event_id: int, at: datetime) -> None: ...

    async def failed(self, event_id: int, *, error: str, retry_at: datetime) -> None:
        """Count a failed try, keep its error and when to try again."""
        ...

    async def undelivered(self) -> int:
        """How many events wait to be delivered."""
        ...

    async def prune(self, delivered_before: datetime) -> int:
        """Forget events delivered before the given time; how many went."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Rolls back on exit unless `commit()` ran; repositories never commit."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def dialogs(self) -> DialogRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def do_not_contact(self) -> DoNotContactRepository: ...

    @property
    def peers(self) -> PeerRepository: ...

    @property
    def settings(self) -> SettingRepository: ...

    @property
    def update_states(self) -> UpdateStateRepository: ...

    @property
    def admin_updates(self) -> AdminUpdateRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def leads(self) -> LeadRepository: ...

    @property
    def webhook_events(self) -> WebhookEventRepository: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Census:
    """Who is running accounts right now: the live processes (this one included) and the
    accounts whose lock some process holds. Read from the locks themselves, not from a
    heartbeat: a killed process's connection closes and it leaves the census with it."""

    processes: int
    held: frozenset[int]


class AccountLocks(Protocol):
    """One owner per Telegram session across processes (PostgreSQL advisory locks).

    The owner is the process: acquiring a lock it holds already succeeds, and one
    `release` frees it."""

    async def try_acquire(self, account_id: int) -> bool: ...

    async def still_held(self, account_ids: Collection[int]) -> set[int]:
        """Which of `account_ids` this process still holds, checked with one round trip
        however many (a lock dies with its database connection, and another process may
        take it before this one reconnects)."""
        ...

    async def release(self, account_id: int) -> None: ...

    async def census(self) -> Census:
        """The live processes and every account whose lock some process (this one
        included) holds, read from the database in one query."""
        ...


# --- calls to another process's accounts (issue 19) ---------------------------------------

AccountCallStatus = Literal["queued", "running", "done", "failed", "abandoned"]


@dataclass(frozen=True)
class AccountCall:
    """A call of one account's Telegram client, asked by any process, run by its owner."""

    id: int
    account_id: int
    call: str
    args: dict[str, object]


@dataclass(frozen=True)
class CallOutcome:
    """Where a call stands: `result` is the answer when `done`, the error (its type and
    fields) when `failed`, None otherwise."""

    status: AccountCallStatus
    result: dict[str, object] | None = None

    @property
    def settled(self) -> bool:
        return self.status in ("done", "failed", "abandoned")


class AccountCallQueue(Protocol):
    """The durable queue of account calls between processes (PostgreSQL: a table, woken by
    LISTEN/NOTIFY, with a poll as the fallback: a lost notification costs a wait, never the
    call). DatabaseUnavailable when the database cannot be reached."""

    async def put(
        self, account_id: int, call: str, args: dict[str, object], *, at: datetime
    ) -> int:
        """Queue a call (created `at`) and wake the processes; its id."""
        ...

    async def claim(
        self, account_ids: Collection[int], taker: str, *, queued_since: datetime
    ) -> list[AccountCall]:
        """Take, for `taker`, the calls of `account_ids` created at or after `queued_since`
        (older ones have no caller waiting any more) that are queued, or `running` under
        another taker (who lost the account: a call is run again, they are reads). A call
        another claimer is taking is passed over (FOR UPDATE SKIP LOCKED)."""
        ...

    async def finish(
        self,
        call_id: int,
        *,
        result: dict[str, object] | None = None,
        error: dict[str, object] | None = None,
    ) -> bool:
        """Store the answer (`done`) or the error (`failed`) of a running call and wake its
        caller; False (nothing written) when it is not running any more (abandoned, or
        finished by a taker who ran it too)."""
        ...

    async def abandon(self, call_id: int) -> bool:
        """The caller gave up: the call is never run (again); False when it was settled
        first (its outcome may then be read)."""
        ...

    async def outcome(self, call_id: int) -> CallOutcome | None:
        """None when there is no such call (pruned)."""
        ...

    async def wait_for_calls(self, timeout: float) -> None:
        """Return when a call may have been queued (a notification), at the latest after
        `timeout` seconds."""
        ...

    async def wait_for_outcome(self, call_id: int, timeout: float) -> None:
        """Return when the call may have been settled, at the latest after `timeout`."""
        ...

    async def prune(self, created_before: datetime) -> int:
        """Forget every call created before the given time; how many went."""
        ...

    async def close(self) -> None:
        """Stop listening (the process stops); a later wait would listen again."""
        ...


class Leadership(Protocol):
    """Which one of the processes on the database holds the admin bot (one Bot API token
    has one poller, or Telegram answers 409 Conflict). Held by this process for as long as
    its claim lives; a process that dies lets it go by itself."""

    async def try_lead(self) -> bool:
        """Take the lead if nobody holds it (True when this process holds it now)."""
        ...

    async def still_leading(self) -> bool:
        """Whether this process still holds the lead, asked within a bounded time: a claim
        that cannot be confirmed counts as lost (a later `try_lead` may win it back)."""
        ...

    async def resign(self) -> None:
        """Let the lead go, so another process may take it at its next try."""
        ...

    async def close(self) -> None:
        """Let the lead go and hold nothing open (a later `try_lead` starts afresh)."""
        ...


# --- Telegram user accounts --------------------------------------------------------------


@dataclass(frozen=True)
class IncomingMessage:
    """A private message in one of our accounts' chats, in plain values: the prospect's, or
    (`outgoing`) one the account itself sent from elsewhere — the operator typing in the
    Telegram app, or one of salesbot's own sends echoed back. `user_id` and `username` are
    always the prospect's. A voice note, photo, file...: `media` says what it is, and `text`
    is its caption ("" without one)."""

    account_id: int
    user_id: int
    username: str | None
    text: str
    telegram_message_id: int
    date: datetime
    outgoing: bool = False
    media: Media | None = None


@dataclass(frozen=True)
class UpdateState:
    """Where an account's stream of Telegram updates stands (MTProto's pts, qts, date and
    seq of the common message box): every update up to it has been handled, so a client
    started from it is given exactly what came after (`updates.getDifference`)."""

    pts: int
    qts: int
    date: int
    seq: int


@dataclass(frozen=True)
class SentMessage:
    telegram_message_id: int
    date: datetime


@dataclass(frozen=True)
class ChatHistoryItem:
    telegram_message_id: int
    outgoing: bool
    text: str
    date: datetime
    media: Media | None = None
    """As in IncomingMessage: `text` is then the caption."""


IncomingHandler = Callable[[IncomingMessage], Awaitable[None]]
"""Returns once the message is stored (or known to be of no interest): an adapter treats
the message as handled only then."""

StateKeeper = Callable[[int, UpdateState], None]
"""Told (account id, state) once every update up to the state was handled; never blocks."""


class ConnectedAccounts(Protocol):
    """Which accounts have a client running now (in this process, or through the account
    calls, in any)."""

    def connected(self) -> frozenset[int]: ...


class UsernameResolver(Protocol):
    async def resolve_username(self, account_id: int, username: str) -> Peer: ...


class AccountConnections(Protocol):
    """The live MTProto clients, one per account."""

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
        """Start the account's client with its known peers; SessionInvalid,
        AccountDeactivated or TelegramUnavailable when it cannot. From a `state`, what
        Telegram delivered since is replayed to the subscribers (getDifference); without
        one, the client starts from Telegram's current state and tells the state keeper."""
        ...

    async def disconnect(self, account_id: int) -> None: ...

    def connected(self) -> frozenset[int]: ...

    def subscribe(self, handler: IncomingHandler) -> None:
        """Deliver every private message of every account to `handler`, one at a time per
        account, in Telegram's order."""
        ...

    def keep_state(self, keeper: StateKeeper) -> None:
        """Tell `keeper` each account's update state as the subscribers finish handling the
        updates up to it (never ahead of a message still being handled)."""
        ...


class TelegramMessenger(Protocol):
    async def resolve_username(self, account_id: int, username: str) -> Peer: ...

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage: ...

    async def send_typing(self, account_id: int, peer: Peer) -> None: ...

    async def mark_read(self, account_id: int, peer: Peer) -> None: ...

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        """The newest messages of the chat with `peer`, newest first."""
        ...

    async def newest_message_ids(self, account_id: int, peers: Sequence[Peer]) -> dict[int, int]:
        """The id of the newest message in the chat with each peer (by user id; a chat with
        no message is left out), in one call per hundred chats."""
        ...


class SpamBot(Protocol):
    """@SpamBot, Telegram's own bot that tells an account whether it is limited for spam."""

    async def ask_spam_bot(self, account_id: int) -> str:
        """Send /start to @SpamBot from the account and return its answer's text;
        AccountNotConnected when the account has no client here, TelegramUnavailable when
        no answer came in time (or the network failed), RateLimited on a FloodWait."""
        ...


class MediaFiles(Protocol):
    """The files of received media, fetched only when something needs their bytes."""

    async def download(self, account_id: int, media: Media, *, max_bytes: int) -> bytes:
        """The file (into memory), through the account that received it;
        TelegramUnavailable when it cannot be had, MediaTooLarge above `max_bytes`."""
        ...


@dataclass(frozen=True)
class LoginProgress:
    """After a login step: either a password is needed next, or the session is ready."""

    password_required: bool = False
    session_string: str | None = field(default=None, repr=False)


class TelegramLogin(Protocol):
    """Login as steps the admin bot and the CLI both drive; each step may be retried."""

    async def begin_login(self, phone: str, *, proxy: str | None = None) -> None: ...

    async def submit_code(self, phone: str, code: str) -> LoginProgress: ...

    async def submit_password(self, phone: str, password: str) -> LoginProgress: ...

    async def cancel_login(self, phone: str) -> None: ...


# --- language model ----------------------------------------------------------------------


@dataclass(frozen=True)
class ChatTurn:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached_tokens: int = 0
    """Of `prompt_tokens`, those read from the provider's prompt cache (0 when not told)."""


class LanguageModel(Protocol):
    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        """LlmUnavailable when it cannot answer now, LlmRejected when it never will.

        `json_mode` asks for one JSON object (OpenAI's `response_format`); a model may still
        answer plain text, so callers parse tolerantly.
        """
        ...


class Transcriber(Protocol):
    """Speech to text (an OpenAI-compatible `/audio/transcriptions` endpoint)."""

    async def transcribe(self, audio: bytes, *, file_name: str, mime_type: str) -> str:
        """The words spoken in `audio`; TranscriptionFailed when there are none to be had."""
        ...


# --- the operator ------------------------------------------------------------------------


class AdminNotifier(Protocol):
    async def notify(self, event: Event) -> None:
        """Tell every admin; never raises (a failed notice is logged, not fatal)."""
        ...


# --- the CRM webhook ---------------------------------------------------------------------


class WebhookSender(Protocol):
    async def send(self, event: WebhookEvent) -> None:
        """POST one event, signed; WebhookUndelivered when the receiver did not answer 2xx
        (a timeout, a refused connection, any other status)."""
        ...
