"""Assembling the admin bot: the Bot API client, the handlers, and start/stop under our loop.

`build_bot` makes a Bot API client: one for the notifier, which sends in every process
(`SendingBot` keeps it open for the process's whole life), and one for the polling
Application, which the election starts and stops as this process leads and follows
(shutting an Application down shuts its bot's HTTP clients down, so the notifier must not
be sending through that one). Both share one rate limiter (`shared_rate_limiter`).
`build_admin_bot` wires every command to its use-case. Our main owns the event loop, so the
bot is started by hand (initialize, start, updater.start_polling) and stopped in reverse;
`run_polling()` is never used. The same AdminBot starts again after a stop (the library's
Application and Bot initialize anew after a shutdown): a process that wins the lead back
takes up its own bot again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import BotCommand, Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from salesbot.adapters.admin_bot.access import AdminGate
from salesbot.adapters.admin_bot.catalogue import COMMANDS, Language, Texts
from salesbot.adapters.admin_bot.error_reporting import ErrorReporter
from salesbot.adapters.admin_bot.export_files import UPLOAD_LIMIT
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.handlers.accounts import (
    AccountChecker,
    AccountCommands,
    AccountManager,
)
from salesbot.adapters.admin_bot.handlers.campaign_import import (
    CampaignImportCommands,
    LeadImporter,
)
from salesbot.adapters.admin_bot.handlers.campaigns import PAGES as CAMPAIGN_PAGES
from salesbot.adapters.admin_bot.handlers.campaigns import CampaignCommands
from salesbot.adapters.admin_bot.handlers.common import ONLINE_SINCE, Context
from salesbot.adapters.admin_bot.handlers.dialogs import DialogCommands, DialogStarter
from salesbot.adapters.admin_bot.handlers.do_not_contact import PAGES as DNC_PAGES
from salesbot.adapters.admin_bot.handlers.do_not_contact import DoNotContactCommands
from salesbot.adapters.admin_bot.handlers.drafts import DraftCommands
from salesbot.adapters.admin_bot.handlers.exports import ExportCommands
from salesbot.adapters.admin_bot.handlers.general import GeneralCommands
from salesbot.adapters.admin_bot.handlers.paging import PageTurner
from salesbot.adapters.admin_bot.handlers.script import ScriptCommands, ScriptStore
from salesbot.adapters.admin_bot.handlers.views import PAGES as LIST_PAGES
from salesbot.adapters.admin_bot.handlers.views import ViewCommands
from salesbot.adapters.admin_bot.journal import JournaledBot, JournaledUpdates, Recovery
from salesbot.adapters.admin_bot.notifier import BotNotifier
from salesbot.adapters.admin_bot.progress import ProgressPace
from salesbot.application.admin.control_dialog import DialogControl
from salesbot.application.admin.do_not_contact import DoNotContactList
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.admin.update_journal import AdminUpdateJournal
from salesbot.application.admin.views import AdminViews
from salesbot.application.campaigns.control import CampaignControl
from salesbot.application.campaigns.reports import CampaignReports
from salesbot.application.conversation.review_drafts import DraftReview
from salesbot.application.errors import CredentialsRejected, TelegramUnavailable
from salesbot.application.ports import Clock

log = logging.getLogger(__name__)

DEFAULT_POLL_TIMEOUT = 30.0
RATE_LIMIT_RETRIES = 3
ALLOWED_UPDATES = ("message", "callback_query")
STOP_GRACE = 5.0
"""Seconds a stop waits for commands still running (the service gives the bot 10)."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate store for every Bot API client: loading it takes ~0.1 s each time."""
    return httpx.create_ssl_context()


def shared_rate_limiter(retries: int = RATE_LIMIT_RETRIES) -> AIORateLimiter:
    """One limiter for every Bot API client of the process: the notifier's sends and the
    commands' answers count against the same limits, and a 429 holds both back. (Its
    initialize and shutdown do nothing, so bots may share it.)"""
    return AIORateLimiter(max_retries=retries)


