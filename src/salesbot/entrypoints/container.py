"""The composition root: the one place that builds everything, and the only one that names
concrete adapters.

Each provider points at the class it builds, with its settings. What has a lifetime (the
database engine, the accounts' lock connection, the HTTP clients, the Telegram clients, the
subscription of the conversation to incoming messages) is a `Resource`: the container opens
it when first needed and `shut_down(container)` closes it, the dependents
before what they depend on. `salesbot run`, `rehearse`, `account`, the benchmarks and the
tests all build from here; tests replace an adapter with `container.x.override(...)`.

    container = Container(settings=providers.Object(settings), database_url=providers.Object(url))
    service = await resolve(container.service())
    ...
    await shut_down(container)
"""

from __future__ import annotations

import inspect
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot

from salesbot.adapters.admin_bot import (
    AdminUseCases,
    BotNotifier,
    SendingBot,
    build_admin_bot,
    build_bot,
    build_notifier,
    shared_rate_limiter,
)
from salesbot.adapters.admin_bot.bot import AdminBot
from salesbot.adapters.llm import OpenRouterModel
from salesbot.adapters.persistence import (
    FernetSessionCipher,
    PgAccountLocks,
    create_engine,
    load_or_create_session_secret,
    sql_uow_factory,
)
from salesbot.adapters.persistence.account_calls import PgAccountCalls
from salesbot.adapters.persistence.leadership import PgLeadership
from salesbot.adapters.persistence.queries import (
    SqlCampaignViews,
    SqlConversationQueries,
    SqlDialogViews,
    SqlExportQuery,
    SqlStatsQuery,
)
from salesbot.adapters.system_clock import SystemClock
from salesbot.adapters.telegram import PyrogramAccounts, PyrogramLogin
from salesbot.adapters.transcription import OpenAITranscriber
from salesbot.adapters.webhook import HttpWebhookSender
from salesbot.application.accounts.account_calls import (
    AccountCallRunner,
    AccountCalls,
    OtherProcesses,
)
from salesbot.application.accounts.check_account import AccountCheck
from salesbot.application.accounts.check_sessions import SessionCheck
from salesbot.application.accounts.manage_accounts import AccountService
from salesbot.application.accounts.run_accounts import AccountPool, FirstRound
from salesbot.application.accounts.update_states import UpdateStateKeeper
from salesbot.application.admin.control_dialog import DialogControl
from salesbot.application.admin.do_not_contact import DoNotContactList
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.admin.queries import DialogViews
from salesbot.application.admin.update_journal import AdminUpdateJournal
from salesbot.application.admin.views import AdminViews
from salesbot.application.campaigns.control import CampaignControl
from salesbot.application.campaigns.feeder import Feeder
from salesbot.application.campaigns.import_leads import ImportLeads
from salesbot.application.campaigns.news import CampaignNews
from salesbot.application.campaigns.reports import CampaignReports
from salesbot.application.conversation.answer_prospect import DialogReplier
from salesbot.application.conversation.catch_up import CatchUp
from salesbot.application.conversation.intake import Intake
from salesbot.application.conversation.model_health import AnswerHealth, MonitoredModel
from salesbot.application.conversation.receive_message import IncomingMessages
from salesbot.application.conversation.review_drafts import DraftReview
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.send_follow_ups import FollowUps
from salesbot.application.conversation.start_dialog import StartDialogHandler
from salesbot.application.conversation.transcribe_media import MediaTranscription
from salesbot.application.conversation.write_reply import ReplyWriter
from salesbot.application.database_health import DatabaseHealth
from salesbot.application.outbox.delivery import Outbox
from salesbot.application.outbox.dispatch import Dispatcher
from salesbot.application.outbox.reconcile_sends import InterruptedSends
from salesbot.application.outbox.spam_limits import SpamLimits
from salesbot.application.ports import (
    AccountCallQueue,
    AccountConnections,
    AccountLocks,
    AdminNotifier,
    Census,
    Clock,
    IncomingHandler,
    Leadership,
    MediaFiles,
    Transcriber,
    UnitOfWorkFactory,
    WebhookSender,
)
from salesbot.application.webhooks.deliver import WebhookDeliverer
from salesbot.domain.quota import SendQuota
from salesbot.entrypoints.draining import DrainingMessenger
from salesbot.entrypoints.settings import Settings
from salesbot.entrypoints.timing import Timing

