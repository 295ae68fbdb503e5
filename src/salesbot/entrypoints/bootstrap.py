"""`bootstrap()`: the container's assembly handed out as one App, with fakes where given.

`salesbot run` calls it with the settings alone; tests call the same function with fakes
(`uow=`, `telegram=`, `llm=`, `clock=`, `notifier=`), so the wiring they exercise is the
production wiring. The App closes what it opened (`await app.aclose()`).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import providers

from salesbot.application.accounts.manage_accounts import AccountService
from salesbot.application.accounts.run_accounts import AccountPool
from salesbot.application.admin.control_dialog import DialogControl
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.admin.views import AdminViews
from salesbot.application.conversation.engine import Conversation
from salesbot.application.errors import SessionSecretMismatch
from salesbot.application.outbox.dispatch import Dispatcher
from salesbot.application.ports import AdminNotifier, Clock, UnitOfWorkFactory
from salesbot.entrypoints.container import Container
from salesbot.entrypoints.draining import DrainingMessenger
from salesbot.entrypoints.settings import Settings
from salesbot.entrypoints.startup import StartupRefused
from salesbot.entrypoints.timing import Timing

log = logging.getLogger("salesbot.bootstrap")

PING_KEY = "salesbot.ping"


@dataclass
class App:
    settings: Settings
    timing: Timing
    clock: Clock
    uow_factory: UnitOfWorkFactory
    telegram: Any  # AccountConnections + TelegramMessenger
    notifier: AdminNotifier
    conversation: Conversation
    pool: AccountPool
    dispatcher: Dispatcher
    dispatcher_messenger: DrainingMessenger
    accounts: AccountService
    control: DialogControl
    views: AdminViews
    exports: Exports
    admin_bot: Any | None  # start()/stop()
    _closers: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    async def ping(self) -> None:
        """One round trip to the database (the database watch's probe)."""
        async with self.uow_factory() as uow:
            await uow.settings.get(PING_KEY)

    async def check_sessions(self) -> None:
        """StartupRefused (exit 2) when SESSION_SECRET cannot open the stored sessions."""
        try:
            async with self.uow_factory() as uow:
                await uow.accounts.list()
        except SessionSecretMismatch as error:
            raise StartupRefused(
                f"{error}. Set SESSION_SECRET back to the value the accounts were stored with "
                "(see your backup of the env file), or remove the accounts and log them in again",
                exit_code=2,
            ) from None

    async def aclose(self) -> None:
        """Close what bootstrap opened, the network clients first, the database last."""
        for name, closer in self._closers:
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("closing %s failed", name)
        self._closers.clear()


def _closer_of(thing: Any) -> Any | None:
    for name in ("aclose", "close", "dispose"):
        method = getattr(thing, name, None)
        if callable(method):
            return method
    return None


def bootstrap(
    settings: Settings,
    *,
    database_url: str | None = None,
    uow: UnitOfWorkFactory | None = None,
    telegram: Any | None = None,
    login: Any | None = None,
    llm: Any | None = None,
    clock: Clock | None = None,
    notifier: AdminNotifier | None = None,
    locks: Any | None = None,
    timing: Timing | None = None,
    with_admin_bot: bool = True,
) -> App:
    """Assemble the app from the container, each given fake replacing its adapter.

    `database_url`: the database's (`entrypoints.database` opens it); not needed with `uow`.
    `telegram` serves as the login too unless `login` is given (the fakes implement both).
    With `uow` given no database engine is created, and the accounts' locks are
    in-process unless `locks` is given.
    """
    container = Container(settings=providers.Object(settings))
    if database_url is not None:
        container.database_url.override(providers.Object(database_url))
    overrides: dict[str, Any] = {
        "uow_factory": uow,
        "telegram": telegram,
        "telegram_login": login if login is not None else telegram,
        "llm": llm,
        "clock": clock,
        "notifier": notifier,
        "timing": timing,
        "account_locks": locks,
    }
    if uow is not None and locks is None:
        from salesbot.adapters.persistence import InProcessAccountLocks

        overrides["account_locks"] = InProcessAccountLocks()
    for name, fake in overrides.items():
        if fake is not None:
            getattr(container, name).override(providers.Object(fake))

    app = App(
        settings=settings,
        timing=container.timing(),
        clock=container.clock(),
        uow_factory=container.uow_factory(),
        telegram=container.telegram(),
        notifier=container.notifier(),
        conversation=container.conversation(),
        pool=container.account_pool(),
        dispatcher=container.dispatcher(),
        dispatcher_messenger=container.dispatcher_messenger(),
        accounts=container.accounts(),
        control=container.dialog_control(),
        views=container.admin_views(),
        exports=container.exports(),
        admin_bot=container.admin_bot() if with_admin_bot else None,
    )
    # Network clients first, then the account locks' connection, then the engine.
    closing = [
        ("Telegram accounts", app.telegram),
        # The admin bot's stop() flushes and closes its notifier; without a bot, close it here.
        ("notifier", app.notifier if app.admin_bot is None else None),
        ("Telegram login", container.telegram_login()),
        ("language model", container.llm()),
        ("account locks", container.account_locks()),
    ]
    if uow is None:
        closing.append(("database engine", container.engine()))
    seen: set[int] = set()
    for name, thing in closing:
        closer = _closer_of(thing)
        if closer is not None and id(thing) not in seen:
            seen.add(id(thing))
            app._closers.append((name, closer))
    return app