def build_bot(
    token: str,
    base_url: str = "https://api.telegram.org",
    *,
    rate_limit_retries: int = RATE_LIMIT_RETRIES,
    read_timeout: float = 30.0,
    rate_limiter: AIORateLimiter | None = None,
) -> JournaledBot:
    """A Bot API client. `base_url` is the server's root (as for a self-hosted Bot API
    server): requests go to `<root>/bot<token>/<method>`, files come from
    `<root>/file/bot<token>/<path>`. A 429 from the Bot API is retried by the library's
    rate limiter after the wait Telegram asks for (`rate_limiter`, else one of its own). The
    admin bot gives it the journal its updates are recorded in (journal.py)."""
    root = base_url.rstrip("/")
    return JournaledBot(
        token,
        base_url=f"{root}/bot",
        base_file_url=f"{root}/file/bot",
        request=HTTPXRequest(
            connection_pool_size=16,
            pool_timeout=10.0,
            read_timeout=read_timeout,
            httpx_kwargs={"verify": _tls_context()},
        ),
        get_updates_request=HTTPXRequest(
            connection_pool_size=1, read_timeout=10.0, httpx_kwargs={"verify": _tls_context()}
        ),
        rate_limiter=rate_limiter or shared_rate_limiter(rate_limit_retries),
    )


class SendingBot:
    """The notifier's Bot API client, open for the whole life of the process, whatever its
    role: a worker and a follower never start the polling Application, yet tell the admins
    what happens to their accounts and dialogs.

    `open` initializes it (getMe, as the library wants a bot initialized before use: it
    checks the token too); `close` sends what the notifier still holds and shuts it down.
    The polling Application has a client of its own, so a leader that steps down does not
    shut this one down with it."""

    def __init__(self, bot: ExtBot[int], notifier: BotNotifier | None = None) -> None:
        self._bot = bot
        self._notifier = notifier

    @property
    def host(self) -> str:
        return bot_api_host(self._bot.base_url)

    async def open(self) -> None:
        """CredentialsRejected when the Bot API refuses the token, TelegramUnavailable when
        it cannot be reached (naming where it was looked for)."""
        try:
            await self._bot.initialize()
        except InvalidToken as error:
            raise CredentialsRejected(
                "BOT_TOKEN", f"the Bot API at {self.host} does not know that token"
            ) from error
        except NetworkError as error:  # TimedOut included
            raise TelegramUnavailable(
                f"cannot reach the Bot API at {self.host}: {error.message}"
            ) from error

    async def close(self) -> None:
        if self._notifier is not None:
            await self._notifier.aclose()
        await self._bot.shutdown()


@dataclass(frozen=True)
class AdminUseCases:
    """What the commands call: each handler parses, calls one of these, formats."""

    accounts: AccountManager
    checks: AccountChecker
    start_dialog: DialogStarter
    control: DialogControl
    drafts: DraftReview
    views: AdminViews
    exports: Exports
    script: ScriptStore
    do_not_contact: DoNotContactList
    campaigns: CampaignReports
    campaign_control: CampaignControl
    import_leads: LeadImporter


Command = Callable[[Update, Context], Coroutine[Any, Any, None]]