T = TypeVar("T")

# --- what has a lifetime ---------------------------------------------------------------------


async def open_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def open_account_locks(engine: AsyncEngine) -> AsyncIterator[PgAccountLocks]:
    locks = PgAccountLocks(engine)
    try:
        yield locks
    finally:
        await locks.close()


def census_of(locks: providers.Provider[AccountLocks]) -> Callable[[], Awaitable[Census]]:
    """The locks' census, the locks opened only when it is first asked for."""

    async def census() -> Census:
        opened = await resolve(locks())
        return await opened.census()

    return census


def process_name() -> str:
    """This process among those sharing the database (host, pid and a random part: a pid
    comes back after a restart), as the account calls it takes are marked."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def open_language_model(settings: Settings, clock: Clock) -> AsyncIterator[OpenRouterModel]:
    assert settings.OPENROUTER_API_KEY is not None
    model = OpenRouterModel(
        settings.OPENROUTER_API_KEY.get_secret_value(),
        settings.OPENROUTER_MODEL,
        clock=clock,
        base_url=settings.OPENROUTER_BASE_URL,
        fallback_models=settings.OPENROUTER_FALLBACK_MODELS,
        timeout=settings.LLM_TIMEOUT_SECONDS,
        max_attempts=settings.LLM_ATTEMPTS,
    )
    try:
        yield model
    finally:
        await model.aclose()


def build_transcriber(settings: Settings) -> Transcriber | None:
    """The transcription endpoint when TRANSCRIBE_BASE_URL is set; None without one. (It
    holds no connection between transcriptions: nothing to close.)"""
    if settings.TRANSCRIBE_BASE_URL is None:
        return None
    key = settings.TRANSCRIBE_API_KEY
    return OpenAITranscriber(
        settings.TRANSCRIBE_BASE_URL,
        api_key=key.get_secret_value() if key is not None else None,
        model=settings.TRANSCRIBE_MODEL,
    )


def webhook_mode(settings: Settings) -> str:
    """`on` with WEBHOOK_URL, else `off`: without one no HTTP client is opened (and a
    container whose adapters are all replaced still gives plain objects)."""
    return "off" if settings.WEBHOOK_URL is None else "on"


async def open_webhook_sender(settings: Settings, clock: Clock) -> AsyncIterator[HttpWebhookSender]:
    """The CRM's webhook (its HTTP client, kept alive between events, closed at shutdown)."""
    assert settings.WEBHOOK_URL is not None
    assert settings.WEBHOOK_SECRET is not None  # the settings refuse a URL without it
    sender = HttpWebhookSender(
        settings.WEBHOOK_URL.get_secret_value(), settings.WEBHOOK_SECRET.get_secret_value(), clock
    )
    try:
        yield sender
    finally:
        await sender.aclose()


def webhook_deliverer(
    uow_factory: UnitOfWorkFactory,
    sender: WebhookSender | None,
    notifier: AdminNotifier,
    clock: Clock,
) -> WebhookDeliverer | None:
    return None if sender is None else WebhookDeliverer(uow_factory, sender, notifier, clock)


def media_transcription(
    files: MediaFiles, transcriber: Transcriber | None
) -> MediaTranscription | None:
    return None if transcriber is None else MediaTranscription(files, transcriber)


async def open_telegram_accounts(settings: Settings) -> AsyncIterator[PyrogramAccounts]:
    assert settings.API_ID is not None and settings.API_HASH is not None
    accounts = PyrogramAccounts(settings.API_ID, settings.API_HASH.get_secret_value())
    try:
        yield accounts
    finally:
        await accounts.close()


async def open_telegram_login(settings: Settings) -> AsyncIterator[PyrogramLogin]:
    assert settings.API_ID is not None and settings.API_HASH is not None
    login = PyrogramLogin(settings.API_ID, settings.API_HASH.get_secret_value())
    try:
        yield login
    finally:
        await login.close()


