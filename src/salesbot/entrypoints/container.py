"""The dependency-injector container: the one place that names concrete adapters.

Tests override a provider with a fake (`container.clock.override(providers.Object(fake))`);
nothing else in the code base pulls from the container.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from salesbot.adapters.system_clock import SystemClock
from salesbot.entrypoints.settings import Settings
from salesbot.entrypoints.timing import Timing

# Factories the providers call. Each imports its adapter when first called, so building the
# container (e.g. for `salesbot check`) touches no heavy library.


def _session_secret(settings: Settings) -> str:
    from salesbot.adapters.persistence import load_or_create_session_secret

    if settings.SESSION_SECRET is not None and settings.SESSION_SECRET.get_secret_value():
        return settings.SESSION_SECRET.get_secret_value()
    return load_or_create_session_secret(settings.DATA_DIR / "session_secret")


def _engine(database_url: str) -> Any:
    from salesbot.adapters.persistence import create_engine

    return create_engine(database_url)


def _cipher(secret: str) -> Any:
    from salesbot.adapters.persistence import FernetSessionCipher

    return FernetSessionCipher(secret)


def _uow_factory(engine: Any, cipher: Any) -> Any:
    from salesbot.adapters.persistence import sql_uow_factory

    return sql_uow_factory(engine, cipher)


def _account_locks(engine: Any) -> Any:
    from salesbot.adapters.persistence import account_locks_for

    return account_locks_for(engine)


def _language_model(settings: Settings, clock: Any) -> Any:
    from salesbot.adapters.llm import OpenRouterModel

    assert settings.OPENROUTER_API_KEY is not None
    return OpenRouterModel(
        settings.OPENROUTER_API_KEY.get_secret_value(),
        settings.OPENROUTER_MODEL,
        clock=clock,
        base_url=settings.OPENROUTER_BASE_URL,
        fallback_models=settings.OPENROUTER_FALLBACK_MODELS,
    )


def _telegram_accounts(settings: Settings) -> Any:
    from salesbot.adapters.telegram import PyrogramAccounts

    assert settings.API_ID is not None and settings.API_HASH is not None
    return PyrogramAccounts(settings.API_ID, settings.API_HASH.get_secret_value())


def _telegram_login(settings: Settings) -> Any:
    from salesbot.adapters.telegram import PyrogramLogin

    assert settings.API_ID is not None and settings.API_HASH is not None
    return PyrogramLogin(settings.API_ID, settings.API_HASH.get_secret_value())


def _bot(settings: Settings) -> Any:
    from salesbot.adapters.admin_bot import build_bot

    assert settings.BOT_TOKEN is not None
    return build_bot(settings.BOT_TOKEN.get_secret_value(), settings.BOT_API_BASE_URL)


def _notifier(bot: Any, settings: Settings, clock: Any, timing: Timing) -> Any:
    from salesbot.adapters.admin_bot import build_notifier

    return build_notifier(
        bot,
        admin_ids=settings.ADMIN_TELEGRAM_ID,
        clock=clock,
        tz=settings.zone,
        language=settings.ADMIN_LANGUAGE,
        window=timing.notifier_window,
    )


def _admin_bot(
    bot: Any, settings: Settings, clock: Any, notifier: Any, use_cases: Any
) -> Any:
    from salesbot.adapters.admin_bot import BotNotifier, build_admin_bot

    return build_admin_bot(
        bot,
        admin_ids=settings.ADMIN_TELEGRAM_ID,
        use_cases=use_cases,
        clock=clock,
        tz=settings.zone,
        language=settings.ADMIN_LANGUAGE,
        notifier=notifier if isinstance(notifier, BotNotifier) else None,
    )


def _quota(settings: Settings) -> Any:
    from salesbot.domain.quota import SendQuota

    return SendQuota(
        max_daily=settings.MAX_DAILY_MESSAGES,
        min_delay=timedelta(seconds=settings.MIN_MESSAGE_DELAY),
        tz=settings.zone,
        warmup_days=settings.WARMUP_DAYS,
    )


def _conversation(
    settings: Settings,
    timing: Timing,
    quota: Any,
    uow_factory: Any,
    telegram: Any,
    llm: Any,
    notifier: Any,
    clock: Any,
) -> Any:
    from salesbot.application.conversation.engine import (
        ConversationConfig,
        build_conversation,
        disclosure_for,
    )

    config = ConversationConfig(
        prompt_file=settings.SALES_PROMPT_FILE,
        quota=quota,
        debounce_seconds=settings.REPLY_DEBOUNCE_SECONDS,
        token_budget=settings.LLM_HISTORY_TOKEN_BUDGET,
        max_follow_ups=settings.MAX_FOLLOW_UPS,
        follow_up_after_hours=settings.FOLLOW_UP_AFTER_HOURS,
        follow_up_interval_seconds=timing.follow_up_interval,
        disclosure=disclosure_for(settings.AI_DISCLOSURE),
    )
    conversation = build_conversation(
        uow_factory=uow_factory,
        connections=telegram,
        messenger=telegram,
        llm=llm,
        notifier=notifier,
        clock=clock,
        config=config,
    )
    telegram.subscribe(conversation.incoming.handle)
    return conversation


def _account_pool(uow_factory: Any, telegram: Any, locks: Any, notifier: Any, clock: Any) -> Any:
    from salesbot.application.accounts.run_accounts import AccountPool

    return AccountPool(uow_factory, telegram, locks, notifier, clock)


def _dispatcher_messenger(telegram: Any) -> Any:
    from salesbot.entrypoints.draining import DrainingMessenger

    return DrainingMessenger(telegram)


def _dispatcher(
    settings: Settings,
    timing: Timing,
    quota: Any,
    uow_factory: Any,
    messenger: Any,
    pool: Any,
    notifier: Any,
    clock: Any,
) -> Any:
    from salesbot.application.outbox.dispatch import Dispatcher

    return Dispatcher(
        uow_factory,
        messenger,
        pool,
        notifier,
        clock,
        quota,
        working_hours=settings.WORKING_HOURS,
        limited_cooldown=timedelta(hours=settings.LIMITED_COOLDOWN_HOURS),
        typing=timing.typing,
        idle_seconds=timing.dispatcher_idle,
        supervise_seconds=timing.dispatcher_supervise,
    )


def _account_service(uow_factory: Any, login: Any, clock: Any, quota: Any, pool: Any) -> Any:
    from salesbot.application.accounts.manage_accounts import AccountService

    return AccountService(uow_factory, login, clock, quota, pool=pool)


def _dialog_control(uow_factory: Any, clock: Any, conversation: Any) -> Any:
    from salesbot.application.admin.control_dialog import DialogControl

    # Resuming a dialog answers what the prospect wrote while it was paused.
    return DialogControl(uow_factory, clock, replies=conversation.incoming)


def _admin_views(uow_factory: Any, clock: Any, settings: Settings) -> Any:
    from salesbot.application.admin.views import AdminViews

    return AdminViews(uow_factory, clock, settings.zone)


def _exports(uow_factory: Any) -> Any:
    from salesbot.application.admin.export_dialogs import Exports

    return Exports(uow_factory)


def _admin_use_cases(
    accounts: Any, conversation: Any, control: Any, views: Any, exports: Any
) -> Any:
    from salesbot.adapters.admin_bot import AdminUseCases

    return AdminUseCases(
        accounts=accounts,
        start_dialog=conversation.start_dialog,
        control=control,
        views=views,
        exports=exports,
        script=conversation.script,
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency()
    database_url = providers.Dependency(instance_of=str)
    timing = providers.Object(Timing())

    clock = providers.Singleton(SystemClock)

    # --- persistence (issue 3) ---
    engine = providers.Singleton(_engine, database_url)
    session_secret = providers.Singleton(_session_secret, settings)
    cipher = providers.Singleton(_cipher, session_secret)
    uow_factory = providers.Singleton(_uow_factory, engine, cipher)
    account_locks = providers.Singleton(_account_locks, engine)

    # --- language model (issue 4) ---
    llm = providers.Singleton(_language_model, settings, clock)

    # --- Telegram user accounts (issue 5) ---
    telegram = providers.Singleton(_telegram_accounts, settings)
    telegram_login = providers.Singleton(_telegram_login, settings)

    # --- admin bot (issue 6) ---
    bot = providers.Singleton(_bot, settings)
    notifier = providers.Singleton(_notifier, bot, settings, clock, timing)

    # --- use-cases (issue 7 assembles them; bootstrap() hands them to `run`) ---
    quota = providers.Singleton(_quota, settings)
    conversation = providers.Singleton(
        _conversation, settings, timing, quota, uow_factory, telegram, llm, notifier, clock
    )
    account_pool = providers.Singleton(
        _account_pool, uow_factory, telegram, account_locks, notifier, clock
    )
    # The dispatcher's Telegram calls can be drained at shutdown (no send cut in half).
    dispatcher_messenger = providers.Singleton(_dispatcher_messenger, telegram)
    dispatcher = providers.Singleton(
        _dispatcher,
        settings,
        timing,
        quota,
        uow_factory,
        dispatcher_messenger,
        account_pool,
        notifier,
        clock,
    )
    accounts = providers.Singleton(
        _account_service, uow_factory, telegram_login, clock, quota, account_pool
    )
    dialog_control = providers.Singleton(_dialog_control, uow_factory, clock, conversation)
    admin_views = providers.Singleton(_admin_views, uow_factory, clock, settings)
    exports = providers.Singleton(_exports, uow_factory)
    admin_use_cases = providers.Singleton(
        _admin_use_cases, accounts, conversation, dialog_control, admin_views, exports
    )
    admin_bot = providers.Singleton(_admin_bot, bot, settings, clock, notifier, admin_use_cases)