class Alongside:
    """Runs slow commands as tasks beside the next updates instead of holding them.

    Exports read the whole database and upload for minutes, /start and the draft buttons
    wait for the model, /check_account for @SpamBot; every other command runs one at a
    time, in order, which the /add_account conversation needs. The tasks are the library's
    (`create_task` with the update): their errors reach the error handler, and stopping the
    bot waits for them a moment (`stop`)."""

    def __init__(self) -> None:
        self._running: set[asyncio.Task[None]] = set()
        self._by_update: dict[int, asyncio.Task[None]] = {}

    def __call__(self, command: Command) -> Command:
        async def start(update: Update, context: Context) -> None:
            task = context.application.create_task(command(update, context), update=update)
            self._running.add(task)
            self._by_update[update.update_id] = task
            task.add_done_callback(self._running.discard)
            task.add_done_callback(lambda _: self._by_update.pop(update.update_id, None))

        return start

    def task_for(self, update_id: int) -> asyncio.Task[None] | None:
        """The command the update started that is still running beside the next ones."""
        return self._by_update.get(update_id)

    async def wait(self) -> None:
        """Return once no command started alongside is running."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def stop(self, grace: float) -> None:
        """Give the commands still running `grace` seconds, then cancel them: a stop does
        not wait minutes for a hung model. Their updates stay unfinished in the journal,
        so the next start runs a /start again and reports an export interrupted."""
        if not self._running:
            return
        _, late = await asyncio.wait(set(self._running), timeout=grace)
        for task in late:
            task.cancel()
        if late:
            log.warning("stopped %d admin command(s) still running", len(late))
            await asyncio.wait(late)


class AdminBot:
    """The running admin bot: `await start()` then, at shutdown, `await stop()`."""

    def __init__(
        self,
        application: Application,
        menu: list[BotCommand],
        *,
        poll_timeout: float,
        notifier: BotNotifier | None = None,
        alongside: Alongside | None = None,
        recovery: Recovery | None = None,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.application = application
        self._stop_grace = stop_grace
        self.alongside = alongside or Alongside()
        self._recovery = recovery
        self._menu = menu
        self._poll_timeout = poll_timeout
        self._notifier = notifier

    @property
    def host(self) -> str:
        """Where the Bot API is (`api.telegram.org`, or a self-hosted server's host:port)."""
        return bot_api_host(self.application.bot.base_url)

    async def start(self) -> None:
        """Up and polling; CredentialsRejected when the Bot API refuses the token,
        TelegramUnavailable when it cannot be reached (naming where it was looked for)."""
        try:
            await self._start()
        except InvalidToken as error:
            raise CredentialsRejected(
                "BOT_TOKEN", f"the Bot API at {self.host} does not know that token"
            ) from error
        except NetworkError as error:  # TimedOut included
            raise TelegramUnavailable(
                f"cannot reach the Bot API at {self.host}: {error.message}"
            ) from error

    async def _start(self) -> None:
        app = self.application
        await app.initialize()  # getMe: fails fast on a wrong token or an unreachable server
        try:
            await app.bot.set_my_commands(self._menu)
        except TelegramError as error:
            log.warning("could not register the command menu: %s", error)
        app.bot_data[ONLINE_SINCE] = datetime.now(timezone.utc)  # Telegram's dates are wall time
        await app.start()
        if self._recovery is not None:
            await self._recovery.run(app)  # before polling: they were first
        assert app.updater is not None
        await app.updater.start_polling(
            timeout=timedelta(seconds=self._poll_timeout),
            allowed_updates=list(ALLOWED_UPDATES),
            error_callback=PollingTrouble(self.host),
        )
        log.info("admin bot @%s polling", app.bot.username)

    async def stop(self) -> None:
        app = self.application
        if self._notifier is not None:
            await self._notifier.aclose()
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await self.alongside.stop(self._stop_grace)
        started = app.running
        if started:
            await app.stop()
        await app.shutdown()
        if started:  # a start that failed was told already
            log.info("admin bot stopped")


def bot_api_host(base_url: str) -> str:
    """The host (and a port other than the scheme's) of a Bot API URL, never its token."""
    parts = urlsplit(base_url)
    return parts.netloc.rpartition("@")[2] or base_url.split("/bot", 1)[0]


class PollingTrouble:
    """PTB's Updater logs every failed getUpdates with a traceback and retries by itself
    (after 1 s, growing to 30 s): this says it in one line, naming the host; the
    traceback only at DEBUG."""

    def __init__(self, host: str) -> None:
        self._host = host

    def __call__(self, error: TelegramError) -> None:
        if isinstance(error, NetworkError):
            log.warning(
                "admin bot: cannot reach the Bot API at %s (%s); polling again in at most 30 s",
                self._host,
                error.message,
            )
        else:
            log.error(
                "admin bot: polling the Bot API at %s failed (%s: %s); polling again in "
                "at most 30 s",
                self._host,
                type(error).__name__,
                error.message,
            )
        log.debug("admin bot: the polling failure", exc_info=error)


class NetworkErrorsInOneLine(logging.Filter):
    """PTB's own network-error lines (the Updater's last getUpdates at stop, its retry
    loop) carry a traceback: at INFO they become one line with the error, the traceback
    goes to our DEBUG."""

    LOGGERS = ("telegram.ext.Updater", "telegram.ext")

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, NetworkError):
            log.debug("%s", record.getMessage(), exc_info=record.exc_info)
            record.msg, record.args = (
                "%s (%s: %s)",
                (
                    record.getMessage(),
                    type(error).__name__,
                    error.message,
                ),
            )
            record.exc_info, record.exc_text = None, None
        return True

    def install(self) -> None:
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)  # once: addFilter skips a known one


_ONE_LINE = NetworkErrorsInOneLine()