def subscribe_incoming(
    telegram: AccountConnections, intake: Intake, states: UpdateStateKeeper
) -> Iterator[IncomingHandler]:
    """Every private message of every account goes to the intake; each account's update
    state, as far as the intake has stored, to the keeper."""
    telegram.subscribe(intake)
    telegram.keep_state(states.remember)
    yield intake


# --- values from the settings ------------------------------------------------------------------


def read_session_secret(settings: Settings) -> str:
    if settings.SESSION_SECRET is not None and settings.SESSION_SECRET.get_secret_value():
        return settings.SESSION_SECRET.get_secret_value()
    return load_or_create_session_secret(settings.DATA_DIR / "session_secret")


def bot_token(settings: Settings) -> str:
    assert settings.BOT_TOKEN is not None
    return settings.BOT_TOKEN.get_secret_value()


def send_quota(settings: Settings) -> SendQuota:
    return SendQuota(
        max_daily=settings.MAX_DAILY_MESSAGES,
        min_delay=timedelta(seconds=settings.MIN_MESSAGE_DELAY),
        tz=settings.zone,
        warmup_days=settings.WARMUP_DAYS,
    )


def disclosure(settings: Settings) -> bool:
    """AI_DISCLOSURE=opener: every opener ends with a note in the sales script's language."""
    return settings.AI_DISCLOSURE == "opener"


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def batching_notifier(notifier: AdminNotifier) -> BotNotifier | None:
    """The notifier the admin bot flushes when it stops: the real one batches notices (a
    stand-in in its place, in a rehearsal or a test, has nothing to flush)."""
    return notifier if isinstance(notifier, BotNotifier) else None


def notices_bot(bot: ExtBot[int], notifier: AdminNotifier) -> SendingBot | None:
    """The notifier's client, kept open by the `notices` component; none when a stand-in
    takes the notices (a rehearsal, a test without a Bot API)."""
    if not isinstance(notifier, BotNotifier):
        return None
    return SendingBot(bot, notifier)


@dataclass(frozen=True)
class Service:
    """What `salesbot run` runs (entrypoints/serving.py), assembled by the container."""

    settings: Settings
    timing: Timing
    clock: Clock
    uow_factory: UnitOfWorkFactory
    dialog_views: DialogViews
    telegram: AccountConnections
    notifier: AdminNotifier
    database_health: DatabaseHealth
    incoming: IncomingMessages
    intake: Intake
    update_states: UpdateStateKeeper
    follow_ups: FollowUps
    pool: AccountPool
    dispatcher: Dispatcher
    dispatcher_messenger: DrainingMessenger
    feeder: Feeder
    account_call_runner: AccountCallRunner
    account_call_queue: AccountCallQueue
    admin_bot: AdminBot | None
    incoming_subscription: IncomingHandler
    """The intake's subscription to every account's private messages."""
    webhook: WebhookDeliverer | None = None
    """The CRM webhook's deliverer; None without WEBHOOK_URL."""
    leadership: Leadership | None = None
    """Who of the processes on the database holds the admin bot (entrypoints/election.py);
    None: this one does, unasked."""
    sending_bot: SendingBot | None = None
    """The notifier's Bot API client, open in every process; None with a stand-in notifier."""


class Container(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    database_url: providers.Dependency[str] = providers.Dependency(instance_of=str)
    timing: providers.Provider[Timing] = providers.Object(Timing())
    clock: providers.Provider[Clock] = providers.Singleton(SystemClock)

    # --- persistence ---
    engine = providers.Resource(open_engine, database_url)
    session_secret = providers.Singleton(read_session_secret, settings)
    cipher = providers.Singleton(FernetSessionCipher, session_secret)
    uow_factory: providers.Provider[UnitOfWorkFactory] = providers.Singleton(
        sql_uow_factory, engine, cipher
    )
    account_locks = providers.Resource(open_account_locks, engine)
    # The admin bot's election: its connection opens at the first try and is closed by the
    # election when it stops (entrypoints/election.py).
    leadership = providers.Singleton(PgLeadership, engine)
    dialog_views = providers.Singleton(SqlDialogViews, engine)
    stats = providers.Singleton(SqlStatsQuery, engine)
    export_query = providers.Singleton(SqlExportQuery, engine)
    campaign_views = providers.Singleton(SqlCampaignViews, engine)
    conversation_queries = providers.Singleton(SqlConversationQueries, engine)

    # --- the outside systems ---
    llm = providers.Resource(open_language_model, settings, clock)
    telegram = providers.Resource(open_telegram_accounts, settings)
    telegram_login = providers.Resource(open_telegram_login, settings)
    # Two clients on one rate limiter: the notifier's (`bot`, open in every process) and the
    # polling Application's, which the election starts and stops with each lead.
    bot_rate_limiter = providers.Singleton(shared_rate_limiter)
    bot = providers.Singleton(
        build_bot,
        providers.Callable(bot_token, settings),
        settings.provided.BOT_API_BASE_URL,
        rate_limiter=bot_rate_limiter,
    )
    polling_bot = providers.Singleton(
        build_bot,
        providers.Callable(bot_token, settings),
        settings.provided.BOT_API_BASE_URL,
        rate_limiter=bot_rate_limiter,
    )
    notifier: providers.Provider[AdminNotifier] = providers.Singleton(
        build_notifier,
        bot,
        admin_ids=settings.provided.ADMIN_TELEGRAM_ID,
        clock=clock,
        tz=settings.provided.zone,
        language=settings.provided.ADMIN_LANGUAGE,
        window=timing.provided.notifier_window,
    )
    quota = providers.Singleton(send_quota, settings)
    database_health = providers.Singleton(DatabaseHealth, notifier, clock)

    # --- the conversation ---
    sales_script = providers.Singleton(
        SalesScript, uow_factory, settings.provided.SALES_PROMPT_FILE
    )
    model = providers.Singleton(MonitoredModel, llm, notifier, clock)
    answer_health = providers.Singleton(AnswerHealth, notifier, clock)
    writer = providers.Singleton(
        ReplyWriter,
        model,
        token_budget=settings.provided.LLM_HISTORY_TOKEN_BUDGET,
        health=answer_health,
    )
    replier = providers.Singleton(
        DialogReplier,
        uow_factory,
        writer,
        sales_script,
        notifier,
        clock,
        review=settings.provided.REVIEW_MODE,
    )
    draft_review = providers.Singleton(
        DraftReview,
        uow_factory,
        writer,
        sales_script,
        notifier,
        clock,
        disclose=providers.Callable(disclosure, settings),
        max_follow_ups=settings.provided.MAX_FOLLOW_UPS,
        follow_up_after_hours=settings.provided.FOLLOW_UP_AFTER_HOURS,
    )
    incoming = providers.Singleton(
        IncomingMessages,
        uow_factory,
        conversation_queries,
        replier,
        telegram,
        notifier,
        clock,
        debounce_seconds=settings.provided.REPLY_DEBOUNCE_SECONDS,
    )
    transcriber = providers.Singleton(build_transcriber, settings)
    transcription = providers.Singleton(media_transcription, telegram, transcriber)
    intake = providers.Singleton(
        Intake, incoming, database_health, clock, transcription=transcription
    )
    update_states = providers.Singleton(
        UpdateStateKeeper, uow_factory, clock, interval=timing.provided.update_state_flush
    )
    incoming_subscription = providers.Resource(subscribe_incoming, telegram, intake, update_states)
    catch_up = providers.Singleton(CatchUp, conversation_queries, telegram, intake)
    follow_ups = providers.Singleton(
        FollowUps,
        uow_factory,
        conversation_queries,
        writer,
        sales_script,
        notifier,
        clock,
        after_hours=settings.provided.FOLLOW_UP_AFTER_HOURS,
        max_follow_ups=settings.provided.MAX_FOLLOW_UPS,
        interval_seconds=timing.provided.follow_up_interval,
        working_hours=settings.provided.WORKING_HOURS,
        review=settings.provided.REVIEW_MODE,
    )

    # --- the outbox ---
    first_round = providers.Singleton(FirstRound)
    pool = providers.Singleton(
        AccountPool,
        uow_factory,
        telegram,
        account_locks,
        notifier,
        clock,
        update_states,
        catch_up=catch_up,
        connect_timeout=timing.provided.connect_timeout,
        first_round=first_round,
        lock_check=timing.provided.lock_check,
        lock_lease=timing.provided.lock_lease,
        takeover_wait=timing.provided.takeover_wait,
    )
    # Account calls (issue 19): the admin's commands reach every process's accounts, those
    # of other processes through the database's queue, which the runner here answers for
    # the accounts this process runs.
    process_id = providers.Singleton(process_name)
    # Its listening connection opens at the first use; the runner's component closes it.
    account_call_queue: providers.Provider[AccountCallQueue] = providers.Singleton(
        PgAccountCalls, engine
    )
    other_processes = providers.Singleton(
        OtherProcesses, providers.Callable(census_of, account_locks.provider)
    )
    account_calls = providers.Singleton(
        AccountCalls,
        telegram,
        telegram,
        telegram,
        account_call_queue,
        other_processes,
        clock,
        timeout=timing.provided.account_call_timeout,
        poll=timing.provided.account_call_poll,
    )
    account_call_runner = providers.Singleton(
        AccountCallRunner,
        account_call_queue,
        pool,
        telegram,
        telegram,
        other_processes,
        clock,
        taker=process_id,
        max_age=timing.provided.account_call_timeout,
        poll=timing.provided.account_call_poll,
        census_interval=timing.provided.census_interval,
    )
    # The admin's /start: any process's account, through the account calls.
    start_dialog = providers.Singleton(
        StartDialogHandler,
        uow_factory,
        account_calls,
        account_calls,
        writer,
        sales_script,
        clock,
        quota,
        disclose=providers.Callable(disclosure, settings),
        review=settings.provided.REVIEW_MODE,
        notifier=notifier,
        accounts_ready=first_round.provided.wait,
    )
    # Campaigns: their leads are started as the accounts have free send slots; a campaign
    # created or resumed (by the import, the operator) is news the feeder acts on at once.
    campaign_news = providers.Singleton(CampaignNews)
    # Each process feeds its own accounts, on its own clients (lead claims are SKIP LOCKED).
    feeder_start_dialog = providers.Singleton(
        StartDialogHandler,
        uow_factory,
        telegram,
        telegram,
        writer,
        sales_script,
        clock,
        quota,
        disclose=providers.Callable(disclosure, settings),
        review=settings.provided.REVIEW_MODE,
        notifier=notifier,
        accounts_ready=first_round.provided.wait,
    )
    feeder = providers.Singleton(
        Feeder,
        uow_factory,
        telegram,
        feeder_start_dialog,
        quota,
        clock,
        working_hours=settings.provided.WORKING_HOURS,
        notifier=notifier,
        idle_seconds=timing.provided.feeder_idle,
        resolve_interval=timing.provided.feeder_resolve_interval,
        accounts_ready=first_round.provided.wait,
        news=campaign_news,
    )
    # The dispatcher's Telegram calls can be drained at shutdown (no send cut in half).
    dispatcher_messenger = providers.Singleton(DrainingMessenger, telegram)
    outbox = providers.Singleton(Outbox, uow_factory, notifier)
    interrupted_sends = providers.Singleton(
        InterruptedSends, uow_factory, dispatcher_messenger, outbox, clock
    )
    spam_limits = providers.Singleton(
        SpamLimits,
        uow_factory,
        dispatcher_messenger,
        pool,
        outbox,
        clock,
        quota,
        cooldown=providers.Callable(hours, settings.provided.LIMITED_COOLDOWN_HOURS),
    )
    dispatcher = providers.Singleton(
        Dispatcher,
        uow_factory,
        dispatcher_messenger,
        pool,
        outbox,
        interrupted_sends,
        spam_limits,
        clock,
        quota,
        working_hours=settings.provided.WORKING_HOURS,
        typing=timing.provided.typing,
        send_gap_jitter=timing.provided.send_gap_jitter,
        idle_seconds=timing.provided.dispatcher_idle,
        supervise_seconds=timing.provided.dispatcher_supervise,
    )

    # --- the CRM webhook ---
    webhook_sender: providers.Provider[WebhookSender | None] = providers.Selector(
        providers.Callable(webhook_mode, settings),
        on=providers.Resource(open_webhook_sender, settings, clock),
        off=providers.Object(None),
    )
    webhook = providers.Singleton(webhook_deliverer, uow_factory, webhook_sender, notifier, clock)

    # --- the operator ---
    accounts = providers.Singleton(
        AccountService, uow_factory, dialog_views, telegram_login, clock, quota, pool=pool
    )
    # `salesbot account` beside the running service: an account it logs in or enables is
    # started by the service's pool within a minute, not by the command.
    offline_accounts = providers.Singleton(
        AccountService, uow_factory, dialog_views, telegram_login, clock, quota
    )
    # /check_account asks @SpamBot through the account's client (read-only), in whichever
    # process runs it.
    account_check = providers.Singleton(AccountCheck, uow_factory, account_calls, account_calls)
    # `salesbot check --online`: each session connected once, under its lock.
    session_check = providers.Singleton(SessionCheck, uow_factory, telegram, account_locks)
    # Resuming a dialog answers what the prospect wrote while it was paused.
    dialog_control = providers.Singleton(DialogControl, uow_factory, clock, replies=incoming)
    admin_views = providers.Singleton(
        AdminViews, dialog_views, stats, clock, settings.provided.zone
    )
    exports = providers.Singleton(Exports, export_query)
    do_not_contact = providers.Singleton(DoNotContactList, uow_factory, clock)
    campaign_reports = providers.Singleton(CampaignReports, campaign_views)
    campaign_control = providers.Singleton(CampaignControl, uow_factory, news=campaign_news)
    # `salesbot campaign import` and /campaign_new: the database only.
    import_leads = providers.Singleton(ImportLeads, uow_factory, news=campaign_news)
    admin_use_cases = providers.Singleton(
        AdminUseCases,
        accounts=accounts,
        checks=account_check,
        start_dialog=start_dialog,
        control=dialog_control,
        drafts=draft_review,
        views=admin_views,
        exports=exports,
        script=sales_script,
        do_not_contact=do_not_contact,
        campaigns=campaign_reports,
        campaign_control=campaign_control,
        import_leads=import_leads,
    )
    # Admin updates are recorded before Telegram is told they arrived: none lost by a crash.
    admin_update_journal = providers.Singleton(AdminUpdateJournal, uow_factory, clock)
    admin_bot: providers.Provider[AdminBot | None] = providers.Singleton(
        build_admin_bot,
        polling_bot,
        admin_ids=settings.provided.ADMIN_TELEGRAM_ID,
        use_cases=admin_use_cases,
        clock=clock,
        tz=settings.provided.zone,
        language=settings.provided.ADMIN_LANGUAGE,
        notifier=providers.Callable(batching_notifier, notifier),
        journal=admin_update_journal,
    )

    service = providers.Singleton(
        Service,
        settings=settings,
        timing=timing,
        clock=clock,
        uow_factory=uow_factory,
        dialog_views=dialog_views,
        telegram=telegram,
        notifier=notifier,
        database_health=database_health,
        incoming=incoming,
        intake=intake,
        update_states=update_states,
        follow_ups=follow_ups,
        pool=pool,
        dispatcher=dispatcher,
        dispatcher_messenger=dispatcher_messenger,
        feeder=feeder,
        account_call_runner=account_call_runner,
        account_call_queue=account_call_queue,
        webhook=webhook,
        admin_bot=admin_bot,
        incoming_subscription=incoming_subscription,
        leadership=leadership,
        sending_bot=providers.Callable(notices_bot, bot, notifier),
    )


async def shut_down(container: Container) -> None:
    """Close every resource the container opened, dependents first. (dependency-injector
    answers with an awaitable when any of them is asynchronous, and closes synchronous ones
    on the spot otherwise.)"""
    closing = container.shutdown_resources()
    if inspect.isawaitable(closing):
        await closing


async def resolve(provided: Awaitable[T] | T) -> T:
    """What a provider gave, awaited when it had to open an asynchronous resource for it (a
    container whose resources are all replaced gives plain objects)."""
    if inspect.isawaitable(provided):
        return await provided
    return provided