def build_admin_bot(
    bot: ExtBot[int],
    *,
    admin_ids: Collection[int],
    use_cases: AdminUseCases,
    clock: Clock,
    tz: tzinfo,
    language: Language = "ru",
    notifier: BotNotifier | None = None,
    poll_timeout: float = DEFAULT_POLL_TIMEOUT,
    export_part_limit: int = UPLOAD_LIMIT,
    export_pace: ProgressPace | None = None,
    journal: AdminUpdateJournal | None = None,
    stop_grace: float = STOP_GRACE,
) -> AdminBot:
    """With a journal, no admin update is lost by a crash or run twice (journal.py)."""
    _ONE_LINE.install()
    texts = Texts(language)
    formatter = Formatter(texts, tz)
    gate = AdminGate(admin_ids)
    admin = gate.messages
    alongside = Alongside()
    builder = ApplicationBuilder().bot(bot)
    recovery = None
    if journal is not None:
        if not isinstance(bot, JournaledBot):
            raise TypeError("a journal needs the bot build_bot makes")
        bot.keep_journal(journal)
        builder = builder.concurrent_updates(JournaledUpdates(journal, alongside))
        recovery = Recovery(journal, texts, gate.admin_ids)
    application = builder.build()

    accounts = AccountCommands(texts, formatter, use_cases.accounts, clock, use_cases.checks)
    dialogs = DialogCommands(texts, use_cases.start_dialog, use_cases.control)
    drafts = DraftCommands(
        texts, use_cases.drafts, use_cases.control, other_replies=dialogs.reply_to_notice
    )
    views = ViewCommands(texts, formatter, use_cases.views)
    do_not_contact = DoNotContactCommands(texts, formatter, use_cases.do_not_contact)
    campaigns = CampaignCommands(texts, formatter, use_cases.campaigns, use_cases.campaign_control)
    pages = PageTurner(
        texts,
        {LIST_PAGES: views.page, DNC_PAGES: do_not_contact.page, CAMPAIGN_PAGES: campaigns.page},
    )
    exports = ExportCommands(
        texts,
        formatter,
        use_cases.exports,
        clock,
        part_limit=export_part_limit,
        pace=export_pace,
    )
    script = ScriptCommands(texts, use_cases.script)
    campaign_import = CampaignImportCommands(texts, use_cases.import_leads)
    general = GeneralCommands(texts, formatter, getattr(tz, "key", str(tz)))

    # Group -1 sees every update first and drops those not from an admin.
    application.add_handler(TypeHandler(Update, gate.check), group=-1)
    commands = {
        "list_accounts": accounts.list_accounts,
        "check_account": alongside(accounts.check),  # waits up to 15 s for @SpamBot
        "disable_account": accounts.disable,
        "enable_account": accounts.enable,
        "start": alongside(dialogs.start),
        "stop": dialogs.stop,
        "close": dialogs.close,
        "pause": dialogs.pause,
        "resume": dialogs.resume,
        "say": dialogs.say,
        "review": drafts.review,
        "list": views.list,
        "view": views.view,
        "stats": views.stats,
        "dnc": do_not_contact.show,
        "dnc_add": do_not_contact.add,
        "dnc_remove": do_not_contact.remove,
        "campaigns": campaigns.show,
        "campaign": campaigns.funnel,
        "campaign_pause": campaigns.pause,
        "campaign_resume": campaigns.resume,
        "campaign_stop": campaigns.stop,
        "campaign_export": alongside(campaigns.export),
        "export": alongside(exports.export),
        "export_all": alongside(exports.export_all),
        "prompt": script.show,
        "help": general.help,
        "cancel": general.nothing_to_cancel,
    }
    application.add_handlers(
        [
            accounts.conversation(admin),
            script.conversation(admin),
            campaign_import.conversation(admin),
            *(CommandHandler(name, callback, filters=admin) for name, callback in commands.items()),
            CallbackQueryHandler(dialogs.inbox_button, pattern=r"^inbox:"),
            CallbackQueryHandler(do_not_contact.remove_button, pattern=r"^dnc_(remove|keep):"),
            CallbackQueryHandler(campaigns.stop_button, pattern=r"^campaign_(stop|keep):"),
            # Regenerate waits for the model: it must not hold up the next updates.
            CallbackQueryHandler(alongside(drafts.button), pattern=r"^draft:"),
            CallbackQueryHandler(pages.turn_page),
            MessageHandler(admin & filters.COMMAND, general.unknown_command),
            MessageHandler(
                admin & filters.REPLY & filters.TEXT & ~filters.COMMAND, drafts.reply_to_notice
            ),
            MessageHandler(admin & ~filters.COMMAND, general.not_a_command),
        ]
    )
    application.add_error_handler(ErrorReporter(texts, gate.admin_ids))

    menu = [BotCommand(c.name, c.about[language]) for c in COMMANDS]
    return AdminBot(
        application,
        menu,
        poll_timeout=poll_timeout,
        notifier=notifier,
        alongside=alongside,
        recovery=recovery,
        stop_grace=stop_grace,
    )


def build_notifier(
    bot: ExtBot[int],
    *,
    admin_ids: Collection[int],
    clock: Clock,
    tz: tzinfo,
    language: Language = "ru",
    window: float | None = None,
) -> BotNotifier:
    formatter = Formatter(Texts(language), tz)
    if window is None:
        return BotNotifier(bot, admin_ids, formatter, clock)
    return BotNotifier(bot, admin_ids, formatter, clock, window=window)
